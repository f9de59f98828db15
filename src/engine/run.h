// One run inside the engine: its steps and their jobs, readiness, reuse, claims, retries, the
// failure policy, and what it records. The engine (engine.h) owns the event loop, the scheduler
// and the executors, and drives its runs through the calls below, inside its passes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "engine/engine.h"
#include "engine/fingerprint.h"
#include "engine/plan.h"
#include "engine/scheduler.h"
#include "engine/secrets.h"
#include "meta/meta.h"

namespace weft::engine {

using meta::StepStatus;

// One job of a step: a command step has one; parallel and sweep steps many.
struct JobRun {
  StepStatus status = StepStatus::kPending;  // pending, running, retrying, or how it ended
  int64_t attempt = 0;
  uint64_t handle = 0;  // the executor's, while an attempt runs
  bool running = false;
  bool stopping = false;  // asked to stop (killed: at once)
  bool killed = false;
  std::string dir;  // the current attempt's folder
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int64_t exit_code = -1;
  std::string message;
  std::string
      stop_note;       // why the sweep stopped it or never started it (its policy, its time limit)
  std::string job_id;  // the executor's durable identity of the attempt
  int64_t retry_at_ns = 0;    // waiting to be tried again (weft.retries) at this time
  int64_t metrics_size = -1;  // its metrics file's size when last read (-1: none yet)
  uint64_t log_offset = 0;    // how much of its log observers have been given
  std::string log_partial;    // a line not finished yet
  Redactor secret;            // what the host gave it to keep to itself (JobExtras)
};

struct StepRun {
  StepStatus st = StepStatus::kPending;
  int waiting = 0;
  std::vector<uint32_t> producers;  // graph dependencies plus on_init / on_finalize ordering
  std::vector<uint32_t> consumers;
  bool selected = true;
  std::map<std::string, store::ObjectRef> outputs;
  Fingerprint fp;
  std::string target;
  std::vector<JobRun> jobs;
  bool prepared = false;   // a step with several jobs: its shared output folders exist
  bool shareable = false;  // its result may be reused, so concurrent runs compute it once
  bool claimed = false;    // this run holds the claim on its fingerprint
  // `weft resume`: the job a dead weft left running for this step, to re-attach to, and its folder.
  std::string adopt_job;
  std::string adopt_dir;
  // A parallel step: its mini-batches, planned when its first worker starts.
  std::vector<MiniBatch> batches;
  size_t batch_items = 0;
  bool batches_planned = false;
  bool batches_table = false;     // the split input is a table: mini-batches are rows
  bool batches_keepable = true;   // run() writes nothing into the outputs (so far)
  int64_t batches_looked_ns = 0;  // when the workers' results were last looked at
  // While it runs: "412/1000 mini-batches, 2 failed", "5/20 trials, best acc 0.93 (trial 3)".
  std::string progress_note;
  // A sweep: its trials so far (bayesian ones are added batch by batch) and their points in the
  // unit cube, how many have been handed to the scheduler, the primary metric's values each
  // logged and how many of them the early termination policy has looked at, when its time is up.
  std::vector<TrialParams> trials;
  std::vector<std::vector<double>> points;
  int released = 0;
  std::vector<std::vector<double>> trial_values;
  std::vector<size_t> evaluated;
  int64_t sweep_deadline_ns = 0;
  std::string sweep_over;  // why no more trials start (its time is up), once so
  int best_trial = -1;     // the trial whose outputs are the step's, once chosen
  meta::StepRecord rec;
};

class Run {
 public:
  Run(Engine& engine, const RunRequest& request, std::vector<StepPlan> plans,
      std::string submission, std::vector<std::string> kept_objects);

  const std::string& id() const { return record_.id; }
  const std::string& StepName(uint32_t step) const;
  const RunOptions& options() const { return options_; }
  const Status& error() const { return error_; }

  // Inside the engine's transaction: checks the options against the graph, records the run, and
  // makes its roots ready (reusing or queueing them).
  Status Create();
  // Tells the observers, and keeps it with the run (once created).
  void Warn(const std::string& message);
  // Says what a run would do, recording nothing.
  Status DryRun();

  // The pass's work, inside the engine's transaction.
  void Admitted(uint32_t step, int job);  // the scheduler gave a job capacity: it starts next
  void RecordStarted();                   // job ids and failures of the jobs started last pass
  void Ended(uint32_t step, int job, const exec::JobEnd& end);
  void Chores();  // claims it waits for, retries whose time came
  // `interrupted`: the run is stopped by its host going away (a server stopping), to be resumed:
  // it is recorded interrupted, not canceled.
  void Cancel(bool now, bool interrupted = false);
  // After the transaction: starts the admitted jobs (their transitions are durable).
  void StartAdmitted();
  bool has_start_failures() const { return !start_failures_.empty(); }
  // Whether it started jobs that outlive weft (batch jobs): their ids are recorded at once, not
  // in the next pass, so that a weft killed meanwhile leaves them findable by `weft resume`.
  bool started_outliving() const { return started_outliving_; }
  bool waits_for_claims() const { return !waiting_.empty(); }

  // Whether every step has ended; then Finish records the run (inside a transaction).
  bool ended() const { return done_ == steps_.size(); }
  Status Finish(RunResult* result);

  Progress progress() const;
  // Gives observers the new lines of running jobs' logs.
  void PollLogs();
  // Milliseconds until a retry is due or a sweep's time is up (-1: neither).
  int64_t NextWakeMs() const;

 private:
  Status Wire();
  void Ready(uint32_t i);
  void Drain();  // Ready() every step in ready_, without recursion
  void Queue(uint32_t i);
  void Finish(uint32_t i, StepStatus st, std::string message);
  void Halt(const std::string& why);
  void StopJobs(uint32_t i);
  void Record(uint32_t i, double seconds = 0);
  void Save(uint32_t i);
  void RecordJob(uint32_t i, int job);
  void RecordInputs(uint32_t i);
  void Fingerprinted(uint32_t i);
  void JobEnded(uint32_t i, int job, StepStatus st, std::string message);
  void StepJobsEnded(uint32_t i);
  Status Launch(uint32_t i, int job, exec::LaunchSpec* spec);
  Status CommitOutputs(uint32_t i);
  Status PublishOutputs(uint32_t i);
  bool Retry(uint32_t i, int job, const std::string& why);
  void RecordMetrics(uint32_t i, int job, bool final);
  void ReadLog(uint32_t i, int job, bool all);
  bool TryReuse(uint32_t i);
  void FindAdoptable(uint32_t i);
  bool Adopt(uint32_t i);
  bool ReuseResumed(uint32_t i);
  std::optional<store::ObjectRef> SealedOutput(const std::string& run, int64_t index,
                                               const meta::OutputRecord& o);
  void FinishReused(uint32_t i);
  bool Claim(uint32_t i);
  // What step i's claim is on: its fingerprint, within the run's project (results are shared
  // within a project only).
  std::string ClaimKey(uint32_t i) const;
  bool HolderGone(const meta::Claim& c) const;
  void CheckWaiting();
  void DueRetries();
  Slot SlotOf(uint32_t i, int job) const;
  void ReleaseSlot(uint32_t i, int job);
  int64_t Now() const;
  bool single(uint32_t i) const { return steps_[i].jobs.size() == 1; }
  std::string StepDir(uint32_t i) const;  // a step with several jobs: what they share
  std::string AttemptDir(uint32_t i, int job, int64_t attempt) const;
  std::string OutputsDir(uint32_t i) const;  // where its out.NAME folders are
  std::string ArtifactsDir(uint32_t i) const;
  // Parallel steps (run_parallel.cc).
  std::string BatchesDir(uint32_t i) const;  // the workers' claims and results
  Status PlanBatches(uint32_t i, const std::string& input_path);
  Result<std::string> PlanTable(uint32_t i, const std::string& input_path);
  std::string WorkerConfig(uint32_t i, const std::string& input_path,
                           const std::string& output_dir) const;
  void KeepBatches(uint32_t i);
  std::string GatherBatches(uint32_t i);
  // Sweeps (run_sweep.cc).
  void ReleaseTrials(uint32_t i);
  void ProposeTrials(uint32_t i);
  void TrialMetrics(uint32_t i, int job, const std::vector<meta::MetricRecord>& metrics);
  void StopTrial(uint32_t i, int job, const std::string& why);
  void SweepDeadlines();
  std::string TrialNote(uint32_t i, int job, const std::string& why) const;
  void NoteTrials(uint32_t i);
  int BestTrial(uint32_t i) const;
  std::string ChooseTrial(uint32_t i);

  Engine& engine_;
  const EngineParts& parts_;
  const spec::LoadedPipeline& pipeline_;
  const graph::Graph& g_;
  std::vector<StepPlan> plans_;
  RunOptions options_;
  Redactor redact_;  // applied to everything written about a step: logs, fields, values, messages
  std::vector<StepRun> steps_;
  std::string submission_;                 // recorded with the run, for `weft resume`
  std::vector<std::string> kept_objects_;  // code snapshots and submitted paths (hex digests)
  meta::RunRecord record_;
  std::string group_;                               // the executors' name for this run's jobs
  std::map<std::string, std::string> tracking_;     // target -> the executor's tracking of the run
  std::deque<uint32_t> ready_;                      // producers finished, not yet looked at
  std::vector<std::pair<uint32_t, int>> admitted_;  // given capacity this pass, to start
  std::vector<std::pair<uint32_t, int>> started_;   // started last pass: their job ids to record
  bool started_outliving_ = false;
  std::vector<std::tuple<uint32_t, int, Status>> start_failures_;
  std::vector<std::pair<uint32_t, int>> retrying_;  // failed attempts waiting for their next try
  std::vector<uint32_t> waiting_;  // waiting for another run computing the same fingerprint
  // Sweep steps with a time limit (limits.timeout), once started: every pass looks at these
  // alone, not at every step.
  std::vector<uint32_t> timed_sweeps_;
  std::map<StepStatus, size_t> finished_;  // how many steps ended in each state
  size_t done_ = 0;
  int64_t metrics_looked_ns_ = 0;  // when running jobs' metrics were last read
  bool draining_ = false;
  bool halted_ = false;
  bool failed_ = false;
  bool canceled_ = false;
  bool interrupted_ = false;  // canceled by its host going away
  bool killed_ = false;       // canceled without grace
  Status error_;
};

}  // namespace weft::engine
