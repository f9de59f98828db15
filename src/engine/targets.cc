#include "engine/targets.h"

#include <fmt/format.h>

namespace weft::engine {

void Targets::Add(const std::string& name, ExecutorFactory make) {
  if (default_.empty()) default_ = name;
  factories_[name] = std::move(make);
}

void Targets::Add(const std::string& name, std::unique_ptr<exec::Executor> executor) {
  Add(name, ExecutorFactory([] { return Result<std::unique_ptr<exec::Executor>>(
                                 Status::Internal("the executor was made already")); }));
  executors_[name] = std::move(executor);
}

Result<exec::Executor*> Targets::Get(const std::string& target) {
  if (auto it = executors_.find(target); it != executors_.end()) return it->second.get();
  auto f = factories_.find(target);
  if (f == factories_.end()) return Status::NotFound(fmt::format("no compute target `{}`", target));
  Result<std::unique_ptr<exec::Executor>> made = f->second();
  if (!made.ok()) return made.status();
  exec::Executor* ex = made->get();
  executors_[target] = std::move(*made);
  return ex;
}

void Targets::Alias(const std::string& compute, const std::string& target) {
  aliases_[compute] = target;
}

std::string Targets::Resolve(const std::string& compute, std::string* warning) const {
  std::string name = compute.rfind("azureml:", 0) == 0 ? compute.substr(8) : compute;
  if (name.empty() || name == "local" || name == "serverless") return default_;
  if (factories_.count(name)) return name;
  if (auto it = aliases_.find(name); it != aliases_.end()) return it->second;
  if (warning != nullptr) {
    *warning = fmt::format("compute `{}` is not configured in .weft/config.yaml (`computes:`); its "
                           "steps run on `{}`",
                           compute, default_);
  }
  return default_;
}

exec::Executor& Targets::executor(const std::string& target) const { return *executors_.at(target); }

std::vector<std::string> Targets::names() const {
  std::vector<std::string> out;
  for (const auto& [name, make] : factories_) out.push_back(name);
  return out;
}

}  // namespace weft::engine
