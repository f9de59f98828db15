// The compute targets a workspace runs steps on, by the names pipelines give them.
//
// `local` (this machine, exec/local.h) is built in and the default. The workspace configuration's
// `computes:` section maps the names pipelines write (`compute: azureml:cpu-cluster`,
// `settings.default_compute`) to targets of a type with their own settings; `local` is the only
// type so far (Slurm and containers plug in here). `azureml:NAME` and `NAME` are the same name;
// `local` and `serverless` always mean the default target. A name nothing maps runs on the
// default target, with a warning, as it always has.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/executor.h"

namespace weft::engine {

// Makes a target's executor, when the target is first used (making one may cost: the local one
// checks what sandbox it can make).
using ExecutorFactory = std::function<Result<std::unique_ptr<exec::Executor>>()>;

class Targets {
 public:
  // Adds a target by name, with what makes the executor that runs its jobs (or the executor
  // itself). The first one added is the default.
  void Add(const std::string& name, ExecutorFactory make);
  void Add(const std::string& name, std::unique_ptr<exec::Executor> executor);
  // Maps a compute name (as pipelines write it, without `azureml:`) to a target.
  void Alias(const std::string& compute, const std::string& target);

  // The target a step's compute names; an unknown name gives the default, and `warning` says so.
  std::string Resolve(const std::string& compute, std::string* warning) const;
  const std::string& default_target() const { return default_; }
  // The executor of a target (which must exist), made on first use.
  Result<exec::Executor*> Get(const std::string& target);
  // Drops the executor made for a target (none may be running jobs): the next Get makes another.
  void Forget(const std::string& target) { executors_.erase(target); }
  // The executor of a target Get has made.
  exec::Executor& executor(const std::string& target) const;
  bool Has(const std::string& target) const { return factories_.count(target) > 0; }
  std::vector<std::string> names() const;

 private:
  std::string default_;
  std::map<std::string, ExecutorFactory> factories_;
  std::map<std::string, std::unique_ptr<exec::Executor>> executors_;
  std::map<std::string, std::string> aliases_;
};

}  // namespace weft::engine
