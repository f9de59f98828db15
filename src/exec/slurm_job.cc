// The Slurm executor, the job's side: `weft slurm-job` inside the batch job (exec/slurm.h).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "base/command.h"
#include "base/fs.h"
#include "base/interrupt.h"
#include "exec/local.h"
#include "exec/slurm.h"

extern char** environ;

namespace weft::exec {
namespace {

Json Strings(const std::vector<std::string>& items) {
  Json a = Json::MakeArray();
  for (const std::string& s : items) a.Push(s);
  return a;
}

std::vector<std::string> StringsOf(const Json* a) {
  std::vector<std::string> out;
  if (a == nullptr || a->Items() == nullptr) return out;
  for (const Json& s : *a->Items()) {
    if (s.String() != nullptr) out.push_back(*s.String());
  }
  return out;
}

std::string StringOf(const Json& j, const char* key) {
  const Json* v = j.Find(key);
  return v != nullptr && v->String() != nullptr ? *v->String() : std::string();
}

int64_t IntOf(const Json& j, const char* key, int64_t fallback) {
  const Json* v = j.Find(key);
  return v != nullptr && v->Int() != nullptr ? *v->Int() : fallback;
}

// The variables Slurm gives the job that the step should see: its own (SLURM_*), and the devices
// it was given.
bool FromSlurm(const std::string& name) {
  return name.rfind("SLURM_", 0) == 0 || name == "CUDA_VISIBLE_DEVICES" ||
         name == "GPU_DEVICE_ORDINAL" || name == "ROCR_VISIBLE_DEVICES";
}

void SetVar(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  std::string prefix = name + "=";
  env.erase(std::remove_if(env.begin(), env.end(),
                           [&](const std::string& kv) { return kv.rfind(prefix, 0) == 0; }),
            env.end());
  env.push_back(prefix + value);
}

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  return v == nullptr ? std::string() : v;
}

// A cgroup file's text (their size reads as 0, so ReadFileCapped would see nothing).
std::string ReadPseudoFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether the kernel killed a process of this Slurm job for want of memory, and the job's limit
// (MB, 0 unknown): the job's memory cgroup (v1 `memory.oom_control`, v2 `memory.events`).
std::pair<bool, int64_t> OutOfMemory() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    bool v1 = line.find(":memory:") != std::string::npos;
    bool v2 = line.rfind("0::", 0) == 0;
    if (!v1 && !v2) continue;
    std::string path = line.substr(line.find(':', line.find(':') + 1) + 1);
    size_t job = path.find("/job_");
    if (job == std::string::npos) continue;
    std::string root = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
    std::string job_dir = root + path.substr(0, path.find('/', job + 1));
    // v1 counts a kill only in the cgroup whose limit was hit (the task's, the step's or the
    // job's): look at each from this process's up to the job's.
    bool killed = false;
    for (std::string dir = root + path; dir.size() >= job_dir.size(); dir = DirName(dir)) {
      std::string events = ReadPseudoFile(dir + (v1 ? "/memory.oom_control" : "/memory.events"));
      size_t at = events.find("oom_kill ");
      if (at != std::string::npos && std::atoll(events.c_str() + at + 9) > 0) killed = true;
    }
    std::string limit = ReadPseudoFile(job_dir + (v1 ? "/memory.limit_in_bytes" : "/memory.max"));
    int64_t mb = std::atoll(limit.c_str()) / (1024 * 1024);
    if (mb > (int64_t{1} << 30)) mb = 0;  // "no limit"
    return {killed, mb};
  }
  return {false, 0};
}

// A distributed step's task: its place in the job, from Slurm's own variables.
void RankFromSlurm(LaunchSpec& spec) {
  std::string master = "127.0.0.1";
  std::string nodes = Env("SLURM_JOB_NODELIST");
  if (!nodes.empty()) {
    Result<CommandOutput> hosts = RunCommand({"scontrol", "show", "hostnames", nodes});
    if (hosts.ok() && hosts->exit_code == 0 && !hosts->out.empty()) {
      master = hosts->out.substr(0, hosts->out.find('\n'));
    }
  }
  int64_t job = std::atoll(Env("SLURM_JOB_ID").c_str());
  SetVar(spec.env, "RANK", Env("SLURM_PROCID"));
  SetVar(spec.env, "LOCAL_RANK", Env("SLURM_LOCALID"));
  SetVar(spec.env, "NODE_RANK", Env("SLURM_NODEID"));
  SetVar(spec.env, "WORLD_SIZE", Env("SLURM_NTASKS"));
  SetVar(spec.env, "MASTER_ADDR", master);
  SetVar(spec.env, "MASTER_PORT", std::to_string(29500 + job % 1000));
  spec.distribution = Distribution{};
}

struct Outcome {
  std::string reason = "exited";
  int exit_code = 0;
  std::string message;
};

// Runs the spec here with the local executor, passing on a stop request (scancel's SIGTERM).
Outcome RunHere(const LaunchSpec& spec) {
  Outcome o;
  LocalOptions local;
  local.sandbox = spec.sandbox.has_value();
  local.cpus = std::max<int64_t>(1, spec.needs.cpus);
  local.gpus = 0;  // Slurm gave the job its devices (CUDA_VISIBLE_DEVICES)
  Result<std::unique_ptr<LocalExecutor>> ex = LocalExecutor::Create(local);
  Result<uint64_t> h = ex.ok() ? (*ex)->Submit(spec) : Result<uint64_t>(ex.status());
  if (!h.ok()) {
    o.reason = "failed_to_start";
    o.exit_code = 127;
    o.message = h.status().message();
    return o;
  }
  bool stopping = false;
  while (true) {
    for (const JobEnd& e : (*ex)->Wait(1000)) {
      o.exit_code = e.exit_code;
      o.reason = e.reason == EndReason::kTimedOut   ? "timed_out"
                 : e.reason == EndReason::kCanceled ? "canceled"
                                                    : "exited";
      return o;
    }
    if (Interrupted() && !stopping) {
      stopping = true;
      (*ex)->Cancel(*h, InterruptCount() > 1);
    }
  }
}

// A distributed step: one task per process, started by srun on the job's nodes, each given the
// job's description as its input.
Outcome RunTasks(const std::string& spec_json) {
  Outcome o;
  Result<CommandOutput> r = RunCommand({"srun", "--kill-on-bad-exit=1", "--export=ALL", "--input=all",
                                        std::filesystem::read_symlink("/proc/self/exe").string(),
                                        "slurm-job", "--task"},
                                       {}, spec_json);
  if (!r.ok()) {
    o.reason = "failed_to_start";
    o.exit_code = 127;
    o.message = r.status().message();
    return o;
  }
  std::fputs(r->out.c_str(), stdout);
  std::fputs(r->err.c_str(), stderr);
  o.exit_code = r->exit_code;
  if (Interrupted()) o.reason = "canceled";
  return o;
}

}  // namespace

Json LaunchSpecToJson(const LaunchSpec& s) {
  Json j = Json::MakeObject();
  j.Set("step", s.step).Set("command", s.command).Set("script_path", s.script_path);
  j.Set("cwd", s.cwd).Set("code", s.code).Set("env", Strings(s.env));
  Json d = Json::MakeObject();
  d.Set("type", s.distribution.type).Set("instances", s.distribution.instances);
  d.Set("per_instance", s.distribution.per_instance);
  j.Set("distribution", std::move(d));
  Json n = Json::MakeObject();
  n.Set("cpus", s.needs.cpus).Set("memory_mb", s.needs.memory_mb).Set("gpus", s.needs.gpus);
  j.Set("needs", std::move(n));
  j.Set("log_path", s.log_path).Set("timeout_ms", s.timeout_ms).Set("kill_grace_ms", s.kill_grace_ms);
  if (s.sandbox) {
    Json m = Json::MakeObject();
    m.Set("read_only", Strings(s.sandbox->read_only)).Set("writable", Strings(s.sandbox->writable));
    m.Set("hide", s.sandbox->hide).Set("keep", Strings(s.sandbox->keep));
    j.Set("sandbox", std::move(m));
  }
  if (s.container) {
    Json c = Json::MakeObject();
    c.Set("image", s.container->image).Set("conf", s.container->conf);
    c.Set("network", s.container->network).Set("shm_size", s.container->shm_size);
    c.Set("options", Strings(s.container->options));
    c.Set("read_only", Strings(s.container->read_only)).Set("writable", Strings(s.container->writable));
    j.Set("container", std::move(c));
  }
  j.Set("group", s.group).Set("name", s.name);
  return j;
}

Result<LaunchSpec> LaunchSpecFromJson(const Json& j) {
  if (j.Members() == nullptr) return Status::Invalid("a job's description is a JSON object");
  LaunchSpec s;
  s.step = StringOf(j, "step");
  s.command = StringOf(j, "command");
  s.script_path = StringOf(j, "script_path");
  s.cwd = StringOf(j, "cwd");
  s.code = StringOf(j, "code");
  s.env = StringsOf(j.Find("env"));
  if (const Json* d = j.Find("distribution")) {
    s.distribution.type = StringOf(*d, "type");
    s.distribution.instances = IntOf(*d, "instances", 1);
    s.distribution.per_instance = IntOf(*d, "per_instance", 1);
  }
  if (const Json* n = j.Find("needs")) {
    s.needs.cpus = IntOf(*n, "cpus", 1);
    s.needs.memory_mb = IntOf(*n, "memory_mb", 0);
    s.needs.gpus = IntOf(*n, "gpus", 0);
  }
  s.log_path = StringOf(j, "log_path");
  s.timeout_ms = IntOf(j, "timeout_ms", 0);
  s.kill_grace_ms = IntOf(j, "kill_grace_ms", 5000);
  if (const Json* m = j.Find("sandbox"); m != nullptr && m->Members() != nullptr) {
    s.sandbox.emplace();
    s.sandbox->read_only = StringsOf(m->Find("read_only"));
    s.sandbox->writable = StringsOf(m->Find("writable"));
    s.sandbox->hide = StringOf(*m, "hide");
    s.sandbox->keep = StringsOf(m->Find("keep"));
  }
  if (const Json* c = j.Find("container"); c != nullptr && c->Members() != nullptr) {
    Container& k = s.container.emplace();
    k.image = StringOf(*c, "image");
    k.conf = StringOf(*c, "conf");
    const Json* net = c->Find("network");
    k.network = net != nullptr && net->Bool() != nullptr && *net->Bool();
    k.shm_size = StringOf(*c, "shm_size");
    k.options = StringsOf(c->Find("options"));
    k.read_only = StringsOf(c->Find("read_only"));
    k.writable = StringsOf(c->Find("writable"));
  }
  s.group = StringOf(j, "group");
  s.name = StringOf(j, "name");
  if (s.cwd.empty() || s.log_path.empty()) return Status::Invalid("a job's description lacks its folders");
  return s;
}

namespace {

// Runs the job `json` describes (`text`: its JSON, for srun's tasks) on this node and writes its
// `slurm.status`; returns the step's exit code. `worker`: which of a job array task's workers it
// is (-1: the job's only one).
int RunJob(const std::optional<Json>& json, const std::string& text, bool task, int worker = -1) {
  auto started = std::chrono::steady_clock::now();
  InstallInterruptHandlers();
  Result<LaunchSpec> spec = json ? LaunchSpecFromJson(*json) : Result<LaunchSpec>(Status::Invalid("not JSON"));
  if (!spec.ok()) {  // nowhere to write a status: say it where the job's output goes
    std::fprintf(stderr, "weft slurm-job: cannot read the job's description: %s\n",
                 spec.status().message().c_str());
    return 127;
  }
  std::string dir = DirName(spec->log_path);
  if (!task) ::unlink((dir + "/slurm.status").c_str());  // a requeued job's earlier word
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    if (FromSlurm(name)) SetVar(spec->env, name, kv.substr(name.size() + 1));
  }
  // Its own cgroups on the node, apart from those of the weft that submitted it (which, on a host
  // that is also a node, stops its run's local group when it settles the run).
  spec->group += "-slurm" + Env("SLURM_JOB_ID") + (worker >= 0 ? fmt::format("-{}", worker) : "");
  if (task) {
    RankFromSlurm(*spec);
    spec->name += "-" + Env("SLURM_PROCID");
    spec->script_path += "." + Env("SLURM_PROCID");  // each task writes its own copy
    return RunHere(*spec).exit_code;                 // the batch step records the job's end
  }
  Outcome o = spec->distribution.type.empty() ? RunHere(*spec) : RunTasks(text);
  auto [oom, limit_mb] = OutOfMemory();
  if (oom && o.exit_code != 0 && o.reason == "exited") {
    o.message = limit_mb > 0 ? fmt::format("killed by Slurm: out of memory ({} MB)", limit_mb)
                             : "killed by Slurm: out of memory";
  }
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Json status = Json::MakeObject();
  status.Set("reason", o.reason).Set("exit_code", o.exit_code).Set("message", o.message);
  status.Set("job_id", Env("SLURM_JOB_ID")).Set("node", std::string(host));
  status.Set("state", o.message.rfind("killed by Slurm: out of memory", 0) == 0 ? "OUT_OF_MEMORY"
                      : o.reason == "exited" && o.exit_code == 0       ? "COMPLETED"
                      : o.reason == "timed_out"                        ? "TIMEOUT"
                      : o.reason == "canceled"                         ? "CANCELLED"
                                                                       : "FAILED");
  status.Set("elapsed_s", elapsed).Set("max_rss_mb", static_cast<int64_t>(usage.ru_maxrss / 1024));
  Status w = WriteFileAtomic(dir + "/slurm.status", status.Dump(-1));
  if (!w.ok()) std::fprintf(stderr, "weft slurm-job: %s\n", w.message().c_str());
  return o.exit_code;
}

// The workers of a job array's task, each in a process of its own that runs it as RunJob runs a
// job alone (its own status file, its own handling of Slurm's signals); this one waits for them.
int RunWorkers(const Json::Array& specs) {
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
  for (int sig : kSignals) ::signal(sig, SIG_IGN);
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (size_t k = 0; k < specs.size(); ++k) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (int sig : kSignals) ::signal(sig, SIG_DFL);
      int code = RunJob(specs[k], specs[k].Dump(-1), false, static_cast<int>(k));
      std::fflush(nullptr);
      ::_exit(code);
    }
    if (pid < 0) {
      std::fprintf(stderr, "weft slurm-job: cannot start a worker: %s\n", std::strerror(errno));
    } else {
      pids.push_back(pid);
    }
  }
  int worst = pids.size() == specs.size() ? 0 : 1;
  for (pid_t pid : pids) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    worst = std::max(worst, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return worst;
}

}  // namespace

int RunSlurmJob(bool task) {
  // The batch script's here-document, or srun's copy of it.
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  std::optional<Json> json = Json::Parse(text);
  // A job array's: the tasks' lists of workers, this task's at its index.
  if (const Json::Array* tasks = json ? json->Items() : nullptr) {
    std::string index = Env("SLURM_ARRAY_TASK_ID");
    char* end = nullptr;
    unsigned long long k = std::strtoull(index.c_str(), &end, 10);
    const Json* mine = !index.empty() && *end == '\0' && k < tasks->size() ? &(*tasks)[k] : nullptr;
    const Json::Array* workers = mine != nullptr ? mine->Items() : nullptr;
    if (workers != nullptr && workers->size() > 1) return RunWorkers(*workers);
    json = workers != nullptr && workers->size() == 1 ? std::optional<Json>(workers->front()) : std::nullopt;
    if (json) text = json->Dump(-1);
  }
  return RunJob(json, text, task);
}

std::optional<SlurmJobInfo> ReadSlurmJobInfo(const std::string& attempt_dir) {
  Result<std::string> text = ReadFileCapped(attempt_dir + "/slurm.status", 1 << 16);
  if (!text.ok()) return std::nullopt;
  std::optional<Json> j = Json::Parse(*text);
  if (!j) return std::nullopt;
  SlurmJobInfo info;
  info.job_id = StringOf(*j, "job_id");
  info.node = StringOf(*j, "node");
  info.state = StringOf(*j, "state");
  if (const Json* e = j->Find("elapsed_s"); e != nullptr && e->Number()) info.elapsed_s = *e->Number();
  info.max_rss_mb = IntOf(*j, "max_rss_mb", -1);
  return info;
}

}  // namespace weft::exec
