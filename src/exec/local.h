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

// How the local target is set up: whether steps run sandboxed, and its capacity (0, or -1 for
// GPUs: what the machine has).
struct LocalOptions {
  bool sandbox = true;
  int64_t cpus = 0;
  int64_t memory_mb = 0;
  int64_t gpus = -1;
  // The containers.conf of the workspace's container jobs (exec/podman.h), for removing what a
  // dead weft's left.
  std::string containers_conf;
};

class LocalExecutor : public Executor {
 public:
  // Blocks SIGCHLD in the calling thread (call before starting other threads) and becomes the
  // children's subreaper. With a sandbox, fails when none can be made here (the error says how
  // to fix it or opt out).
  static Result<std::unique_ptr<LocalExecutor>> Create(const LocalOptions& options);
  ~LocalExecutor() override;

  Capacity capacity() const override { return capacity_; }
  Result<uint64_t> Submit(const LaunchSpec& spec) override;
  std::string JobId(uint64_t handle) const override;
  std::vector<JobEnd> Wait(int64_t timeout_ms) override;
  void Cancel(uint64_t handle, bool now = false) override;
  size_t running() const override { return jobs_.size(); }
  std::string TrackRun(const std::string& group) override;
  void ReleaseRun(const std::string& tracking) override;
  Stopped StopRun(const std::string& tracking, const std::vector<std::string>& job_ids,
                  int64_t grace_ms) override;
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  struct Job;
  explicit LocalExecutor(int signal_fd);
  void Reap();
  void Signal(Job& job, int sig);
  bool Over(const Job& job) const;
  std::vector<std::string> Argv(const LaunchSpec& spec) const;
  Status DeliverCode(const LaunchSpec& spec, Mounts* mounts) const;
  // The variables of each process of the job: its place in a distributed job, its GPUs.
  std::vector<std::vector<std::string>> ProcessEnv(const LaunchSpec& spec, Job& job);

  int signal_fd_;
  Capacity capacity_;
  uint64_t next_handle_ = 1;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
  std::vector<bool> gpu_busy_;
  std::optional<Cgroups> cgroups_;  // none: PID namespaces under bubblewrap, where it works
  bool own_namespaces_ = false;     // the sandbox is a mount namespace weft makes itself
  bool bubblewrap_pids_ = false;    // jobs run in a PID namespace under bubblewrap
  std::vector<std::string> warnings_;
  std::string containers_conf_;
};

// The machine's capacity: its CPUs, memory and GPUs (NVIDIA device files), unless `options`
// says otherwise.
Capacity DetectCapacity(const LocalOptions& options);

}  // namespace weft::exec
