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
#include "exec/sandbox.h"

namespace weft::exec {

struct LaunchSpec {
  std::string step;              // for messages
  std::string command;           // run with `bash -c`
  std::string cwd;
  std::vector<std::string> env;  // the whole environment, "NAME=value"
  // Extra variables per process: one entry per process to start (distributed jobs start several,
  // each with its RANK and friends). Empty means one process with no extras.
  std::vector<std::vector<std::string>> per_process_env;
  std::string log_path;          // stdout and stderr of every process, appended
  int64_t timeout_ms = 0;        // 0: no limit
  int64_t kill_grace_ms = 5000;  // after SIGTERM, SIGKILL follows
  std::optional<Sandbox> sandbox;  // none: the command runs unconfined
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
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual Result<uint64_t> Submit(const LaunchSpec& spec) = 0;
  virtual JobInfo Info(uint64_t handle) const = 0;
  // Waits up to `timeout_ms` for jobs to end (returns early when one does, or when interrupted).
  virtual std::vector<JobEnd> Wait(int64_t timeout_ms) = 0;
  virtual void Cancel(uint64_t handle) = 0;
  virtual size_t running() const = 0;
  // True once SIGINT or SIGTERM reached weft (the local executor watches them with SIGCHLD).
  virtual bool interrupted() const = 0;
};

}  // namespace weft::exec
