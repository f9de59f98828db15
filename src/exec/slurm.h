// The Slurm executor: each job is a Slurm batch job (sbatch), on a cluster whose nodes share the
// workspace folder.
//
// weft, its database and its scheduling stay on this host; a node only runs the job. The batch
// job runs `weft slurm-job` (RunSlurmJob below), which runs the step exactly as the local
// executor would on that node (same sandbox, same process tracking, same timeout), then writes
// how it ended into the attempt folder (`slurm.status`) before the job ends. That file is the first
// source of a job's end: clusters forget finished jobs after MinJobAge and often have no
// accounting. squeue, scontrol and sacct are the second, for jobs that ended without writing it
// (cancelled outside weft, killed by Slurm, their node lost):
//   NODE_FAIL, PREEMPTED          requeued (same job id), not counted as a retry
//   TIMEOUT                       timed out (counts against weft.retries)
//   OUT_OF_MEMORY                 failed, "killed by Slurm: out of memory (N MB)" (counts too)
//   CANCELLED (not by weft)       failed, "cancelled outside weft", not retried
//   anything else                 failed, naming Slurm's state and the job's own output
// Jobs outlive weft: `weft resume` re-attaches to them by job id (Adopt). A parallel step's workers
// are one job array (SubmitArray): its task N runs the workers of instance N side by side.
//
// The batch script holds the job's description (the LaunchSpec, with the step's environment) as a
// here-document of `weft slurm-job`: Slurm keeps it in its own state, so the step can never change
// what a requeued job runs, and weft removes its copy once sbatch has read it. The attempt folder
// holds, besides what every attempt has, `slurm.out` (what the job itself printed, before and
// after the step) and `slurm.status`.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "exec/executor.h"

namespace weft::exec {

// A `type: slurm` compute target, as the workspace configuration declares it (docs/compute.md).
struct SlurmOptions {
  std::string partition, account, qos;
  std::vector<std::string> sbatch_args;  // passed to sbatch as they are, after weft's own
  std::vector<std::string> setup;        // lines run by bash before the step's command
  // Variables of weft's environment the job gets besides the step's own (names).
  std::vector<std::string> export_vars;
  // The weft the nodes run (default: this one, by its path: the nodes see it at the same place).
  std::string weft;
  // CPUs weft's jobs may hold at once on the cluster, queued or running (0: no limit; Slurm queues).
  int64_t max_cpus = 0;
  bool sandbox = true;
};

class SlurmExecutor : public Executor {
 public:
  // Checks that the Slurm commands are here and that the controller answers (sinfo), and that the
  // partition exists.
  static Result<std::unique_ptr<SlurmExecutor>> Create(const std::string& name, SlurmOptions options);

  Capacity capacity() const override;
  Result<uint64_t> Submit(const LaunchSpec& spec) override;
  // A parallel step's workers: one job array, whose task N runs specs[N * per_task] and the
  // per_task - 1 after it.
  std::vector<Result<uint64_t>> SubmitArray(const std::vector<LaunchSpec>& specs,
                                            size_t per_task) override;
  std::string JobId(uint64_t handle) const override;
  std::vector<JobEnd> Wait(int64_t timeout_ms) override;
  void Cancel(uint64_t handle, bool now = false) override;
  size_t running() const override { return jobs_.size(); }
  std::string TrackRun(const std::string&) override { return {}; }
  void ReleaseRun(const std::string&) override {}
  Stopped StopRun(const std::string& tracking, const std::vector<std::string>& job_ids,
                  int64_t grace_ms) override;
  bool JobsOutliveWeft() const override { return true; }
  std::optional<uint64_t> Adopt(const std::string& job_id, const LaunchSpec& spec) override;
  std::vector<std::string> warnings() const override { return {}; }

 private:
  struct Job {
    std::string slurm_id;
    std::string dir;  // the attempt folder
    std::string step;
    int64_t memory_mb = 0;
    bool canceled = false;
    int requeues = 0;
  };
  SlurmExecutor(std::string name, SlurmOptions options)
      : name_(std::move(name)), options_(std::move(options)) {}
  // How the job ended, from its status file; nullopt while it has not written one. `outside`:
  // the step was stopped, but not by weft.
  std::optional<JobEnd> FromStatusFile(const Job& job, bool* outside = nullptr) const;
  // Asks Slurm about jobs that have no status file yet; returns those that ended.
  std::vector<JobEnd> AskSlurm();
  uint64_t Track(Job job);
  // The spec as the node runs it: this target's setup lines and exported variables added.
  LaunchSpec ForNode(const LaunchSpec& spec) const;
  // What sbatch is asked for such a job (`copies` of it at once, for a job array's task):
  // partition, account, QOS, resources, time, the target's own arguments.
  std::vector<std::string> Resources(const LaunchSpec& spec, int64_t copies = 1) const;
  // Submits the batch script that gives `weft slurm-job` its description; returns the job id.
  Result<std::string> Sbatch(const std::string& step, const std::string& dir,
                             const std::string& description, std::vector<std::string> argv);

  std::string name_;
  SlurmOptions options_;
  uint64_t next_handle_ = 1;
  std::map<uint64_t, Job> jobs_;
  int64_t next_query_ms_ = 0;
};

// The job's side, run by `weft slurm-job` inside the batch job, with the job's description (JSON)
// as its standard input: runs the LaunchSpec on this node with the local executor (the step's
// environment plus Slurm's variables for the job: SLURM_*, the GPUs Slurm gave it), writes
// `slurm.status` into the attempt folder, and returns the step's exit code. A distributed step
// runs one task per process (srun, each given the description), each told its rank by Slurm's own
// variables (RANK from SLURM_PROCID, MASTER_ADDR from the job's first node).
int RunSlurmJob(bool task);

// A LaunchSpec as the job reads it, and back.
Json LaunchSpecToJson(const LaunchSpec& spec);
Result<LaunchSpec> LaunchSpecFromJson(const Json& json);

// What a Slurm job's `slurm.status` says, for `weft show` (empty fields: not known).
struct SlurmJobInfo {
  std::string job_id, node, state;
  double elapsed_s = -1;
  int64_t max_rss_mb = -1;
};
std::optional<SlurmJobInfo> ReadSlurmJobInfo(const std::string& attempt_dir);

}  // namespace weft::exec
