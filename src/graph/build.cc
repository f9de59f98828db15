// Flattening and binding resolution.
//
// Phase 1 walks the pipeline and its nested components depth-first, creating a Scope per pipeline
// instance and a Step per leaf node. Phase 2 resolves every step input in its scope; scope inputs
// are resolved lazily and memoised, so YAML order never matters. Phase 3 finds cycles.
#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "base/fs.h"
#include "graph/graph.h"
#include "spec/checks.h"

namespace weft::graph {
namespace {

// The local path a data path names (relative ones against `base`); empty for a URI.
std::string LocalDataPath(const std::string& base, std::string_view path) {
  return spec::IsUri(path) ? std::string() : ResolvePath(base, spec::WithoutFileScheme(path));
}

using spec::InputValue;
using spec::Node;
using spec::NodeType;
using spec::Ref;
using spec::RefKind;

struct ScopeOutput {
  size_t job = 0;            // index into the scope's jobs
  std::string job_output;    // the job's output name
  SourceLoc loc;
};

struct Scope {
  int32_t group = -1;
  std::string prefix;  // "" or "outer/"
  int32_t parent = -1;
  size_t parent_job = 0;  // index of the pipeline node in the parent's jobs
  const std::vector<Node>* jobs = nullptr;
  const spec::PipelineComponent* component = nullptr;  // null at top level
  std::unordered_map<std::string, size_t> job_index;
  std::vector<uint32_t> job_step;   // per job: its step, or kNoStep for pipeline nodes
  std::vector<int32_t> job_scope;   // per job: its child scope, or -1
  std::unordered_map<std::string, ScopeOutput> outputs;  // bound outputs of this scope
  // Lazily resolved inputs of this scope: 0 = not yet, 1 = in progress, 2 = done.
  std::unordered_map<std::string, std::pair<int, ValueSource>> inputs;
};

class Builder {
 public:
  Builder(const spec::LoadedPipeline& p, const BuildOptions& o, Diagnostics& d)
      : pipeline_(p), options_(o), diags_(d) {}

  Graph Run();

 private:
  void AddScope(int32_t parent, size_t parent_job, const std::vector<Node>& jobs,
                const spec::PipelineComponent* component, const std::string& prefix,
                int32_t group);
  void BindScopeOutputs(int32_t s);
  void ResolveStep(uint32_t index, int32_t scope);
  void AddOutputs(Step& step, int32_t s);
  // The type an output of job `n` (in scope `s`) with no type of its own takes from the pipeline
  // (or pipeline component) output it is bound to, if that has one.
  std::optional<spec::PortType> InheritedType(int32_t s, const Node& n, const std::string& output) const;
  ValueSource ResolveValue(int32_t scope, const InputValue& v, const What& what);
  ValueSource ResolveBinding(int32_t scope, const spec::Text& t, const What& what);
  ValueSource ResolveRef(int32_t scope, const Ref& r, const SourceLoc& at, const What& what);
  ValueSource ScopeInput(int32_t scope, const std::string& name, const SourceLoc& at);
  ValueSource JobOutput(int32_t scope, size_t job, const std::string& output, const SourceLoc& at);
  void ApplySetInputs();
  void CheckDelivery(StepInput& in, const Step& step);
  void FindCycles();
  std::string ScopeName(int32_t scope) const {
    return scope <= 0 ? "the pipeline"
                      : fmt::format("pipeline component `{}`", scopes_[scope].component->name);
  }

  const spec::LoadedPipeline& pipeline_;
  const BuildOptions& options_;
  Diagnostics& diags_;
  Graph g_;
  std::vector<Scope> scopes_;
  std::vector<int32_t> step_scope_;
  std::vector<std::pair<std::string, InputValue>> top_inputs_;  // after --set
  int job_input_depth_ = 0;
};

// The ports of what a leaf node runs.
const std::vector<spec::InputPort>* InputPortsOf(const Node& n) {
  if (n.command) return &n.command->inputs;
  if (n.parallel) return &n.parallel->inputs;
  if (n.sweep && n.sweep->trial) return &n.sweep->trial->inputs;
  return nullptr;
}
const std::vector<spec::OutputPort>* OutputPortsOf(const Node& n) {
  if (n.command) return &n.command->outputs;
  if (n.parallel) return &n.parallel->outputs;
  if (n.sweep && n.sweep->trial) return &n.sweep->trial->outputs;
  if (n.pipeline) return &n.pipeline->outputs;
  return nullptr;
}

const InputValue* NodeInput(const Node& n, std::string_view name) {
  for (const auto& [k, v] : n.inputs) {
    if (k == name) return &v;
  }
  return nullptr;
}

void Builder::AddScope(int32_t parent, size_t parent_job, const std::vector<Node>& jobs,
                       const spec::PipelineComponent* component, const std::string& prefix,
                       int32_t group) {
  int32_t s = static_cast<int32_t>(scopes_.size());
  scopes_.emplace_back();
  {
    Scope& sc = scopes_.back();
    sc.group = group;
    sc.prefix = prefix;
    sc.parent = parent;
    sc.parent_job = parent_job;
    sc.jobs = &jobs;
    sc.component = component;
    sc.job_step.assign(jobs.size(), kNoStep);
    sc.job_scope.assign(jobs.size(), -1);
    sc.job_index.reserve(jobs.size());
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Node& n = jobs[i];
    scopes_[s].job_index.emplace(n.name, i);
    std::string name = prefix + n.name;
    if (n.type == NodeType::kPipeline) {
      if (!n.pipeline) continue;
      int32_t gi = static_cast<int32_t>(g_.groups.size());
      g_.groups.push_back({name, ComponentLabel(n), group, n.loc});
      scopes_[s].job_scope[i] = static_cast<int32_t>(scopes_.size());
      AddScope(s, i, n.pipeline->jobs, n.pipeline.get(), name + "/", gi);
      continue;
    }
    if (!InputPortsOf(n)) continue;  // the loader already reported why
    uint32_t index = static_cast<uint32_t>(g_.steps.size());
    scopes_[s].job_step[i] = index;
    Step step;
    step.name = std::move(name);
    step.node = &n;
    step.group = group;
    g_.steps.push_back(std::move(step));
    step_scope_.push_back(s);
  }
  BindScopeOutputs(s);
}

// Records which job output each `${{parent.outputs.X}}` binding of this scope points at.
void Builder::BindScopeOutputs(int32_t s) {
  Scope& sc = scopes_[s];
  std::vector<std::string> declared;
  if (sc.component != nullptr) {
    for (const spec::OutputPort& p : sc.component->outputs) declared.push_back(p.name);
  } else {
    for (const auto& [name, v] : pipeline_.job.outputs) declared.push_back(name);
  }
  for (size_t i = 0; i < sc.jobs->size(); ++i) {
    const Node& n = (*sc.jobs)[i];
    for (const auto& [out_name, ov] : n.outputs) {
      if (ov.binding.empty() || ov.binding.tmpl.refs.empty()) continue;
      const std::string& target = ov.binding.tmpl.refs[0].port;
      if (std::find(declared.begin(), declared.end(), target) == declared.end()) {
        std::string near = spec::Closest(target, declared);
        diags_.Error(ov.binding.loc,
                     fmt::format("job `{}` binds output `{}` to `{}`, but {} has no output `{}`",
                                 n.name, out_name, ov.binding.text, ScopeName(s), target),
                     near.empty() ? "declare it under the pipeline's `outputs:`"
                                  : fmt::format("did you mean `{}`?", near));
        continue;
      }
      auto [it, inserted] = sc.outputs.emplace(target, ScopeOutput{i, out_name, ov.binding.loc});
      if (!inserted) {
        diags_.Error(ov.binding.loc,
                     fmt::format("output `{}` of {} is bound by both job `{}` and job `{}`", target,
                                 ScopeName(s), (*sc.jobs)[it->second.job].name, n.name),
                     "each pipeline output takes exactly one job output");
      }
    }
  }
}

void Builder::ApplySetInputs() {
  top_inputs_ = pipeline_.job.inputs;
  for (const auto& [name, text] : options_.set_inputs) {
    SourceLoc nowhere{};
    auto it = std::find_if(top_inputs_.begin(), top_inputs_.end(),
                           [&](const auto& kv) { return kv.first == name; });
    if (it == top_inputs_.end()) {
      std::vector<std::string> names;
      for (const auto& kv : top_inputs_) names.push_back(kv.first);
      std::string near = spec::Closest(name, names);
      diags_.Error(nowhere, fmt::format("--set inputs.{}: the pipeline has no input `{}`", name, name),
                   near.empty() ? "only inputs declared under the pipeline's `inputs:` can be set"
                                : fmt::format("did you mean `{}`?", near));
      continue;
    }
    InputValue& v = it->second;
    bool data = v.kind == InputValue::Kind::kData || (v.type && spec::IsData(*v.type));
    if (data) {
      v.kind = InputValue::Kind::kData;
      v.path = spec::Text{text, nowhere, {}};
      v.local_path.clear();
      v.local_path = LocalDataPath(options_.base_dir, text);
      if (!v.local_path.empty() && !options_.roots.empty() &&
          std::none_of(options_.roots.begin(), options_.roots.end(),
                       [&](const std::string& r) { return IsWithin(v.local_path, r); })) {
        diags_.Error(nowhere,
                     fmt::format("--set inputs.{}={}: outside the files submitted with this "
                                 "pipeline",
                                 name, text),
                     "a pipeline submitted to a server reads only the files uploaded with it, "
                     "registered data assets and the datastores its project is granted");
        continue;
      }
      if (!v.local_path.empty()) {
        if (StatPath(v.local_path) == PathKind::kMissing) {
          diags_.Error(nowhere, fmt::format("--set inputs.{}={}: no such file or folder", name, text));
        }
      }
      continue;
    }
    // Typed by the declared type; without one, by the type of the value it replaces.
    spec::PortType type = v.type.value_or(spec::PortType::kString);
    if (!v.type) {
      if (v.literal.kind == LiteralKind::kInt) type = spec::PortType::kInteger;
      if (v.literal.kind == LiteralKind::kFloat) type = spec::PortType::kNumber;
      if (v.literal.kind == LiteralKind::kBool) type = spec::PortType::kBoolean;
    }
    Literal lit = Literal::String(text);
    std::string bad;
    if (type == spec::PortType::kInteger) {
      // A whole number (`3`, or `3.0` as JSON clients may send it), never one truncated.
      std::optional<int64_t> i = AsInteger(lit);
      std::optional<double> d = PythonFloat(text);
      if (i && d && *d == static_cast<double>(*i)) lit = Literal::Int(*i); else bad = "an integer";
    } else if (type == spec::PortType::kNumber) {
      std::optional<double> d = PythonFloat(text);
      if (d) lit = Literal::Float(*d); else bad = "a number";
    } else if (type == spec::PortType::kBoolean) {
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true" || lower == "false") lit = Literal::Bool(lower == "true");
      else bad = "true or false";
    }
    if (!bad.empty()) {
      diags_.Error(nowhere, fmt::format("--set inputs.{}={}: the input is {}, and `{}` is not {}",
                                        name, text, spec::PortTypeName(type), text, bad));
      continue;
    }
    v.kind = InputValue::Kind::kLiteral;
    v.literal = lit;
  }
}

ValueSource Builder::ScopeInput(int32_t s, const std::string& name, const SourceLoc& at) {
  Scope& sc = scopes_[s];
  auto [it, inserted] = sc.inputs.try_emplace(name);
  if (it->second.first == 2) return it->second.second;
  if (it->second.first == 1) {
    diags_.Error(at, fmt::format("input `{}` of {} is defined in terms of itself", name,
                                 ScopeName(s)));
    return {};
  }
  it->second.first = 1;
  ValueSource result;
  if (sc.component == nullptr) {
    auto v = std::find_if(top_inputs_.begin(), top_inputs_.end(),
                          [&](const auto& kv) { return kv.first == name; });
    if (v == top_inputs_.end()) {
      std::vector<std::string> names;
      for (const auto& kv : top_inputs_) names.push_back(kv.first);
      std::string near = spec::Closest(name, names);
      diags_.Error(at, fmt::format("the pipeline has no input `{}`", name),
                   near.empty() ? "declare it under the pipeline's `inputs:`"
                                : fmt::format("did you mean `{}`?", near));
    } else if (v->second.kind == InputValue::Kind::kBinding) {
      diags_.Error(v->second.loc, fmt::format("pipeline input `{}` is a binding, but the pipeline "
                                              "job has no parent to bind to",
                                              name),
                   "give the pipeline's inputs values or data paths");
    } else {
      result = ResolveValue(s, v->second, What("pipeline input `{}`", name));
      if (v->second.type) result.type = *v->second.type;
    }
  } else {
    const spec::InputPort* port = sc.component->FindInput(name);
    if (port == nullptr) {
      std::vector<std::string> names;
      for (const spec::InputPort& p : sc.component->inputs) names.push_back(p.name);
      std::string near = spec::Closest(name, names);
      diags_.Error(at, fmt::format("{} has no input `{}`", ScopeName(s), name),
                   near.empty() ? "declare it under the component's `inputs:`"
                                : fmt::format("did you mean `{}`?", near));
    } else {
      const Node& pnode = (*scopes_[sc.parent].jobs)[sc.parent_job];
      if (const InputValue* v = NodeInput(pnode, name)) {
        result = ResolveValue(sc.parent, *v,
                              What("input `{}` of job `{}`", name, pnode.name));
      }
      if (result.kind == ValueSource::Kind::kNone && port->default_value &&
          port->default_value->kind != LiteralKind::kNull) {
        result.kind = ValueSource::Kind::kLiteral;
        result.literal = *port->default_value;
        result.loc = port->loc;
      }
      if (result.kind == ValueSource::Kind::kLiteral && spec::IsPrimitive(port->type)) {
        spec::CheckLiteralForPort(diags_, result.loc, result.literal, *port,
                                  What("input `{}` of pipeline component `{}`", name, sc.component->name));
      }
    }
  }
  it = scopes_[s].inputs.find(name);
  it->second = {2, result};
  return result;
}

ValueSource Builder::JobOutput(int32_t s, size_t job, const std::string& output,
                               const SourceLoc& at) {
  const Scope& sc = scopes_[s];
  const Node& n = (*sc.jobs)[job];
  if (n.type == NodeType::kPipeline) {
    int32_t child = sc.job_scope[job];
    if (child < 0) return {};
    if (!n.pipeline->FindOutput(output)) {
      std::vector<std::string> names;
      for (const spec::OutputPort& p : n.pipeline->outputs) names.push_back(p.name);
      std::string near = spec::Closest(output, names);
      diags_.Error(at, fmt::format("job `{}` has no output `{}`", n.name, output),
                   near.empty() ? "" : fmt::format("did you mean `{}`?", near));
      return {};
    }
    auto it = scopes_[child].outputs.find(output);
    if (it == scopes_[child].outputs.end()) {
      diags_.Error(n.pipeline->FindOutput(output)->loc,
                   fmt::format("output `{}` of pipeline component `{}` is not bound by any of its "
                               "jobs",
                               output, n.pipeline->name),
                   fmt::format("bind a job output to it: `{}: ${{{{parent.outputs.{}}}}}`", output,
                               output));
      return {};
    }
    return JobOutput(child, it->second.job, it->second.job_output, at);
  }
  uint32_t step = sc.job_step[job];
  if (step == kNoStep) return {};
  const std::vector<spec::OutputPort>* outs = OutputPortsOf(n);
  ValueSource src;
  src.kind = ValueSource::Kind::kStepOutput;
  src.step = step;
  src.output = output;
  src.loc = at;
  bool found = output == "artifacts" && n.type != NodeType::kParallel;
  for (const spec::OutputPort& p : *outs) {
    if (p.name == output) {
      found = true;
      src.type = InheritedType(s, n, output).value_or(p.type);
    }
  }
  if (!found) {
    std::vector<std::string> names;
    for (const spec::OutputPort& p : *outs) names.push_back(p.name);
    std::string near = spec::Closest(output, names);
    diags_.Error(at, fmt::format("job `{}` has no output `{}`", n.name, output),
                 near.empty() ? "a job's outputs are those its component declares, plus `artifacts`"
                              : fmt::format("did you mean `{}`?", near));
    return {};
  }
  return src;
}

ValueSource Builder::ResolveRef(int32_t s, const Ref& r, const SourceLoc& at,
                                const What& what) {
  const Scope& sc = scopes_[s];
  std::string shown = fmt::format("${{{{{}}}}}", r.path);
  switch (r.kind) {
    case RefKind::kParentInputs:
    case RefKind::kInputs:
      return ScopeInput(s, r.port, at);
    case RefKind::kJobOutput:
    case RefKind::kJobInput: {
      auto it = sc.job_index.find(r.job);
      if (it == sc.job_index.end()) {
        std::vector<std::string> names;
        for (const Node& n : *sc.jobs) names.push_back(n.name);
        std::string near = spec::Closest(r.job, names);
        diags_.Error(at, fmt::format("{} refers to `{}`, but {} has no job `{}`", what.str(), shown,
                                     ScopeName(s), r.job),
                     near.empty() ? "name a job under the same `jobs:`"
                                  : fmt::format("did you mean `{}`?", near));
        return {};
      }
      if (r.kind == RefKind::kJobOutput) return JobOutput(s, it->second, r.port, at);
      const Node& sibling = (*sc.jobs)[it->second];
      const InputValue* v = NodeInput(sibling, r.port);
      if (v == nullptr || job_input_depth_ > 64) {
        diags_.Error(at, v == nullptr ? fmt::format("{} refers to `{}`, but job `{}` sets no input "
                                                    "`{}`",
                                                    what.str(), shown, r.job, r.port)
                                      : fmt::format("{} refers to `{}` through a chain of inputs "
                                                    "that never ends",
                                                    what.str(), shown));
        return {};
      }
      ++job_input_depth_;
      ValueSource out = ResolveValue(s, *v, What("input `{}` of job `{}`", r.port, r.job));
      --job_input_depth_;
      return out;
    }
    case RefKind::kParentOutputs:
    case RefKind::kOutputs:
      diags_.Error(at, fmt::format("{} reads `{}`; pipeline outputs can only be written to", what.str(),
                                   shown),
                   "read another job's output with `${{parent.jobs.STEP.outputs.NAME}}`");
      return {};
    default:
      diags_.Error(at, fmt::format("{} uses `{}`, which is not valid here", what.str(), shown),
                   "an input is bound with `${{parent.inputs.NAME}}` or "
                   "`${{parent.jobs.STEP.outputs.NAME}}`");
      return {};
  }
}

ValueSource Builder::ResolveBinding(int32_t s, const spec::Text& t, const What& what) {
  if (t.tmpl.refs.empty()) return {};
  if (t.tmpl.IsSingleRef(t.text)) {
    ValueSource v = ResolveRef(s, t.tmpl.refs[0], t.loc, what);
    if (v.kind == ValueSource::Kind::kStepOutput) v.loc = t.loc;
    return v;
  }
  // Text around references: every reference must be a literal; the result is a string.
  std::string out;
  size_t pos = 0;
  for (const Ref& r : t.tmpl.refs) {
    out.append(t.text, pos, r.begin - pos);
    ValueSource v = ResolveRef(s, r, t.loc, what);
    if (v.kind == ValueSource::Kind::kLiteral) {
      out += v.literal.Render();
    } else if (v.kind != ValueSource::Kind::kNone) {
      diags_.Error(t.loc, fmt::format("{} puts data (`${{{{{}}}}}`) inside a longer text", what.str(),
                                      r.path),
                   "bind data on its own: `${{parent.jobs.STEP.outputs.NAME}}`");
      return {};
    }
    pos = r.end;
  }
  out.append(t.text, pos, std::string::npos);
  ValueSource v;
  v.kind = ValueSource::Kind::kLiteral;
  v.literal = Literal::String(out);
  v.loc = t.loc;
  return v;
}

ValueSource Builder::ResolveValue(int32_t s, const InputValue& v, const What& what) {
  ValueSource out;
  out.loc = v.loc;
  switch (v.kind) {
    case InputValue::Kind::kLiteral:
      if (v.literal.kind == LiteralKind::kNull) return out;
      out.kind = ValueSource::Kind::kLiteral;
      out.literal = v.literal;
      return out;
    case InputValue::Kind::kBinding:
      return ResolveBinding(s, v.path, what);
    case InputValue::Kind::kData:
      if (!v.path.tmpl.refs.empty()) {
        out = ResolveBinding(s, v.path, what);
        if (out.kind == ValueSource::Kind::kLiteral) {
          // A path assembled from literals, such as `${{parent.inputs.root}}/train.csv`.
          // Relative to the file that holds the literal.
          std::string p = out.literal.Render();
          std::string base = out.loc.file ? DirName(*out.loc.file) : DirName(*v.loc.file);
          out = {};
          out.kind = ValueSource::Kind::kData;
          out.uri = p;
          out.local_path = LocalDataPath(base, p);
          out.loc = v.loc;
        }
      } else {
        out.kind = ValueSource::Kind::kData;
        out.uri = v.path.text;
        out.local_path = v.local_path;
      }
      if (v.type) out.type = *v.type;
      if (!v.mode.empty()) out.mode = v.mode;
      return out;
  }
  return out;
}

void Builder::CheckDelivery(StepInput& in, const Step& step) {
  const spec::InputPort& port = *in.port;
  ValueSource& src = in.source;
  What what("input `{}` of job `{}`", in.name, step.name);
  if (src.kind == ValueSource::Kind::kNone) {
    if (!port.optional && !port.any_type &&
        pipeline_.kind != spec::DocumentKind::kCommandComponent &&
        pipeline_.kind != spec::DocumentKind::kParallelComponent) {
      diags_.Error(step.node->loc, fmt::format("{} has no value", what.str()),
                   "bind it under the job's `inputs:`, give the port a `default`, or mark it "
                   "`optional: true`");
    }
    return;
  }
  if (port.any_type) return;
  bool data_port = spec::IsData(port.type);
  if (src.kind == ValueSource::Kind::kLiteral) {
    if (!data_port) {
      spec::CheckLiteralForPort(diags_, src.loc, src.literal, port, what);
      return;
    }
    if (src.literal.kind != LiteralKind::kString) {
      diags_.Error(src.loc, fmt::format("{} is `{}` data, but it is given {} `{}`", what.str(),
                                        spec::PortTypeName(port.type), src.literal.KindName(),
                                        src.literal.Render()),
                   fmt::format("give `{{type: {}, path: ...}}`", spec::PortTypeName(port.type)));
      return;
    }
    diags_.Warning(src.loc, fmt::format("{} is `{}` data and is given the string `{}`; it is used "
                                        "as a path",
                                        what.str(), spec::PortTypeName(port.type), src.literal.s),
                   fmt::format("write `{{type: {}, path: {}}}`", spec::PortTypeName(port.type),
                               src.literal.s));
    std::string p = src.literal.s;
    src.kind = ValueSource::Kind::kData;
    src.uri = p;
    src.type = port.type;
    if (src.loc.file) src.local_path = LocalDataPath(DirName(*src.loc.file), p);
    if (!src.local_path.empty()) {
      if (StatPath(src.local_path) == PathKind::kMissing) {
        diags_.Error(src.loc, fmt::format("data path `{}` does not exist", p),
                     fmt::format("looked for {}", src.local_path));
      }
    }
    return;
  }
  if (!data_port) {
    diags_.Error(src.loc, fmt::format("{} is {} `{}`, but it is bound to data", what.str(),
                                      port.type == spec::PortType::kInteger ? "an" : "a",
                                      spec::PortTypeName(port.type)),
                 "bind it to a literal pipeline input of that type");
    return;
  }
  bool compatible = src.type == port.type || port.type == spec::PortType::kPath ||
                    src.type == spec::PortType::kPath ||
                    (port.type == spec::PortType::kUriFolder && src.type != spec::PortType::kUriFile) ||
                    (src.type == spec::PortType::kUriFolder && port.type != spec::PortType::kUriFile);
  if (!compatible) {
    diags_.Warning(src.loc, fmt::format("{} is `{}` but receives `{}`; it is delivered as `{}`", what.str(),
                                        spec::PortTypeName(port.type), spec::PortTypeName(src.type),
                                        spec::PortTypeName(src.type)),
                   "Azure ML accepts this too; make the types agree to silence this warning");
  }
}

std::optional<spec::PortType> Builder::InheritedType(int32_t s, const Node& n,
                                                    const std::string& output) const {
  const std::vector<spec::OutputPort>* outs = OutputPortsOf(n);
  auto port = std::find_if(outs->begin(), outs->end(),
                           [&](const spec::OutputPort& p) { return p.name == output; });
  if (port == outs->end() || port->typed) return std::nullopt;
  const spec::OutputValue* setting = nullptr;
  for (const auto& [name, ov] : n.outputs) {
    if (name == output) setting = &ov;
  }
  if (setting == nullptr || setting->type || setting->binding.tmpl.refs.empty()) return std::nullopt;
  const std::string& target = setting->binding.tmpl.refs[0].port;
  const Scope& sc = scopes_[s];
  if (sc.component == nullptr) {
    for (const auto& [name, ov] : pipeline_.job.outputs) {
      if (name == target && ov.type) return ov.type;
    }
    return std::nullopt;
  }
  for (const spec::OutputPort& p : sc.component->outputs) {
    if (p.name != target) continue;
    if (p.typed) return p.type;
    // An untyped output of the component: what the caller binds it to decides.
    return InheritedType(sc.parent, (*scopes_[sc.parent].jobs)[sc.parent_job], target);
  }
  return std::nullopt;
}

void Builder::AddOutputs(Step& step, int32_t s) {
  const Node& n = *step.node;
  const std::vector<spec::OutputPort>* outs = OutputPortsOf(n);
  for (const spec::OutputPort& p : *outs) {
    StepOutput o;
    o.name = p.name;
    o.type = InheritedType(s, n, p.name).value_or(p.type);
    for (const auto& [name, ov] : n.outputs) {
      if (name == p.name) o.setting = &ov;
    }
    step.outputs.push_back(std::move(o));
  }
  bool declared = std::any_of(outs->begin(), outs->end(),
                              [](const spec::OutputPort& p) { return p.name == "artifacts"; });
  if (n.type != NodeType::kParallel && !declared) {
    step.outputs.push_back({"artifacts", spec::PortType::kUriFolder, nullptr, {}});
  }
}

void Builder::ResolveStep(uint32_t index, int32_t s) {
  Step& step = g_.steps[index];
  const Node& n = *step.node;
  const std::vector<spec::InputPort>& ports = *InputPortsOf(n);
  spec::NameIndex<std::pair<std::string, InputValue>> given(n.inputs);
  std::vector<StepInput> inputs;
  inputs.reserve(ports.size());
  for (const spec::InputPort& port : ports) {
    StepInput in;
    in.name = port.name;
    in.port = &port;
    bool from_search = false;
    if (n.sweep) {
      for (const std::string& name : spec::HyperparameterNames(n.sweep->search_space)) from_search |= name == port.name;
    }
    if (from_search) {
      in.source.kind = ValueSource::Kind::kSearchSpace;
      inputs.push_back(std::move(in));
      continue;
    }
    if (const auto* v = given.Find(port.name)) {
      in.source = ResolveValue(s, v->second, What("input `{}` of job `{}`", port.name, step.name));
    }
    if (in.source.kind == ValueSource::Kind::kNone && port.default_value &&
        port.default_value->kind != LiteralKind::kNull) {
      in.source.kind = ValueSource::Kind::kLiteral;
      in.source.literal = *port.default_value;
      in.source.loc = port.loc;
    }
    inputs.push_back(std::move(in));
  }
  Step& st = step;
  st.inputs = std::move(inputs);
  for (StepInput& in : st.inputs) {
    if (in.source.kind == ValueSource::Kind::kStepOutput) {
      g_.edges.push_back({in.source.step, in.source.output, index, in.name});
      st.deps.push_back(in.source.step);
    }
    if (in.source.kind != ValueSource::Kind::kSearchSpace) CheckDelivery(in, st);
  }
  std::sort(st.deps.begin(), st.deps.end());
  st.deps.erase(std::unique(st.deps.begin(), st.deps.end()), st.deps.end());
  if (!n.compute.empty()) {
    if (!n.compute.tmpl.refs.empty()) {
      ValueSource c = ResolveBinding(s, n.compute, What("`compute` of job `{}`", n.name));
      if (c.kind == ValueSource::Kind::kLiteral) st.compute = c.literal.Render();
    } else {
      st.compute = n.compute.text;
    }
  }
  if (st.compute.empty()) {
    st.compute = pipeline_.job.settings.default_compute.empty() ? pipeline_.job.compute.text
                                                                 : pipeline_.job.settings.default_compute;
  }
  AddOutputs(st, s);
}

void Builder::FindCycles() {
  size_t n = g_.steps.size();
  std::vector<uint8_t> color(n, 0);  // 0 white, 1 on stack, 2 done
  std::vector<uint32_t> parent(n, kNoStep);
  int reported = 0;
  for (uint32_t root = 0; root < n && reported < 5; ++root) {
    if (color[root] != 0) continue;
    // Iterative DFS along deps (consumer -> producer).
    std::vector<std::pair<uint32_t, size_t>> stack{{root, 0}};
    color[root] = 1;
    while (!stack.empty() && reported < 5) {
      auto& [u, next] = stack.back();
      if (next >= g_.steps[u].deps.size()) {
        color[u] = 2;
        stack.pop_back();
        continue;
      }
      uint32_t v = g_.steps[u].deps[next++];
      if (color[v] == 0) {
        color[v] = 1;
        parent[v] = u;
        stack.push_back({v, 0});
      } else if (color[v] == 1) {
        // u consumes v, and v is an ancestor of u on the stack: v <- ... <- u <- v.
        std::vector<uint32_t> cycle{v};
        for (uint32_t w = u; w != v && w != kNoStep; w = parent[w]) cycle.push_back(w);
        // Data flows v -> u -> parent[u] -> ... -> v.
        std::string text;
        for (uint32_t w : cycle) text += g_.steps[w].name + " -> ";
        text += g_.steps[v].name;
        SourceLoc at = g_.steps[u].node->loc;
        for (const StepInput& in : g_.steps[u].inputs) {
          if (in.source.kind == ValueSource::Kind::kStepOutput && in.source.step == v) {
            at = in.source.loc;
          }
        }
        diags_.Error(at, fmt::format("binding cycle: {}", text),
                     "a job cannot consume its own output, directly or through other jobs");
        ++reported;
      }
    }
  }
}

Graph Builder::Run() {
  const spec::PipelineJob& job = pipeline_.job;
  g_.name = job.name.empty() ? job.display_name : job.name;
  ApplySetInputs();
  AddScope(-1, 0, job.jobs, nullptr, "", -1);
  for (uint32_t i = 0; i < g_.steps.size(); ++i) ResolveStep(i, step_scope_[i]);
  for (const auto& [name, ov] : job.outputs) {
    auto it = scopes_[0].outputs.find(name);
    if (it == scopes_[0].outputs.end()) continue;
    ValueSource src = JobOutput(0, it->second.job, it->second.job_output, it->second.loc);
    if (src.kind != ValueSource::Kind::kStepOutput) continue;
    g_.outputs.push_back({name, src.step, src.output});
    for (StepOutput& o : g_.steps[src.step].outputs) {
      if (o.name != src.output) continue;
      o.pipeline_output = name;
      o.pipeline_setting = &ov;
    }
  }
  auto hook = [&](const std::string& name) {
    if (name.empty()) return kNoStep;
    auto it = scopes_[0].job_index.find(name);
    return it == scopes_[0].job_index.end() ? kNoStep : scopes_[0].job_step[it->second];
  };
  g_.on_init = hook(job.settings.on_init);
  g_.on_finalize = hook(job.settings.on_finalize);
  if (g_.on_init != kNoStep && !g_.steps[g_.on_init].deps.empty()) {
    diags_.Error(job.settings.on_init_loc,
                 fmt::format("the on_init job `{}` consumes another job's output",
                             job.settings.on_init),
                 "on_init runs before every other job, so it cannot depend on them");
  }
  FindCycles();
  return std::move(g_);
}

}  // namespace

Graph Build(const spec::LoadedPipeline& pipeline, const BuildOptions& options, Diagnostics& diags) {
  return Builder(pipeline, options, diags).Run();
}

}  // namespace weft::graph
