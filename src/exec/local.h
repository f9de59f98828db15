// The local executor: each job is a process group started with bash, on this machine.
//
// Every process a job starts stays findable, however deep and wherever it moves:
//   - as root (or with a delegated cgroup subtree), each job gets its own cgroup (exec/cgroup.h):
//     the job ends when the cgroup is empty, cancelling kills everything in it, and a later weft
//     finds what a killed weft left through the cgroup folders it recorded;
//   - otherwise each job runs in its own PID namespace under bubblewrap, whose first process dies
//     with weft and takes every process of the job with it.
// The sandbox (LaunchSpec::sandbox) is a mount namespace made in the child as root, bubblewrap
// otherwise. weft is the subreaper of everything it starts (PR_SET_CHILD_SUBREAPER), so orphaned
// grandchildren come back to it. One thread owns all children: SIGCHLD arrives through a signalfd
// that Wait() polls, with the interrupt pipe (base/interrupt.h).
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "exec/cgroup.h"
#include "exec/executor.h"

namespace weft::exec {

class LocalExecutor : public Executor {
 public:
  // Blocks SIGCHLD in the calling thread (call before starting other threads) and becomes the
  // children's subreaper. With `sandbox`, fails when no sandbox can be made here (the error says
  // how to fix it or opt out).
  static Result<std::unique_ptr<LocalExecutor>> Create(bool sandbox);
  ~LocalExecutor() override;

  Result<uint64_t> Submit(const LaunchSpec& spec) override;
  JobInfo Info(uint64_t handle) const override;
  std::vector<JobEnd> Wait(int64_t timeout_ms) override;
  void Cancel(uint64_t handle, bool now = false) override;
  size_t running() const override { return jobs_.size(); }
  std::string GroupPath(const std::string& group) const override;
  void ReleaseGroup(const std::string& group) override;
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  struct Job;
  explicit LocalExecutor(int signal_fd);
  void Reap();
  void Signal(Job& job, int sig);
  bool Over(const Job& job) const;
  std::vector<std::string> Argv(const LaunchSpec& spec) const;

  int signal_fd_;
  uint64_t next_handle_ = 1;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
  std::optional<Cgroups> cgroups_;  // none: PID namespaces under bubblewrap, where it works
  bool own_namespaces_ = false;     // the sandbox is a mount namespace weft makes itself
  bool bubblewrap_pids_ = false;    // jobs run in a PID namespace under bubblewrap
  std::vector<std::string> warnings_;
};

// Reads field 22 (start time in clock ticks) of /proc/PID/stat; empty when the process is gone.
std::string ProcessStartTime(int64_t pid);
// Whether `pid` has ended: gone, or a zombie waiting for its parent to collect it.
bool ProcessEnded(int64_t pid);
// This boot of this machine (/proc/sys/kernel/random/boot_id), to tell a pid of an earlier boot.
const std::string& BootId();

// The durable form of a job ("pid=P pgid=G start=T cgroup=PATH"), and back.
std::string FormatJob(const JobInfo& job);
JobInfo ParseJob(const std::string& text);

// Stops what a job of a weft that is gone left running: everything in its cgroup, else its
// process group (if its leader is still the process recorded: same start time). SIGTERM, then
// SIGKILL after `grace_ms`. Says how many processes there were and whether all have gone.
Cgroups::Stopped StopJob(const JobInfo& job, int64_t grace_ms);

}  // namespace weft::exec
