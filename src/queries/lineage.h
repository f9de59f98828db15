// Lineage: where an object came from (upstream: the step that computed it, from which inputs,
// down to the source files) and who used it (downstream: every step given it, what they made,
// and the asset versions that hold any of it), across runs and pipelines, from the inputs and
// outputs every run records.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"

namespace weft::queries {

struct LineageNode {
  enum class Kind { kObject, kStep, kValue };
  Kind kind = Kind::kObject;
  std::string port;    // object and value: the input or output it is seen through
  std::string digest;  // object: hex
  std::string value;   // value: the literal; object: the path or URI it was read from, if any
  std::vector<meta::AssetRecord> assets;  // object: the asset versions that hold it
  meta::StepRecord step;                  // step
  bool repeated = false;  // shown earlier in the tree; not expanded again
  std::vector<LineageNode> children;
};

// The object a reference names: a store digest (`sha256:HEX` or a unique prefix of at least 8
// hex digits), a run's output (`RUN/STEP.OUTPUT`, RUN as in `weft show`), or a data or model
// asset version (`NAME:VERSION`, `NAME@latest`, `NAME`, with or without `azureml:`).
struct LineageRoot {
  std::string digest;
  std::string described;  // for people: "output model of step train in run r3"
};
Result<LineageRoot> FindLineageRoot(meta::MetaStore& meta, const std::string& ref);

// Upstream: object -> the step attempt that computed it (the earliest) -> its inputs -> ...
Result<LineageNode> TraceUpstream(meta::MetaStore& meta, const std::string& digest);
// Downstream: object -> every step given it -> the objects those steps produced -> ...
Result<LineageNode> TraceDownstream(meta::MetaStore& meta, const std::string& digest);

}  // namespace weft::queries
