// Environments (references, inline definitions, environment and conda files) and run settings
// (resources, distribution).
#include <fmt/format.h>

#include "base/fs.h"
#include "spec/loader_internal.h"

namespace weft::spec {

Environment Loader::ParseEnvironment(const Source& src, const yaml::Node* n) {
  Environment env;
  env.loc = src.Loc(n);
  if (n->is_null()) return env;
  if (n->is_scalar()) {
    std::optional<std::string> s = ScalarString(src, n, "`environment`");
    if (!s) return env;
    bool is_file = s->rfind("file:", 0) == 0 || s->ends_with(".yml") || s->ends_with(".yaml");
    if (s->rfind("azureml:", 0) == 0) {
      env.kind = Environment::Kind::kReference;
      env.reference = *s;
      std::optional<AssetRef> ref = ParseAssetRef(*s);
      if (!ref) {
        diags_.Warning(src.Loc(n), fmt::format("`{}` is not a well-formed environment reference; "
                                               "the default environment is used",
                                               *s),
                       "write azureml:NAME:VERSION, azureml:NAME@latest or "
                       "azureml://registries/REG/environments/NAME/labels/latest");
      } else if (auto known = referenced_.find(*s); known != referenced_.end() && known->second) {
        return *known->second;  // published files repeat one reference in every inline job
      } else if (std::optional<std::string> file =
                     known == referenced_.end() ? registry_.FindEnvironment(*ref) : std::nullopt) {
        ReadEnvironmentFile(src, *file, src.Loc(n), env);
        env.kind = Environment::Kind::kReference;
        referenced_[*s] = env;
      } else if (referenced_.emplace(*s, std::nullopt).second) {
        diags_.Warning(src.Loc(n),
                       fmt::format("environment `{}` is not registered in this workspace; steps "
                                   "that use it run in the default environment",
                                   *s),
                       "register it with `weft environment create -f env.yml`, or map it in "
                       ".weft/config.yaml");
      }
      return env;
    }
    if (is_file) {
      std::string path = LocalPath(src, *s, src.Loc(n), "environment file", false);
      if (!path.empty()) ReadEnvironmentFile(src, path, src.Loc(n), env);
      return env;
    }
    diags_.Error(src.Loc(n), fmt::format("`environment: {}` is neither a reference nor a file", *s),
                 "write azureml:NAME:VERSION, a path to an environment YAML file, or an inline "
                 "environment with `image:`");
    return env;
  }
  env.kind = Environment::Kind::kInline;
  Fields f(src, n, "the environment", src.Loc(n));
  f.Ignore({"$schema", "description", "tags", "properties", "inference_config", "id",
            "creation_context", "datastore", "intellectual_property"});
  env.name = f.String("name").value_or("");
  env.version = f.Version("version").value_or("");
  env.image = f.String("image").value_or("");
  env.os_type = f.String("os_type").value_or("");
  if (!env.os_type.empty() && env.os_type != "linux" && env.os_type != "windows") {
    diags_.Error(src.Loc(f.Get("os_type")), fmt::format("unknown os_type `{}`", env.os_type),
                 "one of linux, windows");
  }
  if (const yaml::Node* conda = f.Get("conda_file"); conda != nullptr && !conda->is_null()) {
    if (conda->is_mapping()) {
      env.conda_inline = true;
      ReadCondaFile(src, conda, env);
    } else if (auto path = ScalarString(src, conda, "`conda_file`")) {
      env.conda_file = LocalPath(src, *path, src.Loc(conda), "conda file", false);
      if (!env.conda_file.empty()) {
        if (const yaml::Document* doc = Open(env.conda_file, src.Loc(conda))) {
          if (doc->root() != nullptr) ReadCondaFile(SourceFor(doc), doc->root(), env);
        }
      }
    }
  }
  if (const yaml::Node* build = f.Get("build")) {
    Fields bf(src, build, "`build`", src.Loc(build));
    if (auto p = bf.String("path", true)) {
      if (p->find("://") == std::string::npos) {
        env.build_path = LocalPath(src, *p, src.Loc(bf.Get("path")), "build context", true);
      }
    }
    env.dockerfile_path = bf.String("dockerfile_path").value_or("Dockerfile");
    bf.Finish();
  }
  if (env.image.empty() && f.Get("build") == nullptr) {
    diags_.Error(src.Loc(n), "an inline environment needs `image` or `build`",
                 "for example `image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04` with a "
                 "`conda_file`");
  }
  f.Finish();
  return env;
}

void Loader::ReadEnvironmentFile(const Source& src, const std::string& path, const SourceLoc& at,
                                 Environment& env) {
  const yaml::Document* doc = Open(path, at);
  if (doc == nullptr || doc->root() == nullptr) return;
  const Source& esrc = SourceFor(doc);
  if (!doc->root()->is_mapping()) {
    diags_.Error(esrc.Loc(doc->root()), "an environment file must be a mapping");
    return;
  }
  env = ParseEnvironment(esrc, doc->root());
}

void Loader::ReadCondaFile(const Source& src, const yaml::Node* root, Environment& env) {
  if (!root->is_mapping()) {
    diags_.Error(src.Loc(root), "a conda file must be a mapping with `dependencies:`");
    return;
  }
  const yaml::Node* deps = root->Find("dependencies");
  if (deps == nullptr || deps->is_null()) return;
  if (!deps->is_sequence()) {
    diags_.Error(src.Loc(deps), "`dependencies` of a conda file must be a list");
    return;
  }
  auto add = [&](const yaml::Node* item) {
    if (auto s = ScalarString(src, item, "a conda dependency")) {
      env.packages.push_back(*s);
      env.package_locs.push_back(src.Loc(item));
    }
  };
  for (const yaml::Node* item : deps->children) {
    if (item->is_scalar()) {
      add(item);
      continue;
    }
    const yaml::Node* pip = item->is_mapping() ? item->Find("pip") : nullptr;
    if (pip == nullptr || !pip->is_sequence()) {
      diags_.Error(src.Loc(item), "a conda dependency is a package name or `pip: [ ... ]`");
      continue;
    }
    for (const yaml::Node* p : pip->children) add(p);
  }
}

Resources Loader::ParseResources(const Source& src, const yaml::Node* n) {
  Resources r;
  r.loc = src.Loc(n);
  if (n->is_null()) return r;
  Fields f(src, n, "`resources`", src.Loc(n));
  f.Ignore({"locations", "max_instance_count"});
  r.instance_count = f.Int("instance_count", 1);
  r.instance_type = f.String("instance_type").value_or("");
  r.shm_size = f.String("shm_size").value_or("");
  if (const yaml::Node* d = f.Get("docker_args"); d != nullptr && !d->is_null()) {
    if (d->is_sequence()) {
      for (const std::string& a : f.StringList("docker_args")) r.docker_args += a + " ";
    } else if (auto s = ScalarString(src, d, "`docker_args`")) {
      r.docker_args = *s;
    }
  }
  if (const yaml::Node* p = f.Get("properties"); p != nullptr && !p->is_null()) {
    if (!p->is_mapping()) {
      diags_.Error(src.Loc(p), "`resources.properties` must be a mapping");
    } else {
      for (size_t i = 0; i < p->entry_count(); ++i) {
        const yaml::Node* v = p->value(i);
        std::string err;
        std::optional<Literal> lit = v->is_scalar() ? ScalarValue(*v, &err) : std::nullopt;
        r.properties.emplace_back(p->key(i)->text, lit ? lit->Render() : "");
      }
    }
  }
  f.Finish();
  return r;
}

Distribution Loader::ParseDistribution(const Source& src, const yaml::Node* n) {
  Distribution d;
  d.loc = src.Loc(n);
  if (n->is_null()) return d;
  Fields f(src, n, "`distribution`", src.Loc(n));
  d.type = f.String("type", true).value_or("");
  if (d.type == "pytorch" || d.type == "mpi") {
    d.process_count_per_instance = f.Int("process_count_per_instance", 1);
  } else if (d.type == "tensorflow") {
    d.worker_count = f.Int("worker_count", 1);
    d.parameter_server_count = f.Int("parameter_server_count", 0);
  } else if (d.type == "ray") {
    f.Ignore({"port", "address", "include_dashboard", "dashboard_port", "head_node_additional_args",
              "worker_node_additional_args"});
    diags_.Warning(src.Loc(f.Get("type")), "ray distribution runs as a single process locally");
  } else if (!d.type.empty()) {
    diags_.Error(src.Loc(f.Get("type")), fmt::format("unknown distribution type `{}`", d.type),
                 "one of pytorch, tensorflow, mpi");
  }
  f.Finish();
  return d;
}

}  // namespace weft::spec
