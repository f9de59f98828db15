// The orchestrator: one engine hosts many runs at once, and runs each step whose fingerprint does
// not match an earlier success, on the compute target it names.
//
// A step's life: pending -> (its producers finished) fingerprinted -> reused | waiting (another
// run computes it) | queued -> running -> succeeded | failed | timed_out | canceled; skipped when a
// producer it needs failed. A step owns one or more jobs (a command step one; parallel and sweep
// steps expand into many), each with its own attempts, log and metrics; the step's status is
// derived from its jobs'. Every transition is written to the metadata store before it is acted
// on; the transitions of one pass of the event loop are committed together. Readiness is event
// driven (a counter of unfinished producers per step), so the engine's own work per step is
// constant.
//
// Jobs are admitted fairly: within each compute target's capacity, the next job comes from the
// project, then the user, then the run that has the fewest jobs running (so two runs of 100 ready
// steps interleave). Locally there is one project and one user.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/os.h"
#include "engine/plan.h"
#include "engine/scheduler.h"
#include "engine/targets.h"
#include "graph/graph.h"
#include "meta/meta.h"
#include "spec/loader.h"
#include "store/store.h"
#include "workspace/workspace.h"

namespace weft::engine {

struct RunOptions {
  int64_t jobs = 0;                     // CPU capacity of the local target (-j); 0: configured
  bool force = false;                   // --force: no reuse at all
  std::set<std::string> force_steps;    // --force-step
  std::string only;                     // --only STEP
  std::string until;                    // --until STEP: it and everything it needs
  std::string experiment;               // overrides the pipeline's experiment_name
  // When neither names one: this (a published pipeline's name, a schedule's), else the name of
  // the folder the run was submitted from.
  std::string default_experiment;
  std::string workdir;                  // where the run was submitted from
  std::vector<std::pair<std::string, std::string>> tags;  // the run's tags
  std::vector<std::string> sets;        // --set inputs.NAME=VALUE, as given (recorded for resume)
  // `weft resume`: the run being resumed, and what it was submitted with (its paths are read
  // from the store, not the file system). Steps that succeeded in it are reused whatever the
  // force settings.
  std::string resumes;
  const Snapshots* replay = nullptr;
  // Who the run is for, for fair sharing (the server sets them; locally one of each).
  std::string project = "local";
  std::string user = "local";
  // A server's runs: steps get only PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ
  // and TMPDIR of weft's own environment (no server secrets, no tokens); the pipeline's
  // `environment_variables` as always. In the sandbox, they see of the workspace only what they
  // use (their attempt folders, their inputs, their code, the environments): not the database,
  // other runs, uploads or other projects' objects.
  bool served = false;
};

// A run to submit. The pipeline and graph must outlive the run.
struct RunRequest {
  const spec::LoadedPipeline* pipeline = nullptr;
  const graph::Graph* graph = nullptr;
  RunOptions options;
  // Applied to the steps' plans before the run starts: where steps expand into several jobs
  // (StepPlan::jobs); parallel and sweep steps will, and tests do.
  std::function<void(std::vector<StepPlan>&)> expand;
  // What loading the pipeline warned of, as printed (file:line:col): kept with the run for
  // `weft show` and the server, not told to the observers again.
  std::vector<std::string> load_warnings;
};

// What observers hear about: the terminal printer, the database's readers, a server's event
// stream, tests. Every state change the metadata store records reaches them, and, for those that
// want them, each new line of a step's log.
struct StepEvent {
  std::string run_id;
  std::string step;
  int job = -1;  // a job of a step with several; -1: the step itself
  meta::StepStatus status = meta::StepStatus::kPending;
  std::string detail;
  double seconds = 0;
};

// What a dry run says of a step: it would be reused, or run and why.
struct PlannedStep {
  std::string step;
  bool reuse = false;
  std::string why;
};

// Where a run stands, once per pass of the event loop (at least every second).
struct Progress {
  std::string run_id;
  size_t total = 0;
  size_t succeeded = 0;
  size_t reused = 0;
  size_t failed = 0;   // failed and timed out
  size_t other = 0;    // skipped and canceled
  size_t queued = 0;   // ready, waiting for capacity
  struct Running {
    std::string step;
    double seconds = 0;   // so far
    std::string detail;   // a parallel step's mini-batches: "412/1000 mini-batches, 2 failed"
  };
  std::vector<Running> running;
};

struct LogLine {
  std::string run_id;
  std::string step;
  int job = 0;
  std::string text;  // without its newline
};

// A job about to start, as a host that gives jobs more environment sees it (a server's MLflow
// endpoint gives each job its own tracking run and a token for it).
struct JobStart {
  std::string project;
  std::string run_id;
  std::string experiment;
  std::string step;
  int64_t index = 0;
  int64_t job = 0;  // 0 for a step with one job
  int64_t jobs = 1;
  int64_t attempt = 0;
};
struct JobExtras {
  std::vector<std::pair<std::string, std::string>> env;
  std::string secret;  // masked in everything kept of the job (its log, metrics, messages)
};
using JobEnvironment = std::function<JobExtras(const JobStart&)>;

struct RunResult {
  std::string run_id;  // empty for dry runs
  meta::RunStatus status = meta::RunStatus::kSucceeded;
  int exit_code = 0;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnRunStarted(const std::string& run_id, const std::string& workspace) {}
  virtual void OnStep(const StepEvent& e) {}
  // `run_id`: the run it is about; empty when about none (the engine itself, a dry run).
  virtual void OnWarning(const std::string& run_id, const std::string& message) {}
  virtual void OnProgress(const Progress& p) {}
  virtual void OnPlanned(const PlannedStep& p) {}
  virtual void OnRunFinished(const RunResult& r) {}
  // A long snapshot of a code folder or data input, while a run is planned (store/store.h).
  virtual void OnSnapshot(const store::SnapshotProgress& p) {}
  // Log lines are read only while a subscriber wants them.
  virtual bool WantsLogs() const { return false; }
  virtual void OnLog(const LogLine& line) {}
};

// What an engine works with, passed explicitly.
struct EngineParts {
  const ws::Workspace& ws;
  meta::MetaStore& meta;
  store::Store& store;
  Targets& targets;
  const Os& os;
};

class Run;        // engine/run.h

class Engine {
 public:
  explicit Engine(EngineParts parts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Observers hear about every run of this engine until they unsubscribe.
  void Subscribe(Observer* o);
  void Unsubscribe(Observer* o);

  // Plans the run (snapshots, environments), records it and makes its first steps ready; they
  // start in the next passes. Problems found before anything runs (an unsupported node, a
  // missing package, an unknown step in the options, an interrupt while snapshotting) are an
  // error, and no run is recorded.
  Result<std::string> Submit(const RunRequest& request);
  // Says, step by step, what a run would reuse and what it would run, and why; runs nothing and
  // records no run.
  Status DryRun(const RunRequest& request);

  // Stops a run: its running steps are stopped (after their grace period, or at once with
  // `now`), its other steps canceled. Every run, with CancelAll.
  void Cancel(const std::string& run_id, bool now = false);
  void CancelAll(bool now = false);
  // Stops every run as its host going away does (a server stopping): running steps get their
  // grace period, and the runs are recorded interrupted, to be resumed (`weft resume`).
  void InterruptAll();
  // What a signal to the process (base/interrupt.h) does to the runs: cancel them (the default:
  // `weft run`, whose user stops it), or stop them as InterruptAll does (a server stopping).
  void InterruptsStopToResume() { interrupts_resume_ = true; }

  // One pass of the event loop: what ended, what becomes ready, what starts (committed before it
  // starts); then waits up to `wait_ms` for something to happen.
  Status Pass(int64_t wait_ms = 1000);
  // Passes until every run has ended; an interrupt (base/interrupt.h) cancels them all, a second
  // one without the grace period.
  Status RunToCompletion();
  // What the jobs of every run get besides their own environment (a server's tracking).
  void SetJobEnvironment(JobEnvironment f) { job_environment_ = std::move(f); }
  // A project's limits over every target together (a server's quotas); jobs past them wait.
  void SetQuota(const std::string& project, const Scheduler::Quota& quota);
  // Why each of a run's steps that waits for compute still waits (Scheduler::Waiting), by step
  // name; empty for a run that is not active.
  std::map<std::string, std::string> Waiting(const std::string& run_id) const;
  // Whether no run is active.
  bool idle() const;
  // How a run ended, once it has.
  std::optional<RunResult> Outcome(const std::string& run_id) const;

 private:
  void Stop(const std::string& run_id, bool now, bool interrupted);
  friend class Run;
  struct JobRef {
    Run* run = nullptr;
    uint32_t step = 0;
    int job = 0;
  };
  // Observers hear about what a pass did once it is committed; outside a pass, at once.
  void Emit(std::function<void(Observer&)> f);
  void Flush();
  // Tells the observers, at once (snapshots happen before any pass), how a snapshot is going.
  store::ProgressFn SnapshotReporter();
  // The target's executor, made and given its capacity on first use.
  Result<exec::Executor*> UseTarget(const std::string& target);
  // Whether `run_id` is an active run of this engine.
  bool Hosts(const std::string& run_id) const;
  // What ended on the executors, waiting up to `wait_ms` for something to.
  void Collect(int64_t wait_ms);
  Status FinishEnded();

  EngineParts parts_;
  std::string owner_;  // this process, as runs and claims record it
  std::vector<Observer*> observers_;
  std::unique_ptr<Scheduler> scheduler_;
  std::map<std::string, std::unique_ptr<Run>> runs_;  // active, by id
  std::map<std::string, RunResult> finished_;
  std::vector<std::string> targets_used_;
  std::map<std::pair<std::string, uint64_t>, JobRef> handles_;  // (target, handle) -> job
  std::vector<std::pair<std::string, exec::JobEnd>> ends_;      // collected, handled next pass
  std::vector<std::function<void(Observer&)>> events_;
  bool in_pass_ = false;
  bool wants_logs_ = false;
  int handled_interrupts_ = 0;
  bool interrupts_resume_ = false;
  JobEnvironment job_environment_;
  int64_t next_heartbeat_ns_ = 0;
};

}  // namespace weft::engine
