// The pipeline model: what an Azure ML CLI v2 file says, with every value located in its file.
//
// The model is built by the loader (spec/loader.h) and is immutable afterwards. Components are
// shared: a component file used by many nodes is loaded once and referenced by all of them. Field
// meanings follow docs/format.md; values keep Azure's YAML 1.1 semantics (spec/literal.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "spec/expr.h"
#include "spec/literal.h"

namespace weft::spec {

enum class PortType {
  kUriFile,
  kUriFolder,
  kMltable,
  kMlflowModel,
  kCustomModel,
  kTritonModel,
  kPath,  // legacy
  kInteger,
  kNumber,
  kString,
  kBoolean,
};

std::optional<PortType> ParsePortType(std::string_view text);
const char* PortTypeName(PortType t);
inline bool IsPrimitive(PortType t) { return t >= PortType::kInteger; }
inline bool IsData(PortType t) { return t < PortType::kInteger; }

// A data path that is not on this machine's file system as written: `azureml:` references and
// datastore paths, `runs:/`, and URLs (https://, wasbs://, abfss://, ...) other than file://.
bool IsUri(std::string_view path);
// `path` without a leading `file://` or `file:`.
std::string_view WithoutFileScheme(std::string_view path);

// Finds items by name in a list of ports or (name, value) pairs. Short lists are searched; long
// ones (a fan-in step can have thousands of inputs) are indexed once, so lookups stay O(1).
template <typename T>
class NameIndex {
 public:
  explicit NameIndex(const std::vector<T>& items) : items_(items) {
    if (items.size() <= kLinear) return;
    index_.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) index_.emplace(NameOf(items[i]), i);
  }
  const T* Find(std::string_view name) const {
    if (items_.size() <= kLinear) {
      for (const T& item : items_) {
        if (NameOf(item) == name) return &item;
      }
      return nullptr;
    }
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &items_[it->second];
  }

 private:
  static constexpr size_t kLinear = 16;
  static std::string_view NameOf(const T& item) {
    if constexpr (requires { item.name; }) {
      return item.name;
    } else {
      return item.first;
    }
  }
  const std::vector<T>& items_;
  std::unordered_map<std::string_view, size_t> index_;
};

struct InputPort {
  std::string name;
  SourceLoc loc;
  PortType type = PortType::kUriFolder;
  bool optional = false;
  std::optional<Literal> default_value;  // primitives, or a data port's default path as a string
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> enum_values;
  std::string mode;
  bool any_type = false;  // inferred from a binding in an inline job: takes what it is given
};

struct OutputPort {
  std::string name;
  SourceLoc loc;
  PortType type = PortType::kUriFolder;
  std::string mode;
  bool typed = false;  // the type was written; an untyped output bound to a pipeline output takes its type
};

// A text that may hold expressions, with its location and its scanned references.
struct Text {
  std::string text;
  SourceLoc loc;
  Template tmpl;
  bool valid = true;  // false when the scalar could not be read (already reported)

  bool empty() const { return text.empty(); }
};

// A value given to an input, on a pipeline job or on a node.
struct InputValue {
  enum class Kind {
    kLiteral,  // 5, "abc", {value: 5}
    kData,     // {type: uri_folder, path: ./data}; the path may itself be a binding
    kBinding,  // "${{parent.inputs.x}}", possibly inside longer text
  };
  Kind kind = Kind::kLiteral;
  SourceLoc loc;
  Literal literal;                // kLiteral
  std::optional<PortType> type;   // a declared type on the value object
  Text path;                      // kData: the path as written; kBinding: the binding text
  std::string local_path;         // kData with a local path: the resolved absolute path
  std::string mode;
  std::string datastore;
  bool optional = false;          // a pipeline job's `optional: true`
};

// A value given to an output, on a pipeline job or on a node.
struct OutputValue {
  SourceLoc loc;
  std::optional<PortType> type;
  std::string mode;
  Text path;       // a datastore URI, may contain ${{name}} and friends
  Text binding;    // ${{parent.outputs.X}}, when bound
  std::string asset_name;     // `name`: register as a data asset
  std::string asset_version;  // `version`
};

// Environments: a registry reference, or an inline definition.
struct Environment {
  enum class Kind { kNone, kReference, kInline };
  Kind kind = Kind::kNone;
  SourceLoc loc;
  std::string reference;     // kReference: azureml:..., as written
  std::string name;          // kInline
  std::string version;
  std::string image;
  std::string conda_file;    // resolved local path of the conda file, if given as a path
  bool conda_inline = false;  // conda_file given as a mapping
  std::vector<std::string> packages;  // pip and conda dependencies named by the conda file
  std::vector<SourceLoc> package_locs;  // where each is named
  std::string build_path;    // resolved local folder of build.path
  std::string dockerfile_path;
  std::string os_type;
};

struct Resources {
  SourceLoc loc;
  std::optional<int64_t> instance_count;
  std::string instance_type;
  std::string shm_size;
  std::string docker_args;
  std::vector<std::pair<std::string, std::string>> properties;  // weft's extension keys live here
};

struct Distribution {
  SourceLoc loc;
  std::string type;  // empty when absent: pytorch, tensorflow, mpi
  std::optional<int64_t> process_count_per_instance;
  std::optional<int64_t> worker_count;
  std::optional<int64_t> parameter_server_count;
};

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// What every kind of component has: identity, ports, determinism.
struct ComponentBase {
  std::string file;  // the file that defines it
  SourceLoc loc;
  std::string name;  // empty for inline definitions
  std::string version;
  std::string display_name;
  std::string description;
  bool is_deterministic = true;
  std::vector<InputPort> inputs;
  std::vector<OutputPort> outputs;

  const InputPort* FindInput(std::string_view n) const;
  const OutputPort* FindOutput(std::string_view n) const;
};

// A command component, whether from its own file, the registry, or written inline in a node (then
// its ports are inferred from the node's values).
struct CommandComponent : ComponentBase {
  std::string code;  // resolved absolute local path of the code folder; empty when none
  SourceLoc code_loc;
  std::vector<std::string> additional_includes;  // resolved absolute paths
  Environment environment;
  Text command;
  Resources resources;
  Distribution distribution;
  EnvVars environment_variables;  // inline command jobs only
};

struct ParallelTask {
  SourceLoc loc;
  std::string type;  // run_function
  std::string code;  // resolved absolute local folder
  std::string entry_script;
  Text program_arguments;
  Text append_row_to;
  std::string model;
  Environment environment;
};

struct ParallelComponent : ComponentBase {
  Text input_data;
  std::string mini_batch_size;
  std::vector<std::string> partition_keys;
  Resources resources;
  std::optional<int64_t> max_concurrency_per_instance;
  std::optional<int64_t> mini_batch_error_threshold;
  std::optional<int64_t> error_threshold;
  std::string logging_level;
  std::optional<int64_t> max_retries;
  std::optional<int64_t> retry_timeout;
  EnvVars environment_variables;
  ParallelTask task;
};

struct SearchDimension {
  std::string name;
  SourceLoc loc;
  std::string type;  // choice, randint, uniform, loguniform, quniform, qloguniform, normal, ...
  std::vector<Literal> values;  // choice
  // A choice whose values include nested search spaces (conditional hyperparameters): one entry
  // per value, the nested space where the value is one (its values[k] is then null), empty where
  // it is a plain value. A trial that picks a nested space gets that space's hyperparameters
  // (its plain entries as fixed values), not a value for this name. Empty when none is nested.
  std::vector<std::vector<SearchDimension>> options;
  std::optional<int64_t> upper;  // randint
  std::optional<double> min_value, max_value, q, mu, sigma;

  bool nested() const { return !options.empty(); }
};

// Every hyperparameter name a trial may be given: plain dimensions' and choices with a plain
// value, and those of nested spaces, in order, each once.
std::vector<std::string> HyperparameterNames(const std::vector<SearchDimension>& space);

// A sweep's early termination policy, as Azure ML defines it: applied at every multiple of
// `evaluation_interval` (0 counts as 1) from `delay_evaluation` on, an interval being each value a
// trial logs of the primary metric.
struct EarlyTermination {
  std::string type;  // bandit, median_stopping, truncation_selection; empty: none
  int64_t evaluation_interval = 0;
  int64_t delay_evaluation = 0;
  std::optional<double> slack_factor, slack_amount;  // bandit: exactly one
  int64_t truncation_percentage = 0;                 // truncation_selection: 1..99
  bool exclude_finished_jobs = false;                // truncation_selection
};

struct SweepSpec {
  SourceLoc loc;
  std::shared_ptr<const CommandComponent> trial;
  std::string sampling_algorithm;  // random, grid, bayesian
  std::optional<int64_t> seed;
  std::string rule;  // random, sobol
  std::vector<SearchDimension> search_space;
  std::string goal;  // maximize, minimize (lowercased as read)
  std::string primary_metric;
  std::optional<int64_t> max_total_trials, max_concurrent_trials, timeout, trial_timeout;
  EarlyTermination early_termination;
};

struct PipelineComponent;

enum class NodeType { kCommand, kPipeline, kParallel, kSweep };
const char* NodeTypeName(NodeType t);

// One entry under `jobs:`.
struct Node {
  std::string name;
  SourceLoc loc;  // the key under `jobs:`
  NodeType type = NodeType::kCommand;
  std::shared_ptr<const CommandComponent> command;    // kCommand
  std::shared_ptr<const PipelineComponent> pipeline;  // kPipeline
  std::shared_ptr<const ParallelComponent> parallel;  // kParallel
  std::shared_ptr<const SweepSpec> sweep;             // kSweep
  std::string component_ref;  // how the component was named (file path or azureml:...)
  std::vector<std::pair<std::string, InputValue>> inputs;
  std::vector<std::pair<std::string, OutputValue>> outputs;
  Text compute;
  EnvVars environment_variables;
  Environment environment;  // a node-level override, kNone when absent
  Resources resources;      // node-level values override the component's
  Distribution distribution;
  std::optional<int64_t> timeout;
  std::string display_name;
};

struct PipelineComponent : ComponentBase {
  std::vector<Node> jobs;
};

struct Settings {
  std::string default_compute;
  std::string default_datastore;
  bool continue_on_step_failure = false;
  bool force_rerun = false;
  std::string on_init;
  SourceLoc on_init_loc;
  std::string on_finalize;
  SourceLoc on_finalize_loc;
};

// The top-level pipeline job file. A standalone command or sweep job file is loaded as a pipeline
// with one node.
struct PipelineJob {
  std::string file;
  SourceLoc loc;
  std::string name;
  std::string display_name;
  std::string description;
  std::string experiment_name;
  std::vector<std::pair<std::string, std::string>> tags;
  Settings settings;
  Text compute;
  std::vector<std::pair<std::string, InputValue>> inputs;
  std::vector<std::pair<std::string, OutputValue>> outputs;
  std::vector<Node> jobs;
};

}  // namespace weft::spec
