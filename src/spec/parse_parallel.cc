// Parallel components and nodes: an entry script run over mini-batches of one input.
#include <regex>

#include <fmt/format.h>

#include "base/fs.h"
#include "spec/loader_internal.h"

namespace weft::spec {
namespace {

bool ValidMiniBatchSize(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  while (i < s.size() && s[i] == ' ') ++i;
  std::string unit(s.substr(i));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return unit.empty() || unit == "kb" || unit == "mb" || unit == "gb";
}

// Whether a Python source defines `name` at module level: `def name(`, `name = `, or
// `from MODULE import ... name`. (Read as text: weft does not run the script to check it.)
bool DefinesFunction(const std::string& source, const std::string& name) {
  std::regex def("^(async[ \t]+)?def[ \t]+" + name + "[ \t]*\\(");
  std::regex assign("^" + name + "[ \t]*=[^=]");
  std::regex import("^from[ \t]+[^ \t]+[ \t]+import[^#\n]*\\b" + name + "\\b");
  size_t at = 0;
  while (at <= source.size()) {
    size_t end = source.find('\n', at);
    std::string line = source.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (std::regex_search(line, def) || std::regex_search(line, assign) ||
        std::regex_search(line, import)) {
      return true;
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

}  // namespace

std::shared_ptr<const ParallelComponent> Loader::ParseParallelComponent(const Source& src,
                                                                        const yaml::Node* root) {
  if (auto cached = Cached<ParallelComponent>(root)) return cached;
  auto pc = std::make_shared<ParallelComponent>();
  pc->loc = src.Loc(root);
  Fields f(src, root, "parallel component", src.Loc(root));
  f.Ignore({"$schema", "tags", "properties", "id", "creation_context", "type", "compute",
            "experiment_name"});
  ParseComponentBase(f, *pc, root == src.doc.root());
  ParseParallelFields(f, *pc, true);
  f.Finish();
  CheckParallel(src, *pc);
  Remember<ParallelComponent>(root, std::shared_ptr<const ParallelComponent>(pc));
  return pc;
}

void Loader::ParseParallelFields(Fields& f, ParallelComponent& pc, bool own_run_settings) {
  const Source& src = f.source();
  if (!own_run_settings) pc.is_deterministic = f.Bool("is_deterministic").value_or(true);
  if (const yaml::Node* d = f.Get("input_data", true)) pc.input_data = ParseText(src, d);
  if (const yaml::Node* m = f.Get("mini_batch_size"); m != nullptr && !m->is_null()) {
    if (std::optional<Literal> lit = ScalarLiteral(src, m, "`mini_batch_size`")) {
      pc.mini_batch_size = lit->Render();
      if (!ValidMiniBatchSize(pc.mini_batch_size)) {
        diags_.Error(src.Loc(m), fmt::format("`mini_batch_size` `{}` is neither a file count nor a "
                                             "size",
                                             pc.mini_batch_size),
                     "write a count such as \"10\" or a size such as \"100kb\", \"1mb\"");
      }
    }
  }
  pc.partition_keys = f.StringList("partition_keys");
  if (!pc.partition_keys.empty() && !pc.mini_batch_size.empty()) {
    diags_.Warning(src.Loc(f.Get("mini_batch_size")),
                   "`mini_batch_size` is ignored when `partition_keys` is set");
  }
  pc.max_concurrency_per_instance = f.Int("max_concurrency_per_instance", 1);
  pc.mini_batch_error_threshold = f.Int("mini_batch_error_threshold", -1);
  pc.error_threshold = f.Int("error_threshold", -1);
  if (auto level = f.String("logging_level")) {
    pc.logging_level = *level;
    if (*level != "DEBUG" && *level != "INFO" && *level != "WARNING" && *level != "ERROR" &&
        *level != "CRITICAL") {
      diags_.Error(src.Loc(f.Get("logging_level")), fmt::format("unknown logging_level `{}`", *level),
                   "one of DEBUG, INFO, WARNING, ERROR, CRITICAL");
    }
  }
  if (const yaml::Node* r = f.Get("retry_settings")) {
    Fields rf(src, r, "`retry_settings`", src.Loc(r));
    pc.max_retries = rf.Int("max_retries", 0);
    pc.retry_timeout = rf.Int("timeout", 1);
    rf.Finish();
  }
  if (own_run_settings) {
    pc.environment_variables = f.StringMap("environment_variables");
    if (const yaml::Node* r = f.Get("resources")) pc.resources = ParseResources(src, r);
  }
  const yaml::Node* task = f.Get("task", true);
  if (task == nullptr) return;
  ParallelTask& t = pc.task;
  t.loc = src.Loc(task);
  Fields tf(src, task, "`task`", src.Loc(task));
  t.type = tf.String("type").value_or("run_function");
  if (t.type != "run_function") {
    diags_.Error(src.Loc(tf.Get("type")), fmt::format("task type `{}` is not supported", t.type),
                 "a parallel task is `type: run_function`");
  }
  if (auto code = tf.String("code", true)) {
    t.code = LocalPath(src, *code, src.Loc(tf.Get("code")), "code folder", true);
  }
  if (auto entry = tf.String("entry_script", true)) {
    t.entry_script = *entry;
    std::string path = t.code + "/" + *entry;
    if (!t.code.empty() && !Confined(path, *entry, src.Loc(tf.Get("entry_script")))) {
      // (said where it is named)
    } else if (!t.code.empty() && StatPath(path) != PathKind::kFile) {
      diags_.Error(src.Loc(tf.Get("entry_script")),
                   fmt::format("entry script `{}` is not in the code folder", *entry),
                   fmt::format("looked for {}/{}", t.code, *entry));
    } else if (Result<std::string> text = ReadFileCapped(path, 16 << 20); !t.code.empty() && text.ok()) {
      for (const char* fn : {"init", "run"}) {
        if (!DefinesFunction(*text, fn)) {
          diags_.Error(src.Loc(tf.Get("entry_script")),
                       fmt::format("entry script `{}` defines no {}() function", *entry, fn),
                       "a parallel task's entry script defines init() and run(mini_batch)");
        }
      }
    }
  }
  if (const yaml::Node* a = tf.Get("program_arguments")) t.program_arguments = ParseText(src, a);
  if (const yaml::Node* a = tf.Get("append_row_to")) t.append_row_to = ParseText(src, a);
  t.model = tf.String("model").value_or("");
  if (const yaml::Node* e = tf.Get("environment", true)) t.environment = ParseEnvironment(src, e);
  tf.Finish();
}

void Loader::CheckParallel(const Source& src, const ParallelComponent& pc) {
  const Text& d = pc.input_data;
  if (!d.empty()) {
    bool ok = d.tmpl.IsSingleRef(d.text) && d.tmpl.refs[0].kind == RefKind::kInputs;
    const InputPort* port = ok ? pc.FindInput(d.tmpl.refs[0].port) : nullptr;
    if (!ok) {
      diags_.Error(d.loc, fmt::format("`input_data` is `{}`; it must name one input", d.text),
                   "write `input_data: ${{inputs.NAME}}`");
    } else if (port == nullptr) {
      diags_.Error(d.loc, fmt::format("`input_data` names `{}`, which is not an input",
                                      d.tmpl.refs[0].port));
    } else if (!port->any_type && IsPrimitive(port->type)) {
      diags_.Error(d.loc, fmt::format("`input_data` names `{}`, which is `{}`, not data",
                                      port->name, PortTypeName(port->type)),
                   "the input to split must be uri_folder, uri_file or mltable");
    }
  }
  CheckCommandTemplate(src, pc.task.program_arguments, pc.inputs, pc.outputs,
                       "`program_arguments`");
  const Text& a = pc.task.append_row_to;
  if (!a.empty()) {
    bool ok = a.tmpl.IsSingleRef(a.text) && a.tmpl.refs[0].kind == RefKind::kOutputs &&
              pc.FindOutput(a.tmpl.refs[0].port) != nullptr;
    if (!ok) {
      diags_.Error(a.loc, fmt::format("`append_row_to` is `{}`; it must name one output", a.text),
                   "write `append_row_to: ${{outputs.NAME}}` with NAME under `outputs:`");
    }
  }
}

void Loader::ParseParallelNode(Fields& f, Node& node) {
  const Source& src = f.source();
  ParseNodeCommon(f, node);
  if (const yaml::Node* comp = f.Get("component")) {
    std::optional<ComponentSource> cs = ResolveComponent(src, comp, &node.component_ref);
    if (!cs) return;
    if (cs->type != "parallel") {
      diags_.Error(src.Loc(comp), fmt::format("job `{}` has `type: parallel` but its component is a "
                                              "`{}` component",
                                              node.name, cs->type));
      return;
    }
    node.parallel = ParseParallelComponent(*cs->src, cs->node);
    CheckNodePorts(diags_, node, node.parallel->inputs, node.parallel->outputs,
                   fmt::format("parallel component `{}`", node.parallel->name), true);
    return;
  }
  auto pc = std::make_shared<ParallelComponent>();
  pc->file = src.doc.file();
  pc->loc = node.loc;
  pc->name = node.name;
  pc->inputs = PortsFromValues(node.inputs);
  pc->outputs = PortsFromValues(node.outputs);
  pc->resources = node.resources;
  pc->environment_variables = node.environment_variables;
  ParseParallelFields(f, *pc, false);
  CheckParallel(src, *pc);
  node.parallel = std::move(pc);
}

}  // namespace weft::spec
