#include "engine/environment.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/sha256.h"

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

// Prints {"python": "<version>", "packages": {"<name>": "<version or null>"}}.
constexpr const char* kProbe = R"py(
import json, sys
from importlib import metadata
out = {"python": sys.version.split()[0], "packages": {}}
for name in sys.argv[1:]:
    try:
        out["packages"][name] = metadata.version(name)
    except Exception:
        out["packages"][name] = None
print(json.dumps(out))
)py";

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
  std::string cache_key = python;
  for (const std::string& w : wanted) cache_key += "\n" + w;
  if (auto it = cache_.find(cache_key); it != cache_.end()) return it->second;

  std::error_code ec;
  std::string real = std::filesystem::canonical(python, ec).string();
  if (ec) {
    return Status::Invalid(fmt::format("step {}: the interpreter `{}` does not exist", step, python,
                                       "set `python:` in .weft/config.yaml"));
  }
  std::vector<std::string> argv = {real, "-c", kProbe};
  argv.insert(argv.end(), wanted.begin(), wanted.end());
  std::string out = Capture(argv);
  nlohmann::json probe = nlohmann::json::parse(out, nullptr, false);
  if (probe.is_discarded()) {
    return Status::Invalid(fmt::format("step {}: cannot run `{}` to inspect its packages", step, real));
  }
  ResolvedEnvironment r;
  std::string identity = fmt::format("{} {}", real, probe["python"].get<std::string>());
  for (size_t i = 0; i < wanted.size(); ++i) {
    const nlohmann::json& v = probe["packages"][wanted[i]];
    if (v.is_null()) {
      return Status::Invalid(fmt::format(
          "step {}: its environment needs the Python package `{}`, which {} does not have; "
          "install the Debian package {} (apt-get install {})",
          step, wanted[i], real, DebianPackageFor(wanted[i]), DebianPackageFor(wanted[i])));
    }
    std::string have = v.get<std::string>();
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
  for (const char* name : {"python", "python3"}) {
    std::string link = r.bin_dir + "/" + name;
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink(real, link, ec);
    if (ec) return Status::Io(fmt::format("{}: cannot create: {}", link, ec.message()));
  }
  cache_[cache_key] = r;
  return r;
}

}  // namespace weft::engine
