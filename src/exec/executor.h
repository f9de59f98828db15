// Executors run launch specs somewhere and report when they end.
//
// The interface is asynchronous so that it fits a batch system as well as local processes:
// Submit returns at once with a handle (and a persistent job id), Wait collects what finished,
// Cancel stops one job. The local executor runs process groups on this machine; Slurm comes next.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/spawn.h"

namespace weft::exec {

struct LaunchSpec {
  std::string step;              // for messages
  std::string command;           // run by bash
  // Where the command is written for bash to run (so that no single-argument limit applies to
  // it); empty: `bash -c COMMAND`.
  std::string script_path;
  std::string cwd;
  std::vector<std::string> env;  // the whole environment, "NAME=value"
  // Extra variables per process: one entry per process to start (distributed jobs start several,
  // each with its RANK and friends). Empty means one process with no extras.
  std::vector<std::vector<std::string>> per_process_env;
  std::string log_path;          // stdout and stderr of every process, appended
  int64_t timeout_ms = 0;        // 0: no limit
  int64_t kill_grace_ms = 5000;  // after SIGTERM, SIGKILL follows
  std::optional<Mounts> sandbox;  // none: the command runs unconfined
  // Where the job's processes are tracked, so that a later weft can find them: the run's group
  // ("weft-<workspace>-<run>") and the job's name in it ("<step>.<attempt>").
  std::string group;
  std::string name;
};

enum class EndReason { kExited, kTimedOut, kCanceled, kFailedToStart };

struct JobEnd {
  uint64_t handle = 0;
  EndReason reason = EndReason::kExited;
  int exit_code = 0;   // first non-zero exit of the job's processes (128+N for signal N)
  std::string message;
};

// What a job is, durable enough to find it again after weft restarts.
struct JobInfo {
  std::string job_id;  // local: "<pid>"; a batch system's own id elsewhere
  int64_t pid = 0;
  int64_t pgid = 0;
  std::string start_time;  // /proc/<pid>/stat field 22, so that a reused pid is never mistaken
  std::string cgroup;      // the cgroup holding every process of the job (local, where possible)
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual Result<uint64_t> Submit(const LaunchSpec& spec) = 0;
  virtual JobInfo Info(uint64_t handle) const = 0;
  // Waits up to `timeout_ms` for jobs to end (returns early when one does, or when an interrupt
  // arrives: base/interrupt.h).
  virtual std::vector<JobEnd> Wait(int64_t timeout_ms) = 0;
  // Stops one job: asks it to stop and kills it after its grace period, or at once with `now`.
  virtual void Cancel(uint64_t handle, bool now = false) = 0;
  virtual size_t running() const = 0;
  // Where the jobs of `group` are tracked, for a later weft to stop what a dead run left
  // (StopGroup); empty when this executor keeps no such record. ReleaseGroup forgets it once
  // the group's jobs have ended.
  virtual std::string GroupPath(const std::string& group) const = 0;
  virtual void ReleaseGroup(const std::string& group) = 0;
  // What the executor could not provide here (said once, at the start of a run).
  virtual std::vector<std::string> warnings() const = 0;
};

}  // namespace weft::exec
