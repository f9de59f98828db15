#include "queries/lineage.h"

#include <set>

#include <fmt/format.h>

#include "spec/registry.h"

namespace weft::queries {
namespace {

LineageNode Node(LineageNode::Kind kind, std::string port = {}, std::string digest = {},
                 std::string value = {}) {
  LineageNode n;
  n.kind = kind;
  n.port = std::move(port);
  n.digest = std::move(digest);
  n.value = std::move(value);
  return n;
}

bool IsHex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<LineageRoot> FromDigest(meta::MetaStore& meta, const std::string& ref) {
  std::string hex = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (!IsHex(hex) || hex.size() < 8 || hex.size() > 64) {
    return Status::Invalid(fmt::format("`{}` is not a digest (sha256:HEX, at least 8 digits)", ref));
  }
  Result<std::vector<std::string>> found = meta.DigestsWithPrefix(hex, 2);
  if (!found.ok()) return found.status();
  if (found->empty()) return Status::NotFound(fmt::format("no run or asset has an object {}", ref));
  if (found->size() > 1) {
    return Status::Invalid(fmt::format("{} is the start of more than one digest; give more digits", ref));
  }
  return LineageRoot{found->front(), "object sha256:" + found->front()};
}

Result<LineageRoot> FromRunOutput(meta::MetaStore& meta, const std::string& ref) {
  size_t slash = ref.find('/');
  size_t dot = ref.rfind('.');
  std::string run_ref = ref.substr(0, slash);
  std::string step = ref.substr(slash + 1, dot - slash - 1);
  std::string output = ref.substr(dot + 1);
  Result<std::optional<meta::RunRecord>> run = meta.FindRun(run_ref);
  if (!run.ok()) return run.status();
  if (!*run) return Status::NotFound(fmt::format("{}: no run `{}`", ref, run_ref));
  Result<std::optional<meta::StepRecord>> s = meta.FindStep((*run)->id, step);
  if (!s.ok()) return s.status();
  if (!*s) return Status::NotFound(fmt::format("{}: run {} has no step `{}`", ref, (*run)->id, step));
  auto [src_run, src_idx] = (*s)->ResultAttempt();
  Result<std::vector<meta::OutputRecord>> outs = meta.Outputs(src_run, src_idx);
  if (!outs.ok()) return outs.status();
  for (const meta::OutputRecord& o : *outs) {
    if (o.name == output) {
      return LineageRoot{o.digest, fmt::format("output {} of step {} in run {}", output, step, (*run)->id)};
    }
  }
  return Status::NotFound(fmt::format("{}: step {} of run {} has no stored output `{}` ({})", ref,
                                      step, (*run)->id, output, (*s)->status));
}

Result<LineageRoot> FromAsset(meta::MetaStore& meta, const std::string& ref) {
  std::optional<spec::AssetRef> a = spec::ParseAssetRef(ref.rfind("azureml:", 0) == 0 ? ref : "azureml:" + ref);
  if (!a) return Status::Invalid(fmt::format("`{}` is not a digest, RUN/STEP.OUTPUT or asset version", ref));
  for (const char* kind : {"data", "model"}) {
    Result<std::optional<meta::AssetRecord>> found =
        meta.FindAsset(kind, a->registry, a->name, a->label.empty() ? a->version : "");
    if (!found.ok()) return found.status();
    if (*found) {
      return LineageRoot{(*found)->digest,
                         fmt::format("{} {}:{}", kind, (*found)->name, (*found)->version)};
    }
  }
  return Status::NotFound(fmt::format("no data or model asset `{}`", ref));
}

// Walks the recorded edges; every object and step attempt is expanded once.
class Tracer {
 public:
  explicit Tracer(meta::MetaStore& meta) : meta_(meta) {}

  Result<LineageNode> Up(const std::string& digest, const std::string& port, const std::string& source) {
    LineageNode n = Object(digest, port);
    n.value = source;
    if (!seen_.insert(digest).second) return Repeated(std::move(n));
    Result<std::vector<meta::PortUse>> producers = meta_.Producers(digest);
    if (!producers.ok()) return producers.status();
    if (producers->empty()) {  // a source: read from a file, a URI or a registered asset
      if (n.value.empty()) {
        Result<std::vector<meta::PortUse>> readers = meta_.Consumers(digest);
        if (readers.ok() && !readers->empty()) n.value = readers->front().value;
      }
      return n;
    }
    LineageNode step = Node(LineageNode::Kind::kStep);
    step.step = producers->front().step;
    Result<std::vector<meta::InputRecord>> ins = meta_.Inputs(step.step.run_id, step.step.index);
    if (!ins.ok()) return ins.status();
    for (const meta::InputRecord& in : *ins) {
      if (in.kind == "literal") {
        step.children.push_back(Node(LineageNode::Kind::kValue, in.name, "", in.value));
      } else if (!in.digest.empty()) {
        Result<LineageNode> child = Up(in.digest, in.name, in.kind == "data" ? in.value : "");
        if (!child.ok()) return child.status();
        step.children.push_back(std::move(*child));
      }
    }
    n.children.push_back(std::move(step));
    return n;
  }

  Result<LineageNode> Down(const std::string& digest, const std::string& port) {
    LineageNode n = Object(digest, port);
    if (!seen_.insert(digest).second) return Repeated(std::move(n));
    Result<std::vector<meta::PortUse>> consumers = meta_.Consumers(digest);
    if (!consumers.ok()) return consumers.status();
    for (const meta::PortUse& use : *consumers) {
      LineageNode step = Node(LineageNode::Kind::kStep, use.port);
      step.step = use.step;
      if (!steps_.insert(use.step.run_id + "\n" + std::to_string(use.step.index)).second) {
        n.children.push_back(Repeated(std::move(step)));  // reached through another input first
        continue;
      }
      // Runs that reused this attempt used the object too, without running anything.
      Result<std::vector<meta::StepRecord>> reusers = meta_.Reusers(use.step.run_id, use.step.index);
      if (!reusers.ok()) return reusers.status();
      for (meta::StepRecord& r : *reusers) {
        LineageNode reuse = Node(LineageNode::Kind::kStep, use.port);
        reuse.step = std::move(r);
        step.children.push_back(std::move(reuse));
      }
      auto [src_run, src_idx] = use.step.ResultAttempt();
      Result<std::vector<meta::OutputRecord>> outs = meta_.Outputs(src_run, src_idx);
      if (!outs.ok()) return outs.status();
      for (const meta::OutputRecord& o : *outs) {
        Result<LineageNode> child = Down(o.digest, o.name);
        if (!child.ok()) return child.status();
        step.children.push_back(std::move(*child));
      }
      n.children.push_back(std::move(step));
    }
    return n;
  }

 private:
  LineageNode Object(const std::string& digest, const std::string& port) {
    LineageNode n = Node(LineageNode::Kind::kObject, port, digest);
    Result<std::vector<meta::AssetRecord>> assets = meta_.AssetsWithDigest(digest);
    if (assets.ok()) n.assets = std::move(*assets);
    return n;
  }
  static LineageNode Repeated(LineageNode n) {
    n.repeated = true;
    return n;
  }

  meta::MetaStore& meta_;
  std::set<std::string> seen_;   // objects expanded
  std::set<std::string> steps_;  // step attempts expanded
};

}  // namespace

Result<LineageRoot> FindLineageRoot(meta::MetaStore& meta, const std::string& ref) {
  size_t slash = ref.find('/');
  if (slash != std::string::npos && ref.rfind('.') > slash && ref.rfind("azureml:", 0) != 0) {
    return FromRunOutput(meta, ref);
  }
  std::string hex = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (ref.rfind("sha256:", 0) == 0 || (IsHex(hex) && hex.size() >= 8)) return FromDigest(meta, ref);
  return FromAsset(meta, ref);
}

Result<LineageNode> TraceUpstream(meta::MetaStore& meta, const std::string& digest) {
  return Tracer(meta).Up(digest, "", "");
}

Result<LineageNode> TraceDownstream(meta::MetaStore& meta, const std::string& digest) {
  return Tracer(meta).Down(digest, "");
}

}  // namespace weft::queries
