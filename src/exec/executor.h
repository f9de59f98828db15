// Executors run jobs somewhere and report when they end: one executor per compute target.
//
// The interface is asynchronous so that a batch system fits it as well as local processes: Submit
// returns at once with a handle, Wait collects what finished, Cancel stops one job. A job's
// identity (JobId) is the executor's own text, opaque to the engine, which records it so that a
// later weft can stop what a dead one left (StopJob) or re-attach. Capacity, device assignment,
// the addresses and ranks of a distributed job's processes, and confinement (the sandbox) belong to
// the executor too: the engine only decides what runs when.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/spawn.h"

namespace weft::exec {

// What a target can run at once. memory_mb 0: not limited.
struct Capacity {
  int64_t cpus = 1;
  int64_t memory_mb = 0;
  int64_t gpus = 0;
};

// What one job needs of its target (scheduling only; weft does not limit what a job then uses).
struct Needs {
  int64_t cpus = 1;
  int64_t memory_mb = 0;
  int64_t gpus = 0;
};

// A distributed job: `instances` x `per_instance` processes of one command, each told its place
// (RANK, LOCAL_RANK, NODE_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; TF_CONFIG for tensorflow).
struct Distribution {
  std::string type;  // pytorch, tensorflow, mpi; empty: one process
  int64_t instances = 1;
  int64_t per_instance = 1;
  int64_t processes() const { return type.empty() ? 1 : instances * per_instance; }
};

// A job that runs in a container (exec/podman.h) rather than on the host.
struct Container {
  std::string image;  // a local image's id or reference
  std::string conf;   // the containers.conf podman runs with
  bool network = false;        // false: --network none
  std::string shm_size;        // resources.shm_size ("2g"); empty: podman's default
  std::vector<std::string> options;  // podman options from resources.docker_args (ReadDockerArgs)
  std::vector<std::string> read_only, writable;  // folders bound at the same paths
};

struct LaunchSpec {
  std::string step;              // for messages
  std::string command;           // run by bash
  // Where the command is written for bash to run (so that no single-argument limit applies to
  // it); empty: `bash -c COMMAND`.
  std::string script_path;
  std::string cwd;
  // A stored code folder (read-only) whose files the job finds in `cwd`, which keeps what the
  // job writes: the executor mounts it there where it can (an overlay: nothing is copied, and the
  // stored folder never changes), else copies it in.
  std::string code;
  std::vector<std::string> env;  // the whole environment, "NAME=value"
  Distribution distribution;
  Needs needs;                   // what the scheduler gave it (GPUs are assigned by the executor)
  std::string log_path;          // stdout and stderr of every process, appended
  int64_t timeout_ms = 0;        // 0: no limit
  int64_t kill_grace_ms = 5000;  // after SIGTERM, SIGKILL follows
  std::optional<Mounts> sandbox;  // none: the command runs unconfined
  // In a container: the container is the sandbox (`sandbox` is not used), the code is copied in.
  std::optional<Container> container;
  // Where the job belongs, so that its processes can be found again: the run's group
  // ("weft-<workspace>-<run>", see Executor::TrackRun) and the job's name in it.
  std::string group;
  std::string name;
};

// kFailed: the job's system ended it, or lost it, in a way a retry would not mend (a batch job
// cancelled outside weft); the message says what happened.
enum class EndReason { kExited, kTimedOut, kCanceled, kFailedToStart, kFailed };

struct JobEnd {
  uint64_t handle = 0;
  EndReason reason = EndReason::kExited;
  int exit_code = 0;   // first non-zero exit of the job's processes (128+N for signal N)
  // What the executor knows of why it ended, when more than its exit code ("killed by Slurm: out
  // of memory (2048 MB)").
  std::string message;
};

// What stopping the leftovers of a dead weft found: how many processes, and whether all went.
struct Stopped {
  size_t processes = 0;
  bool all_gone = true;
};

class Executor {
 public:
  virtual ~Executor() = default;

  virtual Capacity capacity() const = 0;
  virtual Result<uint64_t> Submit(const LaunchSpec& spec) = 0;
  // Starts a parallel step's workers together (same command and needs, each its own folder), as
  // one unit where the target has one: a Slurm job array whose tasks (the step's instances) run
  // `per_task` workers each. One result per spec, in order. By default, each is submitted alone.
  virtual std::vector<Result<uint64_t>> SubmitArray(const std::vector<LaunchSpec>& specs,
                                                    size_t per_task) {
    std::vector<Result<uint64_t>> out;
    for (const LaunchSpec& spec : specs) out.push_back(Submit(spec));
    return out;
  }
  // The job's durable identity (recorded with the step), as this executor reads it back.
  virtual std::string JobId(uint64_t handle) const = 0;
  // Waits up to `timeout_ms` for jobs to end; returns early when one does, or when an interrupt
  // arrives (base/interrupt.h).
  virtual std::vector<JobEnd> Wait(int64_t timeout_ms) = 0;
  // Stops one job: asks it to stop and kills it after its grace period, or at once with `now`.
  virtual void Cancel(uint64_t handle, bool now = false) = 0;
  virtual size_t running() const = 0;

  // Where this executor tracks the jobs of a run's group (recorded with the run, for StopRun):
  // empty when it keeps no such record.
  virtual std::string TrackRun(const std::string& group) = 0;
  // The run's jobs have all ended: forget its group.
  virtual void ReleaseRun(const std::string& tracking) = 0;
  // For a run whose weft is gone: stops every process of its jobs (the tracking TrackRun gave, and
  // the jobs recorded by id), SIGTERM then SIGKILL after `grace_ms`.
  virtual Stopped StopRun(const std::string& tracking, const std::vector<std::string>& job_ids,
                          int64_t grace_ms) = 0;

  // Whether its jobs keep running when the weft that started them dies (a batch system's do;
  // local processes are stopped with it). Such jobs are left to run when a dead weft's run is
  // settled, and `weft resume` re-attaches to them with Adopt.
  virtual bool JobsOutliveWeft() const { return false; }
  // Takes a job a dead weft started (by its JobId) back under watch, as if Submit had started
  // it with `spec`; nullopt when it is gone or cannot be adopted (it is then run again).
  virtual std::optional<uint64_t> Adopt(const std::string& job_id, const LaunchSpec& spec) {
    return std::nullopt;
  }

  // What this executor could not provide here (said once, at the start of a run).
  virtual std::vector<std::string> warnings() const = 0;
};

}  // namespace weft::exec
