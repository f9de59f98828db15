// Component ports, and the values that pipelines and nodes give to inputs and outputs.
#include <fmt/format.h>

#include "base/fs.h"
#include "spec/checks.h"
#include "spec/loader_internal.h"

namespace weft::spec {
namespace {

constexpr std::string_view kInputModes[] = {"ro_mount", "download", "direct", "eval_mount",
                                            "eval_download", "rw_mount", "mount"};
constexpr std::string_view kOutputModes[] = {"rw_mount", "upload", "direct", "mount"};

template <size_t N>
bool OneOf(std::string_view v, const std::string_view (&set)[N]) {
  for (std::string_view s : set) {
    if (s == v) return true;
  }
  return false;
}

std::optional<PortType> ReadType(Fields& f, const What& what) {
  const yaml::Node* t = f.Get("type");
  if (t == nullptr || t->is_null()) return std::nullopt;
  std::optional<std::string> s = ScalarString(f.source(), t, "`type`");
  if (!s) return std::nullopt;
  std::optional<PortType> pt = ParsePortType(*s);
  if (!pt) {
    f.source().diags.Error(f.source().Loc(t), fmt::format("{} has unknown type `{}`", what.str(), *s),
                           "one of uri_file, uri_folder, mltable, mlflow_model, custom_model, "
                           "triton_model, integer, number, string, boolean");
  }
  return pt;
}


}  // namespace

Text Loader::ParseText(const Source& src, const yaml::Node* n) {
  Text t;
  t.loc = src.Loc(n);
  std::optional<Literal> v = ScalarLiteral(src, n, "this value");
  if (!v) {
    t.valid = false;
    return t;
  }
  t.text = v->kind == LiteralKind::kNull ? "" : v->Render();
  if (!HasExpression(t.text) && t.text.find("$[[") == std::string::npos) return t;
  std::vector<ScanError> errors;
  t.tmpl = Scan(t.text, &errors);
  for (const ScanError& e : errors) {
    diags_.Error(LocInScalar(src, n, e.offset), e.message, e.hint);
  }
  return t;
}

std::vector<InputPort> Loader::ParseInputPorts(const Source& src, const yaml::Node* map) {
  std::vector<InputPort> ports;
  if (map == nullptr || map->is_null()) return ports;
  if (!map->is_mapping()) {
    diags_.Error(src.Loc(map), fmt::format("`inputs` must be a mapping of input names to input "
                                           "definitions, not {}",
                                           Describe(map)));
    return ports;
  }
  for (size_t i = 0; i < map->entry_count(); ++i) {
    const yaml::Node* k = map->key(i);
    const yaml::Node* v = map->value(i);
    InputPort p;
    p.name = k->text;
    p.loc = src.Loc(k);
    if (!CheckPortName(diags_, p.loc, p.name, "input")) continue;
    What what("input `{}`", p.name);
    if (!v->is_mapping()) {
      diags_.Error(src.Loc(v), fmt::format("{} must be a definition such as `{{type: uri_folder}}`, "
                                           "not {}",
                                           what.str(), Describe(v)));
      continue;
    }
    Fields f(src, v, what, p.loc);
    f.Ignore({"description", "display_name"});
    std::optional<PortType> type = ReadType(f, what);
    if (!type && f.Get("type") == nullptr) {
      diags_.Error(p.loc, fmt::format("{} has no `type`", what.str()),
                   "add `type:` (uri_folder, uri_file, integer, number, string, boolean, ...)");
    }
    p.type = type.value_or(PortType::kString);
    p.optional = f.Bool("optional").value_or(false);
    p.min = f.Number("min");
    p.max = f.Number("max");
    p.enum_values = f.StringList("enum");
    if (auto m = f.String("mode")) {
      if (!OneOf(*m, kInputModes)) {
        diags_.Error(src.Loc(f.Get("mode")), fmt::format("{} has unknown mode `{}`", what.str(), *m),
                     "one of ro_mount, download, direct, eval_mount, eval_download");
      }
      p.mode = *m;
    }
    if ((p.min || p.max) && p.type != PortType::kInteger && p.type != PortType::kNumber) {
      diags_.Warning(p.loc, fmt::format("{} has `min`/`max` but is not numeric; they are ignored",
                                        what.str()));
    }
    if (p.min && p.max && *p.min > *p.max) {
      diags_.Error(src.Loc(f.Get("min")), fmt::format("{} has `min` greater than `max`", what.str()));
    }
    if (const yaml::Node* d = f.Get("default"); d != nullptr && !d->is_null()) {
      if (std::optional<Literal> lit = ScalarLiteral(src, d, What("the default of input `{}`", p.name))) {
        p.default_value = lit;
        if (IsPrimitive(p.type)) {
          CheckLiteralForPort(diags_, src.Loc(d), *lit, p, What("the default of input `{}`", p.name));
        }
      }
    }
    if (const yaml::Node* path = f.Get("path")) {
      diags_.Warning(src.Loc(path), fmt::format("{} is a port; a `path` belongs on the job that "
                                                "gives it a value",
                                                what.str()));
    }
    f.Finish();
    ports.push_back(std::move(p));
  }
  return ports;
}

std::vector<OutputPort> Loader::ParseOutputPorts(const Source& src, const yaml::Node* map) {
  std::vector<OutputPort> ports;
  if (map == nullptr || map->is_null()) return ports;
  if (!map->is_mapping()) {
    diags_.Error(src.Loc(map), fmt::format("`outputs` must be a mapping of output names to output "
                                           "definitions, not {}",
                                           Describe(map)));
    return ports;
  }
  for (size_t i = 0; i < map->entry_count(); ++i) {
    OutputPort p;
    p.name = map->key(i)->text;
    p.loc = src.Loc(map->key(i));
    if (!CheckPortName(diags_, p.loc, p.name, "output")) continue;
    const yaml::Node* v = map->value(i);
    What what("output `{}`", p.name);
    if (p.name == "artifacts") {
      diags_.Warning(p.loc, "`artifacts` is the implicit output of every command; declaring it "
                            "hides the implicit one");
    }
    if (!v->is_null()) {
      Fields f(src, v, what, p.loc);
      f.Ignore({"description", "display_name", "is_control", "early_available"});
      if (std::optional<PortType> t = ReadType(f, what)) {
        p.type = *t;
        p.typed = true;
      }
      if (auto m = f.String("mode")) {
        if (!OneOf(*m, kOutputModes)) {
          diags_.Error(src.Loc(f.Get("mode")), fmt::format("{} has unknown mode `{}`", what.str(), *m),
                       "one of rw_mount, upload, direct");
        }
        p.mode = *m;
      }
      f.Finish();
    }
    ports.push_back(std::move(p));
  }
  return ports;
}

std::vector<std::pair<std::string, InputValue>> Loader::ParseInputValues(const Source& src,
                                                                         const yaml::Node* map,
                                                                         bool pipeline_level) {
  std::vector<std::pair<std::string, InputValue>> out;
  if (map == nullptr || map->is_null()) return out;
  if (!map->is_mapping()) {
    diags_.Error(src.Loc(map), fmt::format("`inputs` must be a mapping of input names to values, "
                                           "not {}",
                                           Describe(map)));
    return out;
  }
  out.reserve(map->entry_count());
  for (size_t i = 0; i < map->entry_count(); ++i) {
    const yaml::Node* k = map->key(i);
    if (!k->is_scalar() || k->text.empty()) {
      diags_.Error(src.Loc(k), "an input name must be a plain name");
      continue;
    }
    if (!CheckPortName(diags_, src.Loc(k), k->text, "input")) continue;
    std::optional<InputValue> v = ParseInputValue(src, map->value(i), k->text, pipeline_level);
    if (!v) continue;
    if (map->value(i)->is_null()) v->loc = src.Loc(k);
    out.emplace_back(k->text, std::move(*v));
  }
  return out;
}

std::optional<InputValue> Loader::ParseInputValue(const Source& src, const yaml::Node* n,
                                                  std::string_view name, bool pipeline_level) {
  InputValue v;
  v.loc = src.Loc(n);
  What what("input `{}`", name);
  if (n->is_sequence()) {
    diags_.Error(src.Loc(n), fmt::format("{} must be a value or a mapping, not a list", what.str()),
                 "a list cannot be passed to an input; join it into one string");
    return std::nullopt;
  }
  if (n->is_scalar()) {
    std::optional<Literal> lit = ScalarLiteral(src, n, what);
    if (!lit) return std::nullopt;
    if (lit->kind == LiteralKind::kString && HasExpression(lit->s)) {
      v.kind = InputValue::Kind::kBinding;
      v.path = ParseText(src, n);
      return v;
    }
    v.literal = std::move(*lit);
    return v;
  }
  Fields f(src, n, what, src.Loc(n));
  f.Ignore({"description", "display_name"});
  v.type = ReadType(f, what);
  v.optional = f.Bool("optional").value_or(false);
  if (pipeline_level) {
    f.Ignore({"min", "max", "enum"});
  }
  if (auto m = f.String("mode")) {
    if (!OneOf(*m, kInputModes)) {
      diags_.Error(src.Loc(f.Get("mode")), fmt::format("{} has unknown mode `{}`", what.str(), *m),
                   "one of ro_mount, download, direct, eval_mount, eval_download");
    }
    v.mode = *m;
  }
  v.datastore = f.String("datastore").value_or("");
  const yaml::Node* value = f.Get("value");
  const yaml::Node* def = f.Get("default");
  const yaml::Node* path = f.Get("path");
  if (value == nullptr && def != nullptr) value = def;
  if (value != nullptr) v.loc = src.Loc(value);
  if (path != nullptr && !path->is_null()) {
    v.kind = InputValue::Kind::kData;
    v.path = ParseText(src, path);
    if (v.type && IsPrimitive(*v.type)) {
      diags_.Error(src.Loc(path), fmt::format("{} is `{}` but has a `path`", what.str(),
                                              PortTypeName(*v.type)),
                   "a primitive input takes `value:`; a data input takes `type: uri_folder` (or "
                   "uri_file, mltable) and `path:`");
    }
    if (!v.path.tmpl.refs.empty()) {
      f.Finish();
      return v;
    }
    const std::string& p = v.path.text;
    if (p.rfind("azureml:", 0) == 0 && !IsDatastoreUri(p)) {
      std::optional<AssetRef> asset = ParseAssetRef(p);
      std::optional<RegisteredData> data = asset ? registry_.FindData(*asset) : std::nullopt;
      if (!asset) {
        diags_.Error(src.Loc(path), fmt::format("`{}` is not a valid data reference", p),
                     "write azureml:NAME:VERSION or azureml:NAME@latest");
      } else if (!data) {
        diags_.Error(src.Loc(path), fmt::format("data asset `{}` is not registered in this workspace",
                                                p),
                     fmt::format("register it with `weft data create --name {} --path <path>`, or "
                                 "give a local path",
                                 asset->name));
      } else {
        v.local_path = data->path;
      }
    } else if (!IsUri(p)) {
      v.local_path = LocalPath(src, p, src.Loc(path), What("data path of input `{}`", name), false);
      if (!v.local_path.empty() && v.type == PortType::kUriFile &&
          StatPath(v.local_path) == PathKind::kDirectory) {
        diags_.Warning(src.Loc(path), fmt::format("{} is a uri_file but `{}` is a folder", what.str(), p),
                       "use `type: uri_folder`");
      }
    }
  } else if (value != nullptr) {
    std::optional<Literal> lit = ScalarLiteral(src, value, what);
    if (lit && lit->kind == LiteralKind::kString && HasExpression(lit->s)) {
      v.kind = InputValue::Kind::kBinding;
      v.path = ParseText(src, value);
    } else if (lit) {
      v.literal = std::move(*lit);
    }
    if (v.type && !IsPrimitive(*v.type) && lit && lit->kind != LiteralKind::kNull &&
        v.kind == InputValue::Kind::kLiteral) {
      diags_.Error(src.Loc(value), fmt::format("{} is `{}` data but has a literal value", what.str(),
                                               PortTypeName(*v.type)),
                   "give data inputs a `path:`");
    }
  }
  f.Finish();
  return v;
}

std::vector<std::pair<std::string, OutputValue>> Loader::ParseOutputValues(const Source& src,
                                                                           const yaml::Node* map,
                                                                           bool pipeline_level) {
  std::vector<std::pair<std::string, OutputValue>> out;
  if (map == nullptr || map->is_null()) return out;
  if (!map->is_mapping()) {
    diags_.Error(src.Loc(map), fmt::format("`outputs` must be a mapping of output names to values, "
                                           "not {}",
                                           Describe(map)));
    return out;
  }
  for (size_t i = 0; i < map->entry_count(); ++i) {
    const yaml::Node* k = map->key(i);
    const yaml::Node* n = map->value(i);
    if (!CheckPortName(diags_, src.Loc(k), k->text, "output")) continue;
    What what("output `{}`", k->text);
    OutputValue v;
    v.loc = src.Loc(n->is_null() ? k : n);
    auto check_binding = [&](const Text& t, const yaml::Node* at) {
      bool ok = t.tmpl.IsSingleRef(t.text) &&
                (t.tmpl.refs[0].kind == RefKind::kParentOutputs ||
                 t.tmpl.refs[0].kind == RefKind::kOutputs);
      if (!ok || pipeline_level) {
        diags_.Error(src.Loc(at),
                     fmt::format("{} is bound to `{}`; a job's output can only be bound to "
                                 "`${{{{parent.outputs.NAME}}}}`",
                                 what.str(), t.text),
                     pipeline_level ? "a pipeline's own outputs take `type`, `mode`, `path`"
                                    : "outputs flow downstream through the inputs of later jobs: "
                                      "`${{parent.jobs.STEP.outputs.NAME}}`");
        return false;
      }
      return true;
    };
    if (n->is_scalar() && !n->is_null()) {
      Text t = ParseText(src, n);
      if (check_binding(t, n)) v.binding = std::move(t);
    } else if (n->is_mapping()) {
      Fields f(src, n, what, src.Loc(k));
      f.Ignore({"description", "datastore", "is_control", "early_available"});
      v.type = ReadType(f, what);
      if (v.type && IsPrimitive(*v.type)) {
        diags_.Warning(src.Loc(f.Get("type")), fmt::format("{} is a primitive `{}`; outputs are "
                                                           "data",
                                                           what.str(), PortTypeName(*v.type)));
      }
      if (auto m = f.String("mode")) {
        if (!OneOf(*m, kOutputModes)) {
          diags_.Error(src.Loc(f.Get("mode")), fmt::format("{} has unknown mode `{}`", what.str(), *m),
                       "one of rw_mount, upload, direct");
        }
        v.mode = *m;
      }
      if (const yaml::Node* p = f.Get("path"); p != nullptr && !p->is_null()) {
        Text t = ParseText(src, p);
        bool binding = false;
        for (const Ref& r : t.tmpl.refs) {
          if (r.kind == RefKind::kParentOutputs || r.kind == RefKind::kOutputs) binding = true;
        }
        if (binding) {
          if (check_binding(t, p)) v.binding = std::move(t);
        } else {
          for (const Ref& r : t.tmpl.refs) {
            if (r.kind != RefKind::kName && r.kind != RefKind::kDefaultDatastore &&
                r.kind != RefKind::kOutputName) {
              diags_.Error(t.loc, fmt::format("{} path uses `${{{{{}}}}}`", what.str(), r.path),
                           "an output path may use `${{name}}`, `${{default_datastore}}` and "
                           "`${{output_name}}`");
            }
          }
          v.path = std::move(t);
        }
      }
      v.asset_name = f.String("name").value_or("");
      v.asset_version = f.Version("version").value_or("");
      if (!v.asset_version.empty() && v.asset_name.empty()) {
        diags_.Error(src.Loc(f.Get("version")), fmt::format("{} has a `version` but no `name`",
                                                            what.str()),
                     "registering an output as an asset needs both `name` and `version`");
      }
      f.Finish();
    } else if (!n->is_null()) {
      diags_.Error(src.Loc(n), fmt::format("{} must be a mapping or a binding, not {}", what.str(),
                                           Describe(n)));
      continue;
    }
    out.emplace_back(k->text, std::move(v));
  }
  return out;
}

std::vector<InputPort> Loader::PortsFromValues(
    const std::vector<std::pair<std::string, InputValue>>& values) {
  std::vector<InputPort> ports;
  for (const auto& [name, v] : values) {
    InputPort p;
    p.name = name;
    p.loc = v.loc;
    p.optional = v.optional;
    if (v.type) {
      p.type = *v.type;
    } else if (v.kind == InputValue::Kind::kData || v.kind == InputValue::Kind::kBinding) {
      p.type = PortType::kUriFolder;
    } else {
      switch (v.literal.kind) {
        case LiteralKind::kBool:
          p.type = PortType::kBoolean;
          break;
        case LiteralKind::kInt:
          p.type = PortType::kInteger;
          break;
        case LiteralKind::kFloat:
          p.type = PortType::kNumber;
          break;
        default:
          p.type = PortType::kString;
      }
    }
    // A binding's type is not known until graph resolution: the port takes whatever arrives (and
    // nothing, when the binding names an optional input that has no value).
    p.any_type = v.kind == InputValue::Kind::kBinding && !v.type;
    ports.push_back(std::move(p));
  }
  return ports;
}

std::vector<OutputPort> Loader::PortsFromValues(
    const std::vector<std::pair<std::string, OutputValue>>& values) {
  std::vector<OutputPort> ports;
  for (const auto& [name, v] : values) {
    PortType type = PortType::kUriFolder;
    if (v.type.has_value()) type = *v.type;
    ports.push_back(OutputPort{name, v.loc, type, v.mode, v.type.has_value()});
  }
  return ports;
}

}  // namespace weft::spec
