#include "exec/local.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace weft::exec {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Starts one process of a job with posix_spawn (vfork semantics: no copy of weft's memory),
// in process group `pgid` (0: a new group led by the process), with default signal handling.
Result<pid_t> Spawn(const LaunchSpec& spec, pid_t pgid, char** envp, int log_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults = WatchedSignals();
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, pgid);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
  std::vector<std::string> args = {"/bin/bash", "-c", spec.command};
  if (spec.sandbox) args = SandboxedArgv(*spec.sandbox, args);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc == E2BIG) {
    size_t longest = 0;
    for (const std::string& a : args) longest = std::max(longest, a.size());
    return Status::Invalid(fmt::format(
        "step {}: its command is too long to start ({} bytes in one argument; Linux allows 128 KiB "
        "per argument and 2 MiB in all); pass large values as files",
        spec.step, longest));
  }
  if (rc != 0) {
    return Status::Io(fmt::format("step {}: cannot start {} in {}: {}", spec.step, args[0], spec.cwd,
                                  std::strerror(rc)));
  }
  return pid;
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

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::Create() {
  sigset_t set = WatchedSignals();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    return Status::Io(fmt::format("cannot block signals: {}", std::strerror(errno)));
  }
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Status::Io(fmt::format("signalfd: {}", std::strerror(errno)));
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    ::close(fd);
    return Status::Io(fmt::format("cannot become the subreaper: {}", std::strerror(errno)));
  }
  return std::unique_ptr<LocalExecutor>(new LocalExecutor(fd));
}

LocalExecutor::LocalExecutor(int signal_fd) : signal_fd_(signal_fd) {}

LocalExecutor::~LocalExecutor() {
  for (auto& [h, job] : jobs_) {
    ::kill(-job->pgid, SIGKILL);
  }
  ::close(signal_fd_);
}

Result<uint64_t> LocalExecutor::Submit(const LaunchSpec& spec) {
  auto job = std::make_unique<Job>();
  job->spec = spec;
  int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::Io(fmt::format("{}: cannot open the log: {}", spec.log_path, std::strerror(errno)));
  }
  std::vector<std::vector<std::string>> processes = spec.per_process_env;
  if (processes.empty()) processes.emplace_back();
  for (const std::vector<std::string>& extra : processes) {
    // The whole environment of this process: the step's, then its own (RANK and friends).
    std::vector<std::string> env = spec.env;
    env.insert(env.end(), extra.begin(), extra.end());
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    Result<pid_t> pid = Spawn(spec, job->pgid, envp.data(), log_fd);
    if (!pid.ok()) {
      ::close(log_fd);
      if (job->pgid != 0) ::kill(-job->pgid, SIGKILL);
      return pid.status();
    }
    if (job->pgid == 0) job->pgid = *pid;
    job->pids[*pid] = true;
  }
  ::close(log_fd);
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
  return {std::to_string(j.pgid), j.pgid, j.pgid, j.start_time};
}

void LocalExecutor::Signal(Job& job, int sig) {
  ::kill(-job.pgid, sig);
  if (sig == SIGTERM && job.kill_at_ms == 0) job.kill_at_ms = NowMs() + job.spec.kill_grace_ms;
}

void LocalExecutor::Cancel(uint64_t handle) {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return;
  it->second->canceled = true;
  Signal(*it->second, SIGTERM);
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
    // Orphaned grandchildren reparented to us are reaped here too; their group tells us when a
    // job's whole tree is gone.
  }
}

std::vector<JobEnd> LocalExecutor::Wait(int64_t timeout_ms) {
  int64_t until = NowMs() + timeout_ms;
  std::vector<JobEnd> ended;
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
        ::kill(-job.pgid, SIGKILL);
        job.kill_at_ms = 0;
      }
      bool leaders_done = true;
      for (const auto& [pid, alive] : job.pids) leaders_done &= !alive;
      // The job is over when no process of its group is left (stragglers included).
      bool group_gone = leaders_done && ::kill(-job.pgid, 0) != 0 && errno == ESRCH;
      if (group_gone) {
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
      if (leaders_done) next_wake = std::min(next_wake, now + 20);
      ++it;
    }
    if (!ended.empty() || interrupted_ || now >= until) return ended;
    pollfd pfd{signal_fd_, POLLIN, 0};
    int wait_ms = static_cast<int>(std::max<int64_t>(0, next_wake - now));
    if (::poll(&pfd, 1, wait_ms) > 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) interrupted_ = true;
      }
    }
  }
}

}  // namespace weft::exec
