// Command components, component references, and the checks of a command template.
#include <cmath>

#include <fmt/format.h>

#include "base/fs.h"
#include "spec/loader_internal.h"

namespace weft::spec {

std::optional<Loader::ComponentSource> Loader::ResolveComponent(const Source& src,
                                                                const yaml::Node* ref,
                                                                std::string* ref_text) {
  auto type_of = [](const yaml::Node* def) {
    const yaml::Node* t = def->Find("type");
    return t != nullptr && t->is_scalar() && !t->is_null() ? t->text : std::string("command");
  };
  if (ref->is_mapping()) {
    *ref_text = "(inline)";
    return ComponentSource{&src, ref, type_of(ref), true};
  }
  std::optional<std::string> text = ScalarString(src, ref, "`component`");
  if (!text) return std::nullopt;
  *ref_text = *text;
  auto key = std::make_pair(src.Dir(), *text);
  if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  std::string path;
  if (text->rfind("azureml:", 0) == 0) {
    std::optional<AssetRef> asset = ParseAssetRef(*text);
    if (!asset) {
      diags_.Error(src.Loc(ref), fmt::format("`{}` is not a valid component reference", *text),
                   "write azureml:NAME:VERSION, azureml:NAME@latest or "
                   "azureml://registries/REG/components/NAME/versions/VERSION");
      return std::nullopt;
    }
    std::optional<std::string> found = registry_.FindComponent(*asset);
    if (!found) {
      diags_.Error(src.Loc(ref),
                   fmt::format("component `{}` is not registered in this workspace", *text),
                   "register it with `weft component create -f <component>.yml`, or point "
                   "`component:` at the component's YAML file (`component: ./train.yml`)");
      return std::nullopt;
    }
    path = *found;
  } else {
    std::string_view p = *text;
    if (p.rfind("file:", 0) == 0) p.remove_prefix(5);
    path = ResolvePath(src.Dir(), p);
    if (!Confined(path, *text, src.Loc(ref))) return std::nullopt;
    PathKind kind = StatPath(path);
    if (kind != PathKind::kFile) {
      diags_.Error(src.Loc(ref),
                   fmt::format("component file `{}` {}", *text,
                               kind == PathKind::kMissing ? "does not exist" : "is not a file"),
                   fmt::format("looked for {}", path));
      return std::nullopt;
    }
  }
  const yaml::Document* doc = Open(path, src.Loc(ref));
  if (doc == nullptr) return std::nullopt;
  const yaml::Node* root = doc->root();
  if (root == nullptr || !root->is_mapping()) {
    diags_.Error(doc->Loc(1, 1), "a component file must be a mapping of fields",
                 "it needs at least `name`, `command` and `environment`");
    return std::nullopt;
  }
  ComponentSource found{&SourceFor(doc), root, type_of(root), false};
  resolved_.emplace(std::move(key), found);
  return found;
}

std::shared_ptr<const CommandComponent> Loader::CommandComponentFrom(const ComponentSource& cs) {
  return ParseCommandComponent(*cs.src, cs.node);
}

void Loader::ParseComponentBase(Fields& f, ComponentBase& c, bool name_required) {
  const Source& src = f.source();
  c.file = src.doc.file();
  c.name = f.String("name", name_required).value_or("");
  c.version = f.Version("version").value_or("");
  c.display_name = f.String("display_name").value_or("");
  c.description = f.String("description").value_or("");
  c.is_deterministic = f.Bool("is_deterministic").value_or(true);
  c.inputs = ParseInputPorts(src, f.Get("inputs"));
  c.outputs = ParseOutputPorts(src, f.Get("outputs"));
}

std::shared_ptr<const CommandComponent> Loader::ParseCommandComponent(const Source& src,
                                                                      const yaml::Node* root) {
  if (auto cached = Cached<CommandComponent>(root)) return cached;
  auto c = std::make_shared<CommandComponent>();
  c->loc = src.Loc(root);
  bool in_own_file = root == src.doc.root();
  Fields f(src, root, "command component", src.Loc(root));
  f.Ignore({"$schema", "tags", "properties", "id", "creation_context", "is_anonymous"});
  if (auto t = f.String("type"); t && *t != "command") {
    diags_.Error(src.Loc(f.Get("type")), fmt::format("expected a command component, found `type: {}`",
                                                     *t));
  }
  ParseComponentBase(f, *c, in_own_file);
  if (const yaml::Node* code = f.Get("code")) {
    if (auto s = ScalarString(src, code, "`code`")) {
      c->code_loc = src.Loc(code);
      if (s->rfind("azureml:", 0) == 0 || s->find("://") != std::string::npos) {
        diags_.Error(src.Loc(code), fmt::format("remote code `{}` cannot be used locally", *s),
                     "point `code:` at a local folder");
      } else {
        c->code = LocalPath(src, *s, src.Loc(code), "code folder", false);
      }
    }
  }
  for (const std::string& inc : f.StringList("additional_includes")) {
    std::string p = LocalPath(src, inc, src.Loc(f.Get("additional_includes")),
                              "additional include", false);
    if (!p.empty()) c->additional_includes.push_back(p);
  }
  if (const yaml::Node* env = f.Get("environment", true)) c->environment = ParseEnvironment(src, env);
  if (const yaml::Node* cmd = f.Get("command", true)) {
    c->command = ParseText(src, cmd);
    if (c->command.valid && c->command.empty()) {
      diags_.Error(src.Loc(cmd), "the command is empty");
    }
  }
  if (const yaml::Node* r = f.Get("resources")) c->resources = ParseResources(src, r);
  if (const yaml::Node* d = f.Get("distribution")) c->distribution = ParseDistribution(src, d);
  f.Finish();
  CheckCommandTemplate(src, c->command, c->inputs, c->outputs,
                       c->name.empty() ? What("the command") : What("the command of `{}`", c->name));
  Remember<CommandComponent>(root, std::shared_ptr<const CommandComponent>(c));
  return c;
}

void Loader::CheckCommandTemplate(const Source& src, const Text& text,
                                  const std::vector<InputPort>& inputs,
                                  const std::vector<OutputPort>& outputs, const What& what) {
  if (text.empty()) return;
  auto names = [](const auto& ports) {
    std::vector<std::string> out;
    for (const auto& p : ports) out.push_back(p.name);
    return out;
  };
  NameIndex<InputPort> in_index(inputs);
  NameIndex<OutputPort> out_index(outputs);
  SourceLoc at = text.loc;
  for (const Ref& r : text.tmpl.refs) {
    std::string shown = text.text.substr(r.begin, r.end - r.begin);
    if (r.kind == RefKind::kInputs) {
      const InputPort* port = in_index.Find(r.port);
      if (port == nullptr) {
        std::string near = Closest(r.port, names(inputs));
        diags_.Error(at, fmt::format("{} uses `{}`, but there is no input `{}`", what.str(), shown, r.port),
                     near.empty() ? "declare it under `inputs:`"
                                  : fmt::format("did you mean `{}`?", near));
        continue;
      }
      bool wrapped = false;
      for (const OptionalSegment& seg : text.tmpl.optionals) {
        wrapped |= r.begin >= seg.begin && r.end <= seg.end;
      }
      if (port->optional && !port->any_type && !port->default_value && !wrapped) {
        diags_.Warning(at, fmt::format("{} uses optional input `{}` outside `$[[...]]`", what.str(),
                                       r.port),
                       fmt::format("when it has no value the command breaks; write "
                                   "`$[[--{0} {1}]]`",
                                   r.port, shown));
      }
    } else if (r.kind == RefKind::kOutputs) {
      if (out_index.Find(r.port) == nullptr) {
        std::string near = Closest(r.port, names(outputs));
        diags_.Error(at, fmt::format("{} uses `{}`, but there is no output `{}`", what.str(), shown,
                                     r.port),
                     near.empty() ? "declare it under `outputs:`"
                                  : fmt::format("did you mean `{}`?", near));
      }
    } else if (r.kind != RefKind::kSearchSpace) {
      diags_.Error(at, fmt::format("{} uses `{}`, which a command cannot see", what.str(), shown),
                   "a command sees only its own `${{inputs.NAME}}` and `${{outputs.NAME}}`; bind "
                   "the value to an input of the job instead");
    }
  }
  for (const OptionalSegment& seg : text.tmpl.optionals) {
    bool has_ref = false;
    for (const Ref& r : text.tmpl.refs) has_ref |= r.begin >= seg.begin && r.end <= seg.end;
    if (!has_ref) {
      diags_.Warning(at, fmt::format("{} has a `$[[...]]` segment that mentions no input", what.str()),
                     "`$[[...]]` keeps or drops its text depending on an optional input inside it");
    }
  }
}

void CheckLiteralForPort(Diagnostics& diags, const SourceLoc& at, const Literal& value,
                         const InputPort& port, const What& what) {
  std::string shown = value.Render();
  switch (port.type) {
    case PortType::kInteger: {
      std::optional<int64_t> i = AsInteger(value);
      if (!i && value.kind == LiteralKind::kInt) {
        diags.Error(at, fmt::format("{} is an integer, but {} is beyond the 64-bit range", what.str(),
                                    shown));
        return;
      }
      if (!i || value.kind == LiteralKind::kTimestamp) {
        diags.Error(at, fmt::format("{} is an integer, but `{}` is not a number", what.str(), shown),
                    "give a whole number such as 10");
        return;
      }
      if (value.kind == LiteralKind::kFloat && static_cast<double>(*i) != value.f) {
        diags.Warning(at, fmt::format("{} is an integer; `{}` is read as {}", what.str(), shown, *i));
      } else if (value.kind != LiteralKind::kInt) {
        diags.Warning(at, fmt::format("{} is an integer but is given {} `{}`", what.str(),
                                      value.KindName(), shown),
                      "Azure ML accepts it; write it as a plain whole number");
      }
      break;
    }
    case PortType::kNumber: {
      std::optional<double> d = AsNumber(value);
      if (!d || value.kind == LiteralKind::kTimestamp) {
        diags.Error(at, fmt::format("{} is a number, but `{}` is not", what.str(), shown),
                    "give a number such as 0.01");
        return;
      }
      if (value.kind == LiteralKind::kString) {
        diags.Warning(at, fmt::format("{}: `{}` is a string in YAML 1.1, not a number", what.str(), shown),
                      fmt::format("the command gets `{}` and Azure ML reads it as {}; write it with "
                                  "a dot and a signed exponent (1.0e-3) to make it a number",
                                  shown, PythonFloatRepr(*d)));
      }
      break;
    }
    case PortType::kBoolean: {
      std::string lower = shown;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (value.kind != LiteralKind::kBool) {
        diags.Warning(at, fmt::format("{} is a boolean but is given {} `{}`", what.str(), value.KindName(),
                                      shown),
                      fmt::format("Azure ML reads it as {}; write true or false",
                                  lower == "true" ? "True" : "False"));
      }
      break;
    }
    case PortType::kString:
      if (value.kind == LiteralKind::kBool) {
        diags.Warning(at, fmt::format("{} is a string, but this value is the YAML 1.1 boolean {}",
                                      what.str(), shown),
                      fmt::format("the command gets `{}`; quote the value to pass it as written",
                                  shown));
      }
      break;
    default:
      return;
  }
  auto num = [](double d) {
    return std::floor(d) == d && std::fabs(d) < 1e15 ? fmt::format("{}", static_cast<int64_t>(d))
                                                     : PythonFloatRepr(d);
  };
  if (port.min || port.max) {
    std::optional<double> d = AsNumber(value);
    if (d && port.min && *d < *port.min) {
      diags.Error(at, fmt::format("{} is {}, below its minimum {}", what.str(), shown,
                                  num(*port.min)));
    }
    if (d && port.max && *d > *port.max) {
      diags.Error(at, fmt::format("{} is {}, above its maximum {}", what.str(), shown,
                                  num(*port.max)));
    }
  }
  if (!port.enum_values.empty()) {
    bool ok = false;
    for (const std::string& e : port.enum_values) ok |= e == shown;
    if (!ok) {
      std::string list;
      for (const std::string& e : port.enum_values) list += (list.empty() ? "" : ", ") + e;
      diags.Error(at, fmt::format("{} is `{}`, which is not one of its allowed values", what.str(), shown),
                  fmt::format("allowed: {}", list));
    }
  }
}

}  // namespace weft::spec
