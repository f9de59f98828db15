#include "engine/environment.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/sha256.h"
#include "engine/mlflow_shim.h"

extern char** environ;

namespace weft::engine {
namespace {

// Runs `argv`, returns its standard output (empty on failure).
std::string Capture(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string out;
  if (rc == 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out.clear();
  }
  ::close(fds[0]);
  return out;
}

// Prints {"python": "<version>", "packages": {"<name>": "<version or null>"}, "paths": [...]}
// where paths are the folders the interpreter looks for packages in.
constexpr const char* kProbe = R"py(
import json, site, sys
from importlib import metadata
paths = [p for p in sys.path if p.startswith("/")]
if site.ENABLE_USER_SITE is not False:
    paths.append(site.getusersitepackages())
out = {"python": sys.version.split()[0], "packages": {}, "paths": paths}
for name in sys.argv[1:]:
    try:
        out["packages"][name] = metadata.version(name)
    except Exception:
        out["packages"][name] = None
print(json.dumps(out))
)py";

// The probe's answer, read: {"python": VERSION, "packages": {NAME: VERSION or null}, "paths": [...]}.
struct Probe {
  std::string python;
  std::map<std::string, std::optional<std::string>> packages;
  std::vector<std::string> paths;
};

std::optional<Probe> ReadProbe(const Json& j) {
  const Json* python = j.Find("python");
  const Json* packages = j.Find("packages");
  const Json* paths = j.Find("paths");
  if (!python || !python->String() || !packages || !packages->Members() || !paths ||
      !paths->Items()) {
    return std::nullopt;
  }
  Probe p;
  p.python = *python->String();
  for (const auto& [name, version] : *packages->Members()) {
    if (version.String()) {
      p.packages[name] = *version.String();
    } else if (version.IsNull()) {
      p.packages[name] = std::nullopt;
    } else {
      return std::nullopt;
    }
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

  std::optional<Probe> Lookup(const std::string& interpreter) const {
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
  void Store(const std::string& interpreter, const Json& probe, const Probe& read,
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

}  // namespace

std::pair<std::string, std::string> Environments::ParseRequirement(const std::string& req) {
  std::string name;
  size_t i = 0;
  while (i < req.size() && (std::isalnum(static_cast<unsigned char>(req[i])) || req[i] == '-' ||
                            req[i] == '_' || req[i] == '.')) {
    name += req[i++];
  }
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* skip : {"python", "pip", "setuptools", "wheel", "conda"}) {
    if (lower == skip) return {"", ""};
  }
  std::string version;
  size_t eq = req.find("==", i);
  if (eq != std::string::npos) {
    version = req.substr(eq + 2);
  } else if (i < req.size() && req[i] == '=' ) {
    version = req.substr(i + 1);  // conda's name=version
  }
  while (!version.empty() && (version.back() == ' ' || version.back() == '*')) version.pop_back();
  return {name, version};
}

std::string Environments::DebianPackageFor(const std::string& distribution) {
  std::string d = distribution;
  for (char& c : d) c = static_cast<char>(c == '_' ? '-' : std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string> kKnown = {
      {"scikit-learn", "sklearn"}, {"pyyaml", "yaml"},          {"pillow", "pil"},
      {"opencv-python", "opencv"}, {"beautifulsoup4", "bs4"},   {"python-dateutil", "dateutil"},
      {"torch", "torch"},          {"tensorflow", "tensorflow"}, {"msgpack-python", "msgpack"},
  };
  auto it = kKnown.find(d);
  return "python3-" + (it != kKnown.end() ? it->second : d);
}

Result<ResolvedEnvironment> Environments::Resolve(const spec::Environment& env,
                                                  const std::string& step) {
  std::string python = ws_.config.python;
  std::string key = env.reference.empty() ? env.name : env.reference;
  if (auto it = ws_.config.environments.find(key); !key.empty() && it != ws_.config.environments.end()) {
    python = it->second.python;
  }
  std::vector<std::string> wanted;
  std::vector<std::string> versions;
  for (const std::string& req : env.packages) {
    auto [name, version] = ParseRequirement(req);
    if (name.empty()) continue;
    wanted.push_back(name);
    versions.push_back(version);
  }
  // Whether the interpreter has MLflow decides whether the shim is needed.
  if (std::find(wanted.begin(), wanted.end(), "mlflow") == wanted.end()) wanted.push_back("mlflow");
  std::string cache_key = python;
  for (const std::string& w : wanted) cache_key += "\n" + w;
  if (auto it = cache_.find(cache_key); it != cache_.end()) return it->second;

  std::error_code ec;
  std::string real = std::filesystem::canonical(python, ec).string();
  if (ec) {
    return Status::Invalid(fmt::format("step {}: the interpreter `{}` does not exist", step, python,
                                       "set `python:` in .weft/config.yaml"));
  }
  ProbeCache probes(ws_.envs_dir(), real + "\n" + cache_key);
  std::optional<Probe> probe = probes.Lookup(real);
  if (!probe) {
    std::vector<std::string> argv = {real, "-c", kProbe};
    argv.insert(argv.end(), wanted.begin(), wanted.end());
    int64_t started = NowNs();
    std::optional<Json> answer = Json::Parse(Capture(argv));
    if (answer) probe = ReadProbe(*answer);
    if (!probe) {
      return Status::Invalid(fmt::format("step {}: cannot run `{}` to inspect its packages", step, real));
    }
    probes.Store(real, *answer, *probe, started);
  }
  ResolvedEnvironment r;
  std::string identity = fmt::format("{} {}", real, probe->python);
  auto has = [&](const std::string& name) {
    auto v = probe->packages.find(name);
    return v != probe->packages.end() && v->second.has_value();
  };
  if (!has("mlflow")) {
    Result<InstalledShim> shim = InstallMlflowShim(ws_);
    if (!shim.ok()) return shim.status();
    r.python_path = shim->dir;
    identity += " " + shim->identity;
  }
  for (size_t i = 0; i < versions.size(); ++i) {  // the declared packages
    if (!has(wanted[i]) && !r.python_path.empty() &&
        (wanted[i] == "mlflow" || wanted[i] == "mlflow-skinny" || wanted[i] == "azureml-mlflow")) {
      continue;  // the shim stands in
    }
    if (!has(wanted[i])) {
      return Status::Invalid(fmt::format(
          "step {}: its environment needs the Python package `{}`, which {} does not have; "
          "install the Debian package {} (apt-get install {})",
          step, wanted[i], real, DebianPackageFor(wanted[i]), DebianPackageFor(wanted[i])));
    }
    const std::string& have = *probe->packages.at(wanted[i]);
    if (!versions[i].empty() && have != versions[i]) {
      r.warnings.push_back(fmt::format("step {}: the environment asks for {} {}, {} has {}", step,
                                       wanted[i], versions[i], real, have));
    }
    identity += fmt::format(" {}=={}", wanted[i], have);
  }
  r.identity = identity;
  std::string id = ToHex(Sha256Of(real)).substr(0, 16);
  r.bin_dir = fmt::format("{}/{}/bin", ws_.envs_dir(), id);
  Status s = MakeDirs(r.bin_dir);
  if (!s.ok()) return s;
  // `python` is the environment's interpreter; `weft` (for `weft log-metric`) is this weft.
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  for (const auto& [name, target] : {std::pair<std::string, std::string>{"python", real},
                                     {"python3", real}, {"weft", self}}) {
    std::string link = r.bin_dir + "/" + name;
    if (target.empty() || std::filesystem::read_symlink(link, ec) == target) continue;
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink(target, link, ec);
    if (ec) return Status::Io(fmt::format("{}: cannot create: {}", link, ec.message()));
  }
  cache_[cache_key] = r;
  return r;
}

}  // namespace weft::engine
