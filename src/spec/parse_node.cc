// Nodes under `jobs:`: the fields every node shares, command nodes and pipeline nodes.
#include <fmt/format.h>

#include "spec/loader_internal.h"

namespace weft::spec {
namespace {

std::vector<std::string> NamesOf(const auto& ports) {
  std::vector<std::string> names;
  for (const auto& p : ports) names.push_back(p.name);
  return names;
}

std::string PortHint(std::string_view name, const std::vector<std::string>& names,
                     std::string_view kind) {
  std::string near = Closest(name, names);
  if (!near.empty()) return fmt::format("did you mean `{}`?", near);
  if (names.empty()) return fmt::format("the component declares no {}", kind);
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return fmt::format("its {} are: {}", kind, list);
}

}  // namespace

// Checks a node's input and output values against the ports of what it runs.
void CheckNodePorts(Diagnostics& diags, const Node& node, const std::vector<InputPort>& inputs,
                    const std::vector<OutputPort>& outputs, std::string_view component,
                    bool unknown_input_is_error) {
  NameIndex<InputPort> in_index(inputs);
  for (const auto& [name, value] : node.inputs) {
    const InputPort* port = in_index.Find(name);
    if (port == nullptr) {
      std::string msg = fmt::format("job `{}`: {} has no input `{}`", node.name, component, name);
      std::string hint = PortHint(name, NamesOf(inputs), "inputs");
      if (unknown_input_is_error) {
        diags.Error(value.loc, msg, hint);
      } else {
        diags.Warning(value.loc, msg + "; it is ignored", hint);
      }
      continue;
    }
    if (value.kind == InputValue::Kind::kLiteral && value.literal.kind != LiteralKind::kNull &&
        IsPrimitive(port->type)) {
      CheckLiteralForPort(diags, value.loc, value.literal, *port,
                          What("input `{}` of job `{}`", name, node.name));
    }
  }
  NameIndex<OutputPort> out_index(outputs);
  for (const auto& [name, value] : node.outputs) {
    if (out_index.Find(name) == nullptr) {
      diags.Error(value.loc, fmt::format("job `{}`: {} has no output `{}`", node.name, component,
                                         name),
                  PortHint(name, NamesOf(outputs), "outputs"));
    }
  }
}

std::optional<Node> Loader::ParseNode(const Source& src, const yaml::Node* key,
                                      const yaml::Node* value) {
  Node node;
  SourceLoc at = src.Loc(key != nullptr ? key : value);
  node.loc = at;
  if (key != nullptr) {
    if (!key->is_scalar()) {
      diags_.Error(at, "a job name must be a plain name, not " + Describe(key));
      return std::nullopt;
    }
    node.name = key->text;
    if (!CheckStepName(diags_, at, node.name)) return std::nullopt;
  }
  Fields f(src, value, key != nullptr ? What("job `{}`", node.name) : What("the job"), at);
  if (!f.valid()) return std::nullopt;
  if (key == nullptr) {
    node.name = f.String("name").value_or("main");
    if (!CheckStepName(diags_, at, node.name)) node.name = "main";
  }
  std::string type = "command";
  if (const yaml::Node* t = f.Get("type")) {
    if (auto s = ScalarString(src, t, "`type`")) type = *s;
  }
  if (type == "command") {
    ParseCommandNode(f, node);
  } else if (type == "pipeline") {
    node.type = NodeType::kPipeline;
    ParsePipelineNode(f, node);
  } else if (type == "parallel") {
    node.type = NodeType::kParallel;
    ParseParallelNode(f, node);
  } else if (type == "sweep") {
    node.type = NodeType::kSweep;
    ParseSweepNode(f, node);
  } else if (type == "spark" || type == "automl" || type == "import" || type == "data_transfer") {
    diags_.Error(src.Loc(f.Get("type")),
                 fmt::format("job `{}` is a `{}` job, which runs only on Azure's cloud services and "
                             "is not supported locally",
                             node.name, type),
                 "replace it with a command job that does the same work, or run this pipeline in "
                 "Azure ML");
    return std::nullopt;
  } else if (type == "do_while" || type == "if_else" || type == "parallel_for") {
    diags_.Error(src.Loc(f.Get("type")),
                 fmt::format("job `{}` is a `{}` control-flow node, a private preview of Azure ML "
                             "that weft does not support",
                             node.name, type),
                 "unroll the loop or condition into ordinary jobs");
    return std::nullopt;
  } else {
    diags_.Error(src.Loc(f.Get("type")), fmt::format("job `{}` has unknown type `{}`", node.name, type),
                 "the type is one of command, pipeline, parallel, sweep");
    return std::nullopt;
  }
  f.Finish();
  return node;
}

void Loader::ParseNodeCommon(Fields& f, Node& node) {
  const Source& src = f.source();
  f.Ignore({"description", "tags", "properties", "experiment_name", "identity", "queue_settings",
            "$schema", "id", "status", "creation_context", "is_deterministic"});
  node.display_name = f.String("display_name").value_or("");
  if (const yaml::Node* c = f.Get("compute")) {
    if (!c->is_null()) node.compute = ParseText(src, c);
  }
  node.environment_variables = f.StringMap("environment_variables");
  if (const yaml::Node* r = f.Get("resources")) node.resources = ParseResources(src, r);
  if (const yaml::Node* d = f.Get("distribution")) node.distribution = ParseDistribution(src, d);
  if (const yaml::Node* e = f.Get("environment")) node.environment = ParseEnvironment(src, e);
  const yaml::Node* l = node.type == NodeType::kSweep ? nullptr : f.Get("limits");
  if (l != nullptr) {  // a sweep's limits are its own; see ParseSweepNode
    Fields lf(src, l, "`limits`", src.Loc(l));
    node.timeout = lf.Int("timeout", 1);
    lf.Finish();
  }
  if (const yaml::Node* s = f.Get("services")) {
    diags_.Warning(src.Loc(s), fmt::format("job `{}`: interactive services (Jupyter, SSH, "
                                           "TensorBoard) are not started locally",
                                           node.name));
  }
  node.inputs = ParseInputValues(src, f.Get("inputs"), false);
  node.outputs = ParseOutputValues(src, f.Get("outputs"), false);
}

void Loader::ParseCommandNode(Fields& f, Node& node) {
  const Source& src = f.source();
  const yaml::Node* comp = f.Get("component");
  if (comp != nullptr) {
    std::optional<ComponentSource> cs = ResolveComponent(src, comp, &node.component_ref);
    if (cs && cs->type == "pipeline") {
      node.type = NodeType::kPipeline;
      ParsePipelineNode(f, node);
      return;
    }
    if (cs && cs->type == "parallel") {
      node.type = NodeType::kParallel;
      ParseParallelNode(f, node);
      return;
    }
    ParseNodeCommon(f, node);
    for (const char* key : {"command", "code"}) {
      if (const yaml::Node* n = f.Get(key)) {
        diags_.Warning(src.Loc(n),
                       fmt::format("job `{}` has both `component` and `{}`; the component's {} is "
                                   "used",
                                   node.name, key, key));
      }
    }
    if (!cs) return;
    if (cs->type != "command") {
      diags_.Error(src.Loc(comp), fmt::format("job `{}` is a command job but its component is a `{}` "
                                              "component",
                                              node.name, cs->type),
                   fmt::format("set `type: {}` on the job", cs->type));
      return;
    }
    node.command = CommandComponentFrom(*cs);
    if (!node.command) return;
    for (const Ref& r : node.command->command.tmpl.refs) {
      if (r.kind == RefKind::kSearchSpace) {
        diags_.Error(src.Loc(comp), fmt::format("job `{}` is a command job, but its component's "
                                                "command uses `${{{{search_space.{}}}}}`",
                                                node.name, r.port),
                     "only the trial of a sweep job can read the search space");
        break;
      }
    }
    CheckNodePorts(diags_, node, node.command->inputs, node.command->outputs,
                   fmt::format("component `{}`", node.command->name), true);
    return;
  }
  // An inline command job: the node is its own component.
  ParseNodeCommon(f, node);
  auto c = std::make_shared<CommandComponent>();
  c->file = src.doc.file();
  c->loc = node.loc;
  c->inputs = PortsFromValues(node.inputs);
  c->outputs = PortsFromValues(node.outputs);
  c->environment = node.environment;
  node.environment = {};
  c->environment_variables = node.environment_variables;
  if (const yaml::Node* cmd = f.Get("command", true)) {
    c->command = ParseText(src, cmd);
    if (c->command.valid && c->command.empty()) diags_.Error(src.Loc(cmd), fmt::format("job `{}` has an empty command",
                                                                   node.name));
  }
  if (c->environment.kind == Environment::Kind::kNone) {
    diags_.Error(node.loc, fmt::format("job `{}` has no `environment`", node.name),
                 "add `environment: azureml:<name>:<version>` or an inline environment with an image");
  }
  if (const yaml::Node* code = f.Get("code")) {
    if (auto s = ScalarString(src, code, "`code`")) {
      c->code = LocalPath(src, *s, src.Loc(code), "code folder", false);
      c->code_loc = src.Loc(code);
    }
  }
  CheckCommandTemplate(src, c->command, c->inputs, c->outputs,
                       What("the command of job `{}`", node.name));
  node.command = std::move(c);
}

void Loader::ParsePipelineNode(Fields& f, Node& node) {
  const Source& src = f.source();
  ParseNodeCommon(f, node);
  const yaml::Node* comp = f.Get("component", true);
  if (comp == nullptr) return;
  if (comp->is_mapping()) {
    diags_.Error(src.Loc(comp), fmt::format("job `{}`: a pipeline job's component cannot be written "
                                            "inline",
                                            node.name),
                 "put the pipeline component in its own file and write `component: ./file.yml`");
    return;
  }
  std::optional<ComponentSource> cs = ResolveComponent(src, comp, &node.component_ref);
  if (!cs) return;
  if (cs->type != "pipeline") {
    diags_.Error(src.Loc(comp), fmt::format("job `{}` has `type: pipeline` but its component is a "
                                            "`{}` component",
                                            node.name, cs->type),
                 fmt::format("set `type: {}` on the job, or point at a pipeline component",
                             cs->type));
    return;
  }
  node.pipeline = ParsePipelineComponent(*cs->src, cs->node);
  if (!node.pipeline) return;
  CheckNodePorts(diags_, node, node.pipeline->inputs, node.pipeline->outputs,
                 fmt::format("pipeline component `{}`", node.pipeline->name), false);
}

}  // namespace weft::spec
