// The local executor: each job is a process group started with `bash -c`.
//
// weft is the subreaper of everything it starts (PR_SET_CHILD_SUBREAPER), so orphaned grandchildren
// come back to it; a job ends only when its whole process group is gone, so no straggler can write
// into an output after it was committed. One thread owns all children: SIGCHLD, SIGINT and SIGTERM
// arrive through a signalfd that Wait() polls.
#pragma once

#include <map>
#include <memory>

#include "exec/executor.h"

namespace weft::exec {

class LocalExecutor : public Executor {
 public:
  // Blocks SIGCHLD, SIGINT and SIGTERM in the calling thread (call before starting other threads)
  // and becomes the children's subreaper.
  static Result<std::unique_ptr<LocalExecutor>> Create();
  ~LocalExecutor() override;

  Result<uint64_t> Submit(const LaunchSpec& spec) override;
  JobInfo Info(uint64_t handle) const override;
  std::vector<JobEnd> Wait(int64_t timeout_ms) override;
  void Cancel(uint64_t handle) override;
  size_t running() const override { return jobs_.size(); }
  bool interrupted() const override { return interrupted_; }

 private:
  struct Job;
  explicit LocalExecutor(int signal_fd);
  void Reap();
  void Signal(Job& job, int sig);

  int signal_fd_;
  bool interrupted_ = false;
  uint64_t next_handle_ = 1;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
};

// Reads field 22 (start time in clock ticks) of /proc/PID/stat; empty when the process is gone.
std::string ProcessStartTime(int64_t pid);
// Whether `pid` has ended: gone, or a zombie waiting for its parent to collect it.
bool ProcessEnded(int64_t pid);
// This boot of this machine (/proc/sys/kernel/random/boot_id), to tell a pid of an earlier boot.
const std::string& BootId();

}  // namespace weft::exec
