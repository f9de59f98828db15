// A step's fingerprint: sha256 over a versioned prefix and labelled, length-prefixed fields.
//
// The fields describe what the step *is*: its command template and port specs, the digest of its
// code snapshot, its environment's identity, its literal inputs as rendered and the content digests
// of its data inputs, its output settings as templates, and the run settings that change results
// (environment variables, distribution, instance count). Never paths, run ids, timestamps, secret
// values or where it runs. The fields are stored so that `weft explain` can say what changed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/plan.h"
#include "graph/graph.h"
#include "store/store.h"

namespace weft::engine {

struct Fingerprint {
  std::vector<std::pair<std::string, std::string>> fields;  // (label, value), in order
  std::string digest;                                       // "sha256:<hex>"

  void Add(std::string label, std::string value) {
    fields.emplace_back(std::move(label), std::move(value));
  }
  // Computes `digest` from the fields.
  void Seal();
};

// 2: an environment's identity is what it provides (every distribution), not where it lives.
constexpr const char* kFingerprintFormat = "weft-fingerprint-2";

// The stored object of another step's output, or nullptr when it produced none.
using UpstreamOutput = std::function<const store::ObjectRef*(uint32_t step, const std::string& output)>;

// What one input of a step is once its producers have finished: the one place that reads a
// graph::ValueSource (the fingerprint, the command line and the lineage record all start here).
struct ResolvedInput {
  enum class Kind { kNone, kLiteral, kData };
  Kind kind = Kind::kNone;
  std::string literal;                     // kLiteral: as rendered
  const store::ObjectRef* object = nullptr;  // kData: the stored object (local data or an output)
  spec::PortType type = spec::PortType::kUriFolder;
  // kData: what was read: the file or URI given, or "STEP.OUTPUT" for another step's output.
  std::string origin;
  bool from_step = false;
};

ResolvedInput ResolveInput(const graph::Graph& g, const graph::StepInput& in, const StepPlan& plan,
                           const UpstreamOutput& upstream);

// The fingerprint of `step` as planned (docs/store.md lists the fields in order).
Fingerprint StepFingerprint(const graph::Graph& g, const graph::Step& step, const StepPlan& plan,
                            const UpstreamOutput& upstream);

}  // namespace weft::engine
