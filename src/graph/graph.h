// The run graph: a pipeline flattened into steps and edges, every binding resolved.
//
// Nested pipeline components disappear into groups: their steps are named `outer/inner`, and a
// binding that crosses a component boundary becomes a direct edge between the two steps. Each step
// input knows where its value comes from (a literal, data, or another step's output), which is all
// the engine needs to order, fingerprint and run the steps.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "spec/loader.h"
#include "spec/model.h"

namespace weft::graph {

constexpr uint32_t kNoStep = std::numeric_limits<uint32_t>::max();

// Where an input's value comes from once bindings are resolved.
struct ValueSource {
  enum class Kind { kNone, kLiteral, kData, kStepOutput, kSearchSpace };
  Kind kind = Kind::kNone;
  Literal literal;          // kLiteral
  std::string uri;          // kData: the path or URI as written
  std::string local_path;   // kData: resolved absolute local path, when local
  spec::PortType type = spec::PortType::kUriFolder;  // kData, kStepOutput: what is delivered
  std::string mode;
  uint32_t step = kNoStep;  // kStepOutput: the producing step
  std::string output;       // kStepOutput: its output name
  SourceLoc loc;            // where the value (or the binding that produced it) is written
};

struct StepInput {
  std::string name;
  const spec::InputPort* port = nullptr;
  ValueSource source;
};

struct StepOutput {
  std::string name;
  // Its declared type; an output with no type of its own takes the type of the pipeline (or
  // pipeline component) output it is bound to, as in Azure ML.
  spec::PortType type = spec::PortType::kUriFolder;
  const spec::OutputValue* setting = nullptr;  // the node's value for it, when given
  std::string pipeline_output;                 // the top-level output it is bound to, if any
  const spec::OutputValue* pipeline_setting = nullptr;  // that output's value (its path, ...)

  // Where the output is published (a datastore URI template), if anywhere: its own path, else
  // the pipeline output's.
  const std::string& PublishPath() const;
  // For a uri_file output: the name of the file the step writes, from the path it is published
  // to ("paths/${{name}}/result.txt" -> "result.txt"), else the output's name.
  std::string FileName() const;
};

struct Step {
  std::string name;  // flattened, `outer/inner`
  const spec::Node* node = nullptr;
  int32_t group = -1;  // index into Graph::groups, -1 at top level
  std::vector<StepInput> inputs;    // in the component's port order
  std::vector<StepOutput> outputs;  // declared outputs, then the implicit `artifacts`
  std::vector<uint32_t> deps;       // producing steps, each once
  std::string compute;              // resolved compute name, empty for the default

  spec::NodeType type() const { return node->type; }
  // "name:version" of what the step runs, or "(inline)".
  std::string ComponentLabel() const;
};

// A nested pipeline instance.
struct Group {
  std::string name;  // flattened path of the pipeline node
  std::string component;
  int32_t parent = -1;
  SourceLoc loc;
};

struct Edge {
  uint32_t from;
  std::string output;
  uint32_t to;
  std::string input;
};

struct PipelineOutput {
  std::string name;
  uint32_t step = kNoStep;
  std::string output;
};

struct Graph {
  std::string name;
  std::vector<Step> steps;
  std::vector<Group> groups;
  std::vector<Edge> edges;
  std::vector<PipelineOutput> outputs;
  uint32_t on_init = kNoStep;
  uint32_t on_finalize = kNoStep;
};

// "name:version" of what a node runs, or "(inline)".
std::string ComponentLabel(const spec::Node& node);

struct BuildOptions {
  // `--set inputs.NAME=VALUE`, as (NAME, VALUE); typed by the declared input.
  std::vector<std::pair<std::string, std::string>> set_inputs;
  // What relative paths in `set_inputs` are relative to: the folder the run is submitted from.
  std::string base_dir = ".";
  // Where data paths in `set_inputs` must be (empty: anywhere): a server's uploads. A path
  // outside is an error, and is not looked at (nor is whether it exists told).
  std::vector<std::string> roots = {};
};

// Flattens `pipeline` and resolves every binding. Problems (references to undeclared inputs,
// outputs or jobs, cycles, inputs without values, type conflicts) go to `diags`; the graph is
// returned as complete as they allow.
Graph Build(const spec::LoadedPipeline& pipeline, const BuildOptions& options, Diagnostics& diags);

// Steps in an order where every step follows its producers (Kahn's algorithm, stable by index).
// Steps on a cycle are left out.
std::vector<uint32_t> TopologicalOrder(const Graph& g);

}  // namespace weft::graph
