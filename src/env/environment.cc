#include "env/environment.h"

#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/command.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/sha256.h"
#include "env/mlflow_shim.h"
#include "exec/podman.h"
#include "store/store.h"

extern char** environ;

namespace weft::env {
namespace {

// Runs `argv`, returns its standard output (empty on failure).
std::string Capture(const std::vector<std::string>& argv) {
  Result<CommandOutput> r = RunCommand(argv);
  return r.ok() && r->exit_code == 0 ? r->out : std::string();
}

// Prints what the interpreter provides: {"implementation", "python", "abi", "venv", "prefix",
// "distributions": {normalized name: version}, "paths": [the folders it looks for packages in]}.
// Where two folders hold a distribution of the same name, the first on sys.path is the one imports
// see, so it is the one kept.
constexpr const char* kProbe = R"py(
import json, platform, re, site, sys, sysconfig
from importlib import metadata
paths = [p for p in sys.path if p.startswith("/")]
if site.ENABLE_USER_SITE is not False:
    paths.append(site.getusersitepackages())
dists = {}
for d in metadata.distributions():
    name = d.metadata["Name"]
    if name:
        dists.setdefault(re.sub(r"[-_.]+", "-", name).lower(), d.version or "")
print(json.dumps({"implementation": sys.implementation.name, "python": platform.python_version(),
                  "abi": sysconfig.get_config_var("SOABI") or "", "venv": sys.prefix != sys.base_prefix,
                  "prefix": sys.prefix, "distributions": dists, "paths": paths}))
)py";

std::optional<Interpreter> ReadProbe(const Json& j) {
  auto str = [&](const char* key) -> std::optional<std::string> {
    const Json* v = j.Find(key);
    return v && v->String() ? std::optional<std::string>(*v->String()) : std::nullopt;
  };
  const Json* dists = j.Find("distributions");
  const Json* paths = j.Find("paths");
  const Json* venv = j.Find("venv");
  Interpreter p;
  std::optional<std::string> impl = str("implementation"), python = str("python"),
                             abi = str("abi"), prefix = str("prefix");
  if (!impl || !python || !abi || !prefix || !dists || !dists->Members() || !paths ||
      !paths->Items() || !venv || !venv->Bool()) {
    return std::nullopt;
  }
  p.implementation = *impl;
  p.python = *python;
  p.abi = *abi;
  p.prefix = *prefix;
  p.venv = *venv->Bool();
  for (const auto& [name, version] : *dists->Members()) {
    if (!version.String()) return std::nullopt;
    p.distributions[name] = *version.String();
  }
  for (const Json& path : *paths->Items()) {
    if (!path.String()) return std::nullopt;
    p.paths.push_back(*path.String());
  }
  return p;
}

// What stat says about a path ("missing" when absent), and its modification time.
std::pair<std::string, int64_t> Stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {"missing", 0};
  int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  int64_t ctime = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  return {fmt::format("{}:{}:{}:{}", st.st_ino, st.st_size, mtime, ctime), mtime};
}

// Probing an interpreter costs a Python start (tens of milliseconds) per environment and run, so
// answers are kept in the workspace, with the stamps of what they depend on: the interpreter and
// every folder on its package path. Installing, removing or upgrading a package renames entries
// in such a folder (a distribution's metadata folder carries its version), which changes the
// folder's stamp; a changed or missing stamp means probing again.
class ProbeCache {
 public:
  ProbeCache(const std::string& dir, const std::string& key)
      : path_(fmt::format("{}/probe-{}.json", dir, ToHex(Sha256Of(key)).substr(0, 16))), key_(key) {}

  std::optional<Interpreter> Lookup(const std::string& interpreter) const {
    Result<std::string> text = ReadFileCapped(path_, 1 << 20);
    if (!text.ok()) return std::nullopt;
    std::optional<Json> j = Json::Parse(*text);
    if (!j) return std::nullopt;
    const Json* key = j->Find("key");
    const Json* stamp = j->Find("interpreter");
    const Json* stamps = j->Find("stamps");
    const Json* probe = j->Find("probe");
    if (!key || !key->String() || *key->String() != key_ || !stamp || !stamp->String() ||
        *stamp->String() != Stamp(interpreter).first || !stamps || !stamps->Members() || !probe) {
      return std::nullopt;
    }
    for (const auto& [path, st] : *stamps->Members()) {
      if (!st.String() || *st.String() != Stamp(path).first) return std::nullopt;
    }
    return ReadProbe(*probe);
  }

  // `started_ns`: when the probe started. A folder modified since (or within a clock tick before)
  // may have changed while the probe read it: such an answer is not kept.
  void Store(const std::string& interpreter, const Json& probe, const Interpreter& read,
             int64_t started_ns) const {
    Json stamps = Json::MakeObject();
    for (const std::string& p : read.paths) {
      auto [stamp, mtime] = Stamp(p);
      if (mtime >= started_ns - 10'000'000) return;
      stamps.Set(p, stamp);
    }
    Json j = Json::MakeObject();
    j.Set("key", key_).Set("interpreter", Stamp(interpreter).first).Set("stamps", stamps);
    j.Set("probe", probe);
    // A cache: failing to keep it costs only time.
    if (MakeDirs(DirName(path_)).ok()) WriteFileAtomic(path_, j.Dump(-1)).ok();
  }

 private:
  std::string path_;
  std::string key_;
};

// The Debian package names apt knows, of `candidates` (asked only when a package is missing).
std::optional<std::string> KnownToApt(const std::vector<std::string>& candidates) {
  if (::access("/usr/bin/apt-cache", X_OK) != 0) return std::nullopt;
  for (const std::string& c : candidates) {
    if (!Capture({"/usr/bin/apt-cache", "show", "--no-all-versions", c}).empty()) return c;
  }
  return std::nullopt;
}

// One line per item the identity covers: the interpreter, then every distribution (or, declared
// only, the declared ones), sorted; the shims when they stand in for mlflow and mltable.
std::string Describe(const Interpreter& probe, const std::vector<std::string>& declared, bool all,
                     const std::string& shim, const std::string& runtime) {
  std::string out = fmt::format("{} {} {}\n", probe.implementation, probe.python, probe.abi);
  for (const auto& [name, version] : probe.distributions) {
    if (all || std::find(declared.begin(), declared.end(), name) != declared.end()) {
      out += fmt::format("{}=={}\n", name, version);
    }
  }
  if (!shim.empty()) out += fmt::format("weft-mlflow-shim=={}\n", shim);
  if (!runtime.empty()) out += fmt::format("weft-mltable=={}\n", runtime);
  return out;
}

}  // namespace

std::string Environments::NormalizeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (out.empty() || out.back() != '-') out += '-';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::vector<std::string> Environments::DebianCandidates(const std::string& distribution) {
  std::string d = NormalizeName(distribution);
  // Debian names a module's package after what is imported, which differs from the distribution
  // for these well-known ones.
  static const std::map<std::string, std::string> kImportName = {
      {"scikit-learn", "sklearn"},     {"scikit-image", "skimage"},
      {"pyyaml", "yaml"},              {"pillow", "pil"},
      {"opencv-python", "opencv"},     {"opencv-python-headless", "opencv"},
      {"beautifulsoup4", "bs4"},       {"python-dateutil", "dateutil"},
      {"msgpack-python", "msgpack"},   {"protobuf", "protobuf"},
      {"attrs", "attr"},               {"pyjwt", "jwt"},
  };
  std::vector<std::string> out;
  if (auto it = kImportName.find(d); it != kImportName.end()) out.push_back("python3-" + it->second);
  out.push_back("python3-" + d);
  if (d.rfind("python-", 0) == 0) out.push_back("python3-" + d.substr(7));
  if (d.rfind("py", 0) == 0 && d.size() > 2 && d.rfind("python", 0) != 0) {
    out.push_back("python3-" + d.substr(2));
  }
  return out;
}

std::pair<std::string, std::string> Environments::ParseRequirement(const std::string& req) {
  std::string name;
  size_t i = 0;
  while (i < req.size() && (std::isalnum(static_cast<unsigned char>(req[i])) || req[i] == '-' ||
                            req[i] == '_' || req[i] == '.')) {
    name += req[i++];
  }
  std::string lower = NormalizeName(name);
  for (const char* skip : {"python", "pip", "setuptools", "wheel", "conda"}) {
    if (lower == skip) return {"", ""};
  }
  std::string version;
  size_t eq = req.find("==", i);
  if (eq != std::string::npos) {
    version = req.substr(eq + 2);
  } else if (i < req.size() && req[i] == '=') {
    version = req.substr(i + 1);  // conda's name=version
  }
  while (!version.empty() && (version.back() == ' ' || version.back() == '*')) version.pop_back();
  return {name, version};
}

std::vector<std::string> Environments::DiffDescriptions(const std::string& before,
                                                       const std::string& now) {
  auto parse = [](const std::string& text) {
    std::pair<std::string, std::map<std::string, std::string>> out;
    std::istringstream in(text);
    std::getline(in, out.first);
    for (std::string line; std::getline(in, line);) {
      size_t eq = line.find("==");
      if (eq != std::string::npos) out.second[line.substr(0, eq)] = line.substr(eq + 2);
    }
    return out;
  };
  auto [head_a, pkgs_a] = parse(before);
  auto [head_b, pkgs_b] = parse(now);
  std::vector<std::string> out;
  if (head_a != head_b) out.push_back(fmt::format("python {} -> {}", head_a, head_b));
  for (const auto& [name, version] : pkgs_b) {
    auto it = pkgs_a.find(name);
    if (it == pkgs_a.end()) {
      out.push_back(fmt::format("{} {} added", name, version));
    } else if (it->second != version) {
      out.push_back(fmt::format("{} {} -> {}", name, it->second, version));
    }
  }
  for (const auto& [name, version] : pkgs_a) {
    if (!pkgs_b.count(name)) out.push_back(fmt::format("{} {} removed", name, version));
  }
  return out;
}

std::pair<std::string, bool> Environments::InterpreterFor(const spec::Environment& env) const {
  std::string key = env.reference.empty() ? env.name : env.reference;
  if (auto it = ws_.config.environments.find(key); !key.empty() && it != ws_.config.environments.end()) {
    return {it->second.python, !it->second.identity_declared};
  }
  return {ws_.config.python, !ws_.config.identity_declared};
}

Result<const Interpreter*> Environments::Inspect(const std::string& python, const std::string& step) {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(python, ec).lexically_normal().string();
  if (auto it = interpreters_.find(absolute); it != interpreters_.end()) return &it->second;
  if (::access(absolute.c_str(), X_OK) != 0) {
    return Status::Invalid(fmt::format("step {}: the interpreter `{}` does not exist (set `python:` "
                                       "in .weft/config.yaml)",
                                       step, python));
  }
  ProbeCache probes(ws_.envs_dir(), "probe-2\n" + absolute);
  std::optional<Interpreter> probe = ws_.dir.empty() ? std::nullopt : probes.Lookup(absolute);
  if (!probe) {
    int64_t started = NowNs();
    std::optional<Json> answer = Json::Parse(Capture({absolute, "-c", kProbe}));
    if (answer) probe = ReadProbe(*answer);
    if (!probe) {
      return Status::Invalid(fmt::format("step {}: cannot run `{}` to inspect its packages", step, absolute));
    }
    if (!read_only_) probes.Store(absolute, *answer, *probe, started);
  }
  probe->path = absolute;
  return &(interpreters_[absolute] = std::move(*probe));
}

Result<std::vector<MissingPackage>> Environments::Missing(const spec::Environment& env,
                                                          const std::string& step) {
  Result<const Interpreter*> found = Inspect(InterpreterFor(env).first, step);
  if (!found.ok()) return found.status();
  const Interpreter& in = **found;
  std::vector<MissingPackage> out;
  for (size_t i = 0; i < env.packages.size(); ++i) {
    auto [name, version] = ParseRequirement(env.packages[i]);
    std::string norm = NormalizeName(name);
    if (name.empty() || in.distributions.count(norm)) continue;
    bool shim = !in.distributions.count("mlflow");
    if (shim && (norm == "mlflow" || norm == "mlflow-skinny" || norm == "azureml-mlflow")) continue;
    if (norm == "mltable") continue;  // weft's runtime stands in (mltable/ in env/runtime)
    std::optional<std::string> deb = KnownToApt(DebianCandidates(name));
    MissingPackage m{i < env.package_locs.size() ? env.package_locs[i] : SourceLoc{}, name,
                     deb ? fmt::format("install the Debian package {} (apt-get install {})", *deb, *deb)
                         : std::string("apt knows no Debian package for it")};
    out.push_back(std::move(m));
  }
  return out;
}

Result<bool> Environments::Provides(const spec::Environment& env, const std::string& name,
                                    const std::string& step) {
  Result<const Interpreter*> found = Inspect(InterpreterFor(env).first, step);
  if (!found.ok()) return found.status();
  return (*found)->distributions.count(NormalizeName(name)) > 0;
}

bool Environments::Contained(const spec::Environment& env) const {
  if (env.image.empty() && env.build_path.empty()) return false;
  std::string key = env.reference.empty() ? env.name : env.reference;
  if (auto it = ws_.config.environments.find(key); !key.empty() && it != ws_.config.environments.end()) {
    if (it->second.container) return *it->second.container;
  }
  return ws_.config.containers.enabled;
}

// `podman image inspect` costs a podman start (tens of milliseconds) per environment and run, so
// an image's id is kept in the workspace with the stamp of podman's image list (rootful storage's
// overlay-images/images.json, which every tag, build, import and removal rewrites). A changed
// stamp, or a list changed within the last seconds, means asking podman again.
constexpr const char* kImageList = "/var/lib/containers/storage/overlay-images/images.json";

Result<std::string> CachedImageId(const std::string& envs_dir, const std::string& conf,
                                  const std::string& image, bool read_only) {
  std::string path = fmt::format("{}/image-{}.json", envs_dir, ToHex(Sha256Of(image)).substr(0, 16));
  auto [stamp, mtime] = Stamp(kImageList);
  if (Result<std::string> text = ReadFileCapped(path, 1 << 16); text.ok() && stamp != "missing") {
    std::optional<Json> j = Json::Parse(*text);
    const Json* ref = j ? j->Find("image") : nullptr;
    const Json* st = j ? j->Find("stamp") : nullptr;
    const Json* id = j ? j->Find("id") : nullptr;
    if (ref && ref->String() && *ref->String() == image && st && st->String() && *st->String() == stamp &&
        id && id->String()) {
      return *id->String();
    }
  }
  Result<std::string> id = exec::ImageId(conf, image);
  if (id.ok() && !read_only && stamp != "missing" && NowNs() - mtime > 2'000'000'000) {
    Json j = Json::MakeObject();
    j.Set("image", image).Set("stamp", stamp).Set("id", *id);
    (void)MakeDirs(envs_dir);
    (void)WriteFileAtomic(path, j.Dump(-1));
  }
  return id;
}

// A container's environment: its image (mapped to a local one, or built from its context once per
// digest of the context), whose id is its identity, with the packages its conda file declares
// checked against the image's own Python.
Result<std::shared_ptr<const ResolvedEnvironment>> Environments::ResolveContainer(
    const spec::Environment& env, const std::string& step) {
  std::string cache_key = "container\n" + env.image + "\n" + env.build_path;
  for (const std::string& req : env.packages) cache_key += "\n" + req;
  if (auto it = cache_.find(cache_key); it != cache_.end()) return it->second;
  Result<std::string> conf = read_only_ ? Result<std::string>(exec::ContainersConfPath(ws_.dir))
                                        : exec::WriteContainersConf(ws_.dir);
  if (!conf.ok()) return conf.status();
  ResolvedEnvironment r;
  r.containers_conf = *conf;
  r.network = ws_.config.containers.network;
  std::string what;
  if (!env.build_path.empty()) {  // built once per content of its context
    Result<store::ObjectRef> context = store::HashPath(env.build_path);
    if (!context.ok()) return Status(context.status().code(), fmt::format("step {}: the environment's build context: {}", step, context.status().message()));
    std::string tag = "localhost/weft-env:" + ToHex(context->digest).substr(0, 16);
    Result<std::string> id = read_only_ ? exec::ImageId(*conf, tag)
                                        : exec::BuildImage(*conf, env.build_path, tag, ws_.dir + "/containers-build.log");
    if (!id.ok()) return Status(id.status().code(), fmt::format("step {}: {}", step, id.status().message()));
    r.image = *id;
    what = "build " + tag;
  } else {
    auto mapped = ws_.config.containers.images.find(env.image);
    std::string local = mapped != ws_.config.containers.images.end() ? mapped->second : env.image;
    Result<std::string> id = CachedImageId(ws_.envs_dir(), *conf, local, read_only_);
    if (!id.ok()) return Status(id.status().code(), fmt::format("step {}: {}", step, id.status().message()));
    r.image = *id;
    what = "image " + local;
  }
  r.description = fmt::format("container {} {}\n", r.image, what);
  if (!read_only_) {  // weft's MLflow shim and runtime, last: the image's own packages win
    for (auto install : {InstallMlflowShim, InstallRuntime}) {
      Result<InstalledShim> installed = install(ws_);
      if (!installed.ok()) return installed.status();
      r.runtime_path += (r.runtime_path.empty() ? "" : ":") + installed->dir;
    }
  }
  if (!env.packages.empty()) {  // declared packages: the image's Python must have them
    Result<std::string> probe = exec::RunInImage(*conf, r.image, {"python3", "-c", kProbe});
    std::optional<Json> answer = probe.ok() ? Json::Parse(*probe) : std::nullopt;
    const Json* dists = answer ? answer->Find("distributions") : nullptr;
    std::string missing;
    for (size_t k = 0; k < env.packages.size(); ++k) {
      auto [name, version] = ParseRequirement(env.packages[k]);
      if (name.empty()) continue;
      const Json* have = dists != nullptr ? dists->Find(NormalizeName(name)) : nullptr;
      if (have == nullptr) {
        missing += fmt::format("\n  {}", name);
      } else if (have->String() != nullptr) {
        r.description += fmt::format("{}=={}\n", NormalizeName(name), *have->String());
      }
    }
    if (!missing.empty()) {
      return Status::Invalid(fmt::format("step {}: its environment needs Python packages that the "
                                         "image {} does not have{}:{}",
                                         step, what.substr(what.find(' ') + 1),
                                         probe.ok() ? "" : " (it has no python3)", missing));
    }
  }
  r.identity = "sha256:" + ToHex(Sha256Of(r.description));
  return cache_[cache_key] = std::make_shared<const ResolvedEnvironment>(std::move(r));
}

Result<std::shared_ptr<const ResolvedEnvironment>> Environments::Resolve(const spec::Environment& env,
                                                  const std::string& step) {
  if (Contained(env)) return ResolveContainer(env, step);
  auto [python, all] = InterpreterFor(env);
  std::string cache_key = fmt::format("{}\n{}", python, all);
  for (const std::string& req : env.packages) cache_key += "\n" + req;
  if (auto it = cache_.find(cache_key); it != cache_.end()) return it->second;
  Result<const Interpreter*> found = Inspect(python, step);
  if (!found.ok()) return found.status();
  const Interpreter& probe = **found;
  Result<std::vector<MissingPackage>> missing = Missing(env, step);
  if (!missing.ok()) return missing.status();
  if (!missing->empty()) {
    std::string lines;
    for (const MissingPackage& m : *missing) {
      std::string at = m.at.file ? fmt::format("{}:{}:{}: ", *m.at.file, m.at.line, m.at.col) : "";
      lines += fmt::format("\n  {}{}: {}", at, m.name, m.hint);
    }
    return Status::Invalid(fmt::format("step {}: its environment needs Python packages that {} does "
                                       "not have:{}",
                                       step, probe.path, lines));
  }
  ResolvedEnvironment r;
  std::string shim;
  if (!probe.distributions.count("mlflow") && !read_only_) {
    Result<InstalledShim> installed = InstallMlflowShim(ws_);
    if (!installed.ok()) return installed.status();
    r.python_path = installed->dir;
    shim = installed->identity;
  }
  std::string runtime;
  if (!read_only_) {  // (what it holds besides mltable serves parallel steps, which name it)
    Result<InstalledShim> installed = InstallRuntime(ws_);
    if (!installed.ok()) return installed.status();
    r.runtime_path = installed->dir;
    if (!probe.distributions.count("mltable")) runtime = installed->identity;
  }
  std::vector<std::string> declared;
  for (const std::string& req : env.packages) {
    auto [name, version] = ParseRequirement(req);
    if (name.empty()) continue;
    declared.push_back(NormalizeName(name));
    auto have = probe.distributions.find(declared.back());
    if (have != probe.distributions.end() && !version.empty() && have->second != version) {
      r.warnings.push_back(fmt::format("step {}: the environment asks for {} {}, {} has {}", step,
                                       name, version, probe.path, have->second));
    }
  }
  r.description = Describe(probe, declared, all, shim, runtime);
  r.identity = "sha256:" + ToHex(Sha256Of(r.description));
  if (read_only_) {
    return cache_[cache_key] = std::make_shared<const ResolvedEnvironment>(std::move(r));
  }
  // `python` on PATH: a link to a plain interpreter; a virtualenv's own bin folder (a link would
  // lose the virtualenv: Python finds it next to the path it was started by).
  std::error_code ec;
  std::string bin = fmt::format("{}/{}/bin", ws_.envs_dir(),
                                ToHex(Sha256Of(fmt::format("{}\n{}", probe.path, probe.venv))).substr(0, 16));
  Status s = MakeDirs(bin);
  if (!s.ok()) return s;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  std::vector<std::pair<std::string, std::string>> links = {{"weft", self}};
  if (!probe.venv) links.insert(links.end(), {{"python", probe.path}, {"python3", probe.path}});
  for (const auto& [name, target] : links) {
    std::string link = bin + "/" + name;
    if (target.empty() || std::filesystem::read_symlink(link, ec) == target) continue;
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink(target, link, ec);
    if (ec) return Status::Io(fmt::format("{}: cannot create: {}", link, ec.message()));
  }
  r.path_prefix = bin;
  if (probe.venv) {
    r.path_prefix += ":" + DirName(probe.path);
    r.variables.emplace_back("VIRTUAL_ENV", probe.prefix);
  }
  return cache_[cache_key] = std::make_shared<const ResolvedEnvironment>(std::move(r));
}

}  // namespace weft::env
