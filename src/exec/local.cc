#include "exec/local.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/interrupt.h"
#include "base/os.h"
#include "exec/podman.h"
#include "exec/sandbox.h"
#include "exec/spawn.h"

namespace weft::exec {
namespace {

// Linux gives a program's arguments and environment a quarter of its stack limit, but never more
// than 6 MiB whatever the limit (fs/exec.c).
constexpr uint64_t kArgumentSpaceCap = 6ull << 20;

std::string Size(uint64_t bytes) {
  if (bytes >= 1 << 20) return fmt::format("{:.1f} MiB", bytes / double(1 << 20));
  return fmt::format("{} KiB", (bytes + 1023) / 1024);
}

Status WriteScript(const std::string& path, const std::string& command) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  size_t off = 0;
  while (off < command.size()) {
    ssize_t n = ::write(fd, command.data() + off, command.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::Io(fmt::format("{}: cannot write: {}", path, std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

bool SameProcess(int64_t pid, const std::string& start) {
  return pid > 0 && !start.empty() && RealOs().ProcessStartTime(pid) == start;
}

// Whether no process of group `pgid` is left running (zombies waiting for their parent to collect
// them have ended).
bool GroupGone(int64_t pgid) {
  if (::kill(static_cast<pid_t>(-pgid), 0) != 0 && errno == ESRCH) return true;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid, group;
    rest >> state >> ppid >> group;
    if (group == std::to_string(pgid) && state != "Z" && state != "X") return false;
  }
  return true;
}

// What a job is, durable enough to find it again after weft restarts: "pid=P pgid=G start=T",
// then " container=NAME" for a job in containers (their names start with NAME), then
// " cgroup=PATH" where it has one (the path is last: it may hold spaces).
struct JobInfo {
  int64_t pid = 0;
  int64_t pgid = 0;
  std::string start_time;  // /proc/<pid>/stat field 22, so that a reused pid is never mistaken
  std::string cgroup;
  std::string container;
};

std::string FormatJob(const JobInfo& job) {
  std::string out = fmt::format("pid={} pgid={} start={}", job.pid, job.pgid, job.start_time);
  if (!job.container.empty()) out += " container=" + job.container;
  if (!job.cgroup.empty()) out += " cgroup=" + job.cgroup;
  return out;
}

// A container's name for a job: podman's characters only.
std::string ContainerName(const LaunchSpec& spec) {
  std::string name = spec.group + "-" + spec.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') c = '_';
  }
  return name;
}

JobInfo ParseJob(const std::string& text) {
  JobInfo job;
  std::istringstream in(text);
  std::string field;
  while (in >> field) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) continue;
    std::string key = field.substr(0, eq);
    std::string value = field.substr(eq + 1);
    if (key == "pid") job.pid = std::atoll(value.c_str());
    if (key == "pgid") job.pgid = std::atoll(value.c_str());
    if (key == "start") job.start_time = value;
    if (key == "container") job.container = value;
    if (key == "cgroup") {
      std::getline(in, field);  // the last field: the path may hold spaces
      job.cgroup = value + field;
    }
  }
  return job;
}

Stopped StopJob(const JobInfo& job, int64_t grace_ms) {
  if (!job.cgroup.empty()) return Cgroups::Stop(job.cgroup, grace_ms);
  Stopped out;
  if (!SameProcess(job.pgid, job.start_time)) return out;
  out.processes = 1;
  ::kill(static_cast<pid_t>(-job.pgid), SIGTERM);
  for (int64_t waited = 0; waited < grace_ms && !GroupGone(job.pgid); waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(static_cast<pid_t>(-job.pgid), SIGKILL);
  for (int i = 0; i < 100 && !GroupGone(job.pgid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  out.all_gone = GroupGone(job.pgid);
  return out;
}

}  // namespace

struct LocalExecutor::Job {
  LaunchSpec spec;
  std::string container;       // its containers' names start with this
  std::vector<int64_t> gpu_ids;
  pid_t pgid = 0;
  std::map<pid_t, bool> pids;  // our direct children: pid -> still running
  int exit_code = 0;
  int64_t deadline_ms = 0;     // timeout
  int64_t kill_at_ms = 0;      // SIGKILL after SIGTERM
  bool timed_out = false;
  bool canceled = false;
  std::string start_time;
  std::string cgroup;          // empty: tracked by its process group
};

Capacity DetectCapacity(const LocalOptions& o) {
  Capacity c;
  c.cpus = o.cpus > 0 ? o.cpus : std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  c.memory_mb = o.memory_mb > 0 ? o.memory_mb
                                : static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                      ::sysconf(_SC_PAGE_SIZE) / (1024 * 1024);
  if (o.gpus >= 0) {
    c.gpus = o.gpus;
  } else {
    c.gpus = 0;
    for (int i = 0; i < 64; ++i) {
      if (::access(fmt::format("/dev/nvidia{}", i).c_str(), F_OK) == 0) ++c.gpus;
    }
  }
  return c;
}

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::Create(const LocalOptions& options) {
  bool sandbox = options.sandbox;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    return Status::Io(fmt::format("cannot block signals: {}", std::strerror(errno)));
  }
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Status::Io(fmt::format("signalfd: {}", std::strerror(errno)));
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    ::close(fd);
    return Status::Io(fmt::format("cannot become the subreaper: {}", std::strerror(errno)));
  }
  std::unique_ptr<LocalExecutor> ex(new LocalExecutor(fd));
  ex->capacity_ = DetectCapacity(options);
  ex->containers_conf_ = options.containers_conf;
  ex->gpu_busy_.assign(static_cast<size_t>(ex->capacity_.gpus), false);
  ex->cgroups_ = Cgroups::Open();
  ex->own_namespaces_ = sandbox && CanMakeMountNamespaces();
  bool bwrap_sandbox = sandbox && !ex->own_namespaces_;
  bool bwrap_pids = !ex->cgroups_;
  if (bwrap_sandbox || bwrap_pids) {
    Status s = CheckBubblewrap(bwrap_sandbox, bwrap_pids);
    if (s.ok()) {
      ex->bubblewrap_pids_ = bwrap_pids;
    } else if (bwrap_sandbox) {
      return s;
    } else {
      ex->warnings_.push_back(
          "weft can make neither cgroups (it is not root) nor PID namespaces (bubblewrap is "
          "missing or cannot make them): processes a step leaves behind may outlive this run if "
          "weft is killed; install bubblewrap to prevent it");
    }
  }
  return ex;
}

LocalExecutor::LocalExecutor(int signal_fd) : signal_fd_(signal_fd) {}

LocalExecutor::~LocalExecutor() {
  for (auto& [h, job] : jobs_) Signal(*job, SIGKILL);
  // A job is over once its cgroup is empty, which can come a moment before its last processes
  // (orphans reparented to weft, the subreaper) are zombies to reap. Reap them before leaving, so
  // nothing weft started is left for whatever reaps this machine's orphans.
  for (int64_t until = SteadyMs() + 1000; SteadyMs() < until;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid < 0) break;  // no child left
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(signal_fd_);
}

// The job's code: an overlay in the step's own mount namespace (made as it starts), else a copy.
Status LocalExecutor::DeliverCode(const LaunchSpec& spec, Mounts* mounts) const {
  if (spec.code.empty()) return Status::Ok();
  if (mounts == nullptr) return CopyTree(spec.code, spec.cwd);
  std::string scratch = DirName(spec.cwd) + "/.overlay";
  Status s = MakeDir(scratch);
  if (!s.ok()) return s;
  mounts->overlay_lower = spec.code;
  mounts->overlay_on = spec.cwd;
  mounts->overlay_scratch = scratch;
  return Status::Ok();
}

std::vector<std::string> LocalExecutor::Argv(const LaunchSpec& spec) const {
  std::vector<std::string> args = spec.script_path.empty()
                                      ? std::vector<std::string>{"/bin/bash", "-c", spec.command}
                                      : std::vector<std::string>{"/bin/bash", spec.script_path};
  bool bwrap_sandbox = spec.sandbox && !own_namespaces_;
  if (bwrap_sandbox || bubblewrap_pids_) {
    args = BubblewrapArgv(bwrap_sandbox ? &*spec.sandbox : nullptr, bubblewrap_pids_, args);
  }
  return args;
}

Result<uint64_t> LocalExecutor::Submit(const LaunchSpec& spec) {
  // Every program the command starts gets the command's values as its arguments at most: raise
  // the stack limit so that Linux gives them room (a quarter of it), up to its 6 MiB cap.
  uint64_t env_bytes = 0;
  for (const std::string& e : spec.env) env_bytes += e.size() + 1 + sizeof(char*);
  uint64_t need = spec.command.size() + env_bytes;
  if (need > kArgumentSpaceCap) {
    return Status::Invalid(fmt::format(
        "step {}: its command is {} and its environment {}; Linux passes at most {} of arguments "
        "and environment to a program, whatever the stack limit, so the programs it starts could "
        "not receive them; pass long lists of values in a file instead",
        spec.step, Size(spec.command.size()), Size(env_bytes), Size(kArgumentSpaceCap)));
  }
  if (!spec.script_path.empty()) {
    Status s = WriteScript(spec.script_path, spec.command);
    if (!s.ok()) return s;
  }
  if (spec.container) {  // podman's --volume=SRC:DST:MODE cannot say a colon in a path
    for (const auto* list : {&spec.container->read_only, &spec.container->writable}) {
      for (const std::string& d : *list) {
        if (d.find(':') != std::string::npos) {
          return Status::Invalid(fmt::format("step {}: {} holds a `:`, which podman cannot bind into "
                                             "a container; move the workspace to a path without one",
                                             spec.step, d));
        }
      }
    }
  }
  auto job = std::make_unique<Job>();
  job->spec = spec;
  int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::Io(fmt::format("{}: cannot open the log: {}", spec.log_path, std::strerror(errno)));
  }
  int cgroup_fd = -1;
  if (cgroups_ && !spec.group.empty()) {
    std::string name = spec.group + "/" + spec.name;
    Result<int> fd = cgroups_->Create(name);
    if (!fd.ok()) {
      ::close(log_fd);
      return fd.status();
    }
    cgroup_fd = *fd;
    job->cgroup = cgroups_->PathOf(name);
  }
  std::vector<std::vector<std::string>> processes = ProcessEnv(spec, *job);
  ProcessSpec ps;
  ps.argv = Argv(spec);
  ps.cwd = spec.cwd;
  ps.out_fd = log_fd;
  ps.cgroup_fd = cgroup_fd;
  std::optional<Mounts> mounts;  // (a container is its own sandbox)
  if (spec.sandbox && own_namespaces_ && !spec.container) mounts = spec.sandbox;
  if (spec.container) job->container = ContainerName(spec);
  Status delivered = DeliverCode(spec, mounts ? &*mounts : nullptr);
  if (!delivered.ok()) {
    ::close(log_fd);
    if (cgroup_fd >= 0) ::close(cgroup_fd);
    return delivered;
  }
  ps.mounts = mounts ? &*mounts : nullptr;
  ps.stack_bytes = 4 * need + (1 << 20);
  Status failed = Status::Ok();
  for (const std::vector<std::string>& extra : processes) {
    // The whole environment of this process: the step's, then its own (RANK and friends).
    ps.env = spec.env;
    ps.env.insert(ps.env.end(), extra.begin(), extra.end());
    if (spec.container) {  // podman runs it: one container per process
      ps.env.push_back("CONTAINERS_CONF=" + spec.container->conf);
      std::string name = job->container;
      if (processes.size() > 1) name += fmt::format("-{}", job->pids.size());
      ps.argv = PodmanRunArgv(spec, name, ps.env);
    }
    ps.pgid = job->pgid;
    Result<pid_t> pid = Spawn(ps);
    if (!pid.ok()) {
      failed = Status(pid.status().code(),
                      fmt::format("step {}: {}", spec.step, pid.status().message()));
      break;
    }
    if (job->pgid == 0) job->pgid = *pid;
    job->pids[*pid] = true;
  }
  ::close(log_fd);
  if (cgroup_fd >= 0) ::close(cgroup_fd);
  if (!failed.ok()) {
    if (job->pgid != 0) Signal(*job, SIGKILL);
    for (int64_t g : job->gpu_ids) gpu_busy_[static_cast<size_t>(g)] = false;
    return failed;
  }
  job->start_time = RealOs().ProcessStartTime(job->pgid);
  if (spec.timeout_ms > 0) job->deadline_ms = SteadyMs() + spec.timeout_ms;
  uint64_t handle = next_handle_++;
  jobs_[handle] = std::move(job);
  return handle;
}

// Each process's own variables: a distributed job's ranks and addresses (all its processes run
// here, so the master is this machine), and the GPUs the job is given.
std::vector<std::vector<std::string>> LocalExecutor::ProcessEnv(const LaunchSpec& spec, Job& job) {
  std::vector<std::string> common;
  if (capacity_.gpus > 0) {  // the devices given, and only those, are visible
    std::string ids;
    for (size_t g = 0; g < gpu_busy_.size() && static_cast<int64_t>(job.gpu_ids.size()) < spec.needs.gpus; ++g) {
      if (gpu_busy_[g]) continue;
      gpu_busy_[g] = true;
      job.gpu_ids.push_back(static_cast<int64_t>(g));
      ids += (ids.empty() ? "" : ",") + std::to_string(g);
    }
    common.push_back("CUDA_VISIBLE_DEVICES=" + ids);
  }
  const Distribution& d = spec.distribution;
  if (d.type.empty()) return {common};
  std::vector<std::vector<std::string>> out;
  int64_t world = d.processes();
  int port = 29500 + static_cast<int>(next_handle_ % 1000);  // concurrent jobs do not collide
  for (int64_t rank = 0; rank < world; ++rank) {
    std::vector<std::string> extra = common;
    extra.insert(extra.end(), {fmt::format("RANK={}", rank), fmt::format("LOCAL_RANK={}", rank % d.per_instance),
                               fmt::format("NODE_RANK={}", rank / d.per_instance),
                               fmt::format("WORLD_SIZE={}", world), "MASTER_ADDR=127.0.0.1",
                               fmt::format("MASTER_PORT={}", port)});
    if (d.type == "tensorflow") {
      std::string workers;
      for (int64_t k = 0; k < world; ++k) workers += fmt::format("{}\"127.0.0.1:{}\"", k ? ", " : "", 30000 + k);
      extra.push_back(fmt::format(
          R"(TF_CONFIG={{"cluster": {{"worker": [{}]}}, "task": {{"type": "worker", "index": {}}}}})",
          workers, rank));
    }
    out.push_back(std::move(extra));
  }
  return out;
}

std::string LocalExecutor::JobId(uint64_t handle) const {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return {};
  const Job& j = *it->second;
  return FormatJob({j.pgid, j.pgid, j.start_time, j.cgroup, j.container});
}

std::string LocalExecutor::TrackRun(const std::string& group) {
  return cgroups_ ? cgroups_->PathOf(group) : std::string();
}

void LocalExecutor::ReleaseRun(const std::string& tracking) {
  if (!tracking.empty()) Cgroups::Remove(tracking);
}

Stopped LocalExecutor::StopRun(const std::string& tracking, const std::vector<std::string>& job_ids,
                               int64_t grace_ms) {
  // Every job's cgroup is below the run's; jobs without one are stopped by process group.
  Stopped stopped = tracking.empty() ? Stopped{} : Cgroups::Stop(tracking, grace_ms);
  for (const std::string& id : job_ids) {
    JobInfo job = ParseJob(id);
    if (!job.container.empty() && !containers_conf_.empty()) {
      RemoveContainers(containers_conf_, job.container);  // podman's, not in weft's cgroups
    }
    if (!tracking.empty() && job.cgroup.rfind(tracking + "/", 0) == 0) continue;  // stopped
    Stopped one = StopJob(job, grace_ms);
    stopped.processes += one.processes;
    stopped.all_gone &= one.all_gone;
  }
  return stopped;
}

void LocalExecutor::Signal(Job& job, int sig) {
  if (!job.cgroup.empty()) {
    Cgroups::Signal(job.cgroup, sig);
  } else {
    ::kill(-job.pgid, sig);
  }
  if (sig == SIGTERM && job.kill_at_ms == 0) job.kill_at_ms = SteadyMs() + job.spec.kill_grace_ms;
}

void LocalExecutor::Cancel(uint64_t handle, bool now) {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return;
  it->second->canceled = true;
  Signal(*it->second, now ? SIGKILL : SIGTERM);
}

void LocalExecutor::Reap() {
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& [h, job] : jobs_) {
      auto p = job->pids.find(pid);
      if (p == job->pids.end() || !p->second) continue;
      p->second = false;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (job->exit_code == 0) job->exit_code = code;
    }
    // Orphaned grandchildren reparented to us are reaped here too.
  }
}

// The job is over when none of its processes is left, stragglers included: its cgroup is empty,
// or (without one) its process group is gone.
bool LocalExecutor::Over(const Job& job) const {
  for (const auto& [pid, alive] : job.pids) {
    if (alive) return false;
  }
  return job.cgroup.empty() ? GroupGone(job.pgid) : !Cgroups::Populated(job.cgroup);
}

std::vector<JobEnd> LocalExecutor::Wait(int64_t timeout_ms) {
  int64_t until = SteadyMs() + timeout_ms;
  std::vector<JobEnd> ended;
  bool interrupted = DrainInterruptFd();
  while (true) {
    Reap();
    int64_t now = SteadyMs();
    int64_t next_wake = until;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& job = *it->second;
      if (job.deadline_ms != 0 && now >= job.deadline_ms && !job.timed_out && !job.canceled) {
        job.timed_out = true;
        Signal(job, SIGTERM);
      }
      if (job.kill_at_ms != 0 && now >= job.kill_at_ms) {
        Signal(job, SIGKILL);
        job.kill_at_ms = 0;
      }
      if (Over(job)) {
        if (!job.cgroup.empty()) Cgroups::Remove(job.cgroup);
        for (int64_t g : job.gpu_ids) gpu_busy_[static_cast<size_t>(g)] = false;
        JobEnd end;
        end.handle = it->first;
        end.exit_code = job.exit_code;
        end.reason = job.canceled    ? EndReason::kCanceled
                     : job.timed_out ? EndReason::kTimedOut
                                     : EndReason::kExited;
        ended.push_back(end);
        it = jobs_.erase(it);
        continue;
      }
      if (job.deadline_ms != 0 && !job.timed_out) next_wake = std::min(next_wake, job.deadline_ms);
      if (job.kill_at_ms != 0) next_wake = std::min(next_wake, job.kill_at_ms);
      // Leaders gone but stragglers remain: look again soon (they are not our children).
      bool leaders_done = std::none_of(job.pids.begin(), job.pids.end(),
                                       [](const auto& p) { return p.second; });
      if (leaders_done) next_wake = std::min(next_wake, now + 20);
      ++it;
    }
    if (!ended.empty() || interrupted || now >= until) return ended;
    pollfd pfds[2] = {{signal_fd_, POLLIN, 0}, {InterruptFd(), POLLIN, 0}};
    int wait_ms = static_cast<int>(std::max<int64_t>(0, next_wake - now));
    if (::poll(pfds, InterruptFd() >= 0 ? 2 : 1, wait_ms) > 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
      }
      interrupted = DrainInterruptFd();
    }
  }
}

}  // namespace weft::exec
