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
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/interrupt.h"
#include "exec/sandbox.h"
#include "exec/spawn.h"

namespace weft::exec {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
  return pid > 0 && !start.empty() && ProcessStartTime(pid) == start;
}

bool GroupGone(int64_t pgid) { return ::kill(static_cast<pid_t>(-pgid), 0) != 0 && errno == ESRCH; }

// Empties the interrupt pipe; true when an interrupt had arrived since it was last emptied.
bool DrainInterrupts() {
  bool any = false;
  char buf[64];
  while (InterruptFd() >= 0 && ::read(InterruptFd(), buf, sizeof buf) > 0) any = true;
  return any;
}

}  // namespace

struct LocalExecutor::Job {
  LaunchSpec spec;
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

std::string ProcessStartTime(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return field;
  }
  return {};
}

bool ProcessEnded(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z' ||
         stat[close + 2] == 'X';
}

const std::string& BootId() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string s;
    std::getline(in, s);
    return s;
  }();
  return id;
}

std::string FormatJob(const JobInfo& job) {
  std::string out = fmt::format("pid={} pgid={} start={}", job.pid, job.pgid, job.start_time);
  if (!job.cgroup.empty()) out += " cgroup=" + job.cgroup;
  return out;
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
    if (key == "cgroup") {
      std::getline(in, field);  // the last field: the path may hold spaces
      job.cgroup = value + field;
    }
  }
  job.job_id = std::to_string(job.pid);
  return job;
}

Cgroups::Stopped StopJob(const JobInfo& job, int64_t grace_ms) {
  if (!job.cgroup.empty()) return Cgroups::Stop(job.cgroup, grace_ms);
  Cgroups::Stopped out;
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

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::Create(bool sandbox) {
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
  ::close(signal_fd_);
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
  std::vector<std::vector<std::string>> processes = spec.per_process_env;
  if (processes.empty()) processes.emplace_back();
  ProcessSpec ps;
  ps.argv = Argv(spec);
  ps.cwd = spec.cwd;
  ps.out_fd = log_fd;
  ps.cgroup_fd = cgroup_fd;
  ps.mounts = spec.sandbox && own_namespaces_ ? &*spec.sandbox : nullptr;
  ps.stack_bytes = 4 * need + (1 << 20);
  Status failed = Status::Ok();
  for (const std::vector<std::string>& extra : processes) {
    // The whole environment of this process: the step's, then its own (RANK and friends).
    ps.env = spec.env;
    ps.env.insert(ps.env.end(), extra.begin(), extra.end());
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
    return failed;
  }
  job->start_time = ProcessStartTime(job->pgid);
  if (spec.timeout_ms > 0) job->deadline_ms = NowMs() + spec.timeout_ms;
  uint64_t handle = next_handle_++;
  jobs_[handle] = std::move(job);
  return handle;
}

JobInfo LocalExecutor::Info(uint64_t handle) const {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return {};
  const Job& j = *it->second;
  return {std::to_string(j.pgid), j.pgid, j.pgid, j.start_time, j.cgroup};
}

std::string LocalExecutor::GroupPath(const std::string& group) const {
  return cgroups_ ? cgroups_->PathOf(group) : std::string();
}

void LocalExecutor::ReleaseGroup(const std::string& group) {
  if (cgroups_) Cgroups::Remove(cgroups_->PathOf(group));
}

void LocalExecutor::Signal(Job& job, int sig) {
  if (!job.cgroup.empty()) {
    Cgroups::Signal(job.cgroup, sig);
  } else {
    ::kill(-job.pgid, sig);
  }
  if (sig == SIGTERM && job.kill_at_ms == 0) job.kill_at_ms = NowMs() + job.spec.kill_grace_ms;
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
  int64_t until = NowMs() + timeout_ms;
  std::vector<JobEnd> ended;
  bool interrupted = DrainInterrupts();
  while (true) {
    Reap();
    int64_t now = NowMs();
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
      interrupted = DrainInterrupts();
    }
  }
}

}  // namespace weft::exec
