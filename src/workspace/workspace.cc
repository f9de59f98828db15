#include "workspace/workspace.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"
#include "spec/fields.h"
#include "spec/yaml.h"

namespace weft::ws {
namespace {

namespace fs = std::filesystem;

void ReadConfig(const std::string& path, Workspace& ws, Diagnostics& diags) {
  Result<std::string> text = ReadFileCapped(path, 1 << 20);
  if (!text.ok()) return;
  std::unique_ptr<yaml::Document> doc = yaml::Parse(path, *text, diags);
  if (!doc || doc->root() == nullptr) return;
  spec::Source src = spec::MakeSource(*doc, diags);
  spec::Fields f(src, doc->root(), "the workspace configuration", src.Loc(doc->root()));
  Config& c = ws.config;
  c.python = f.String("python").value_or(c.python);
  if (const yaml::Node* sb = f.Get("sandbox")) {
    if (sb->is_scalar() && (sb->text == "bubblewrap" || sb->text == "off")) {
      c.sandbox = sb->text == "bubblewrap";
    } else {
      diags.Error(src.Loc(sb), "`sandbox` is `bubblewrap` (the default) or `off`",
                  "`off` lets steps change the store when they run as root");
    }
  }
  if (const yaml::Node* r = f.Get("resources")) {
    spec::Fields rf(src, r, "`resources`", src.Loc(r));
    c.cpus = rf.Int("cpus", 1).value_or(0);
    c.gpus = rf.Int("gpus", 0).value_or(-1);
    if (auto m = rf.Version("memory")) c.memory_mb = ParseMegabytes(*m);
    rf.Finish();
  }
  auto identity = [&](spec::Fields& fields, const char* key, bool fallback) {
    const yaml::Node* n = fields.Get(key);
    if (n == nullptr) return fallback;
    if (n->is_scalar() && (n->text == "full" || n->text == "declared")) return n->text == "declared";
    diags.Error(src.Loc(n), fmt::format("`{}` is `full` (the default: every package the interpreter "
                                        "can import) or `declared` (only those the environment "
                                        "declares)",
                                        key));
    return fallback;
  };
  c.identity_declared = identity(f, "environment_identity", false);
  if (const yaml::Node* k = f.Get("containers")) {
    spec::Fields kf(src, k, "`containers`", src.Loc(k));
    c.containers.enabled = kf.Bool("enabled").value_or(false);
    c.containers.network = kf.Bool("network").value_or(false);
    for (const auto& [name, local] : kf.StringMap("images")) c.containers.images[name] = local;
    kf.Finish();
  }
  if (const yaml::Node* e = f.Get("environments"); e != nullptr && e->is_mapping()) {
    for (size_t i = 0; i < e->entry_count(); ++i) {
      spec::Fields ef(src, e->value(i), fmt::format("environment `{}`", e->key(i)->text),
                      src.Loc(e->key(i)));
      EnvironmentConfig& ec = c.environments[e->key(i)->text];
      ec.python = ef.String("python").value_or(c.python);
      ec.identity_declared = identity(ef, "identity", c.identity_declared);
      ec.container = ef.Bool("container");
      ef.Finish();
    }
  }
  if (const yaml::Node* cs = f.Get("computes"); cs != nullptr && cs->is_mapping()) {
    for (size_t i = 0; i < cs->entry_count(); ++i) {
      std::string name = cs->key(i)->text;
      if (name.rfind("azureml:", 0) == 0) name = name.substr(8);
      spec::Fields cf(src, cs->value(i), fmt::format("compute `{}`", name), src.Loc(cs->key(i)));
      ComputeConfig& cc = c.computes[name];
      cc.type = cf.String("type").value_or("local");
      if (cc.type == "slurm") {
        cc.partition = cf.String("partition").value_or("");
        cc.account = cf.String("account").value_or("");
        cc.qos = cf.String("qos").value_or("");
        cc.sbatch_args = cf.StringList("sbatch_args");
        cc.setup = cf.StringList("setup");
        cc.export_vars = cf.StringList("export");
        if (auto w = cf.String("weft")) cc.weft = ResolvePath(ws.dir, *w);
        cc.max_cpus = cf.Int("max_cpus", 1).value_or(0);
      } else if (cc.type != "local") {
        diags.Error(src.Loc(cf.Get("type")), fmt::format("compute `{}` has type `{}`; weft runs "
                                                         "`local` and `slurm` targets",
                                                         name, cc.type),
                    "use `type: local` (this machine) or `type: slurm` (docs/compute.md)");
      }
      cf.Finish();
    }
  }
  for (const auto& [name, dir] : f.StringMap("datastores")) {
    c.datastores[name] = ResolvePath(ws.dir, dir);  // relative to config.yaml's folder
  }
  c.secrets = f.StringList("secrets");
  for (const auto& [prefix, dir] : f.StringMap("mirrors")) c.mirrors[prefix] = ResolvePath(ws.dir, dir);
  f.Finish();
}

}  // namespace

int64_t ParseMegabytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  double n = std::atof(text.substr(0, i).c_str());
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit[0] == 'g') return static_cast<int64_t>(n * 1024);
  if (!unit.empty() && unit[0] == 't') return static_cast<int64_t>(n * 1024 * 1024);
  return static_cast<int64_t>(n);  // megabytes
}

std::string Workspace::step_dir(const std::string& run, int64_t step) const {
  return fmt::format("{}/{}", run_dir(run), step);
}

std::string Workspace::attempt_dir(const std::string& run, int64_t step, int64_t jobs, int64_t job,
                                   int64_t attempt) const {
  if (jobs <= 1) return fmt::format("{}/{}.{}", run_dir(run), step, attempt);
  return fmt::format("{}/{}.{}", step_dir(run, step), job, attempt);
}

std::string Workspace::Datastore(const std::string& name) const {
  auto it = config.datastores.find(name);
  if (it != config.datastores.end()) return it->second;
  return dir + "/datastores/" + name;
}

namespace {

Status Flock(int fd, WorkspaceLock::Mode mode, bool wait) {
  int op = (mode == WorkspaceLock::Mode::kShared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  int rc;
  while ((rc = ::flock(fd, op)) != 0 && errno == EINTR) {
  }
  if (rc == 0) return Status::Ok();
  if (errno == EWOULDBLOCK) return Status::Busy("the workspace's lock is held by another weft");
  return Status::Io(fmt::format("cannot lock the workspace: {}", std::strerror(errno)));
}

}  // namespace

Result<WorkspaceLock> WorkspaceLock::Acquire(const Workspace& ws, Mode mode, bool wait) {
  std::string path = ws.dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  Status s = Flock(fd, mode, wait);
  if (!s.ok()) {
    ::close(fd);
    return Status(s.code(), fmt::format("{}: {}", path, s.message()));
  }
  return WorkspaceLock(fd);
}

Status WorkspaceLock::Change(Mode mode, bool wait) { return Flock(fd_, mode, wait); }

WorkspaceLock& WorkspaceLock::operator=(WorkspaceLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WorkspaceLock::~WorkspaceLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

Result<Workspace> OpenWorkspace(const std::string& explicit_dir, const std::string& cwd,
                                Diagnostics& diags) {
  Workspace ws;
  const std::string& chosen = explicit_dir;
  if (!chosen.empty()) {
    fs::path p = fs::absolute(chosen).lexically_normal();
    ws.dir = p.filename() == ".weft" ? p.string() : (p / ".weft").string();
  } else {
    for (fs::path p = fs::absolute(cwd); ; p = p.parent_path()) {
      std::error_code ec;
      if (fs::is_directory(p / ".weft", ec)) {
        ws.dir = (p / ".weft").string();
        break;
      }
      if (p == p.parent_path()) break;
    }
    if (ws.dir.empty()) ws.dir = (fs::absolute(cwd) / ".weft").lexically_normal().string();
  }
  for (const std::string& sub : {ws.dir, ws.store_dir(), ws.runs_dir(), ws.envs_dir()}) {
    Status s = MakeDirs(sub);
    if (!s.ok()) return s;
  }
  ReadConfig(ws.dir + "/config.yaml", ws, diags);
  return ws;
}

}  // namespace weft::ws
