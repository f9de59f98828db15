// The orchestrator: runs a graph step by step, reusing every step whose fingerprint matches an
// earlier success.
//
// A step's life: pending -> (its producers finished) fingerprinted -> reused | running ->
// succeeded | failed | timed_out | canceled; skipped when a producer it needs failed. Every
// transition is written to the metadata store before it is acted on; the transitions of one pass
// of the event loop are committed together. Readiness is event driven (a counter of unfinished
// producers per step), so the engine's own work per step is constant.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "env/environment.h"
#include "workspace/workspace.h"
#include "exec/executor.h"
#include "graph/graph.h"
#include "meta/meta.h"
#include "spec/loader.h"
#include "store/store.h"

namespace weft::engine {

struct Snapshots;  // engine/plan.h

struct RunOptions {
  int64_t jobs = 0;                     // CPU capacity (-j); 0: the workspace's or the machine's
  bool force = false;                   // --force: no reuse at all
  std::set<std::string> force_steps;    // --force-step
  std::string only;                     // --only STEP
  std::string until;                    // --until STEP: it and everything it needs
  bool dry_run = false;
  std::string experiment;               // overrides the pipeline's experiment_name
  std::string workdir;                  // where weft was started
  std::vector<std::pair<std::string, std::string>> tags;  // the run's tags
  std::vector<std::string> sets;        // --set inputs.NAME=VALUE, as given (recorded for resume)
  // `weft resume`: the run being resumed, and what it was submitted with (its paths are read
  // from the store, not the file system). Steps that succeeded in it are reused whatever the
  // force settings.
  std::string resumes;
  const Snapshots* replay = nullptr;
};

// What observers hear about (the terminal printer, tests).
struct StepEvent {
  std::string step;
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
  size_t total = 0;
  size_t succeeded = 0;
  size_t reused = 0;
  size_t failed = 0;   // failed and timed out
  size_t other = 0;    // skipped and canceled
  size_t queued = 0;   // ready, waiting for capacity
  std::vector<std::pair<std::string, double>> running;  // step, seconds so far
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnRunStarted(const std::string& run_id, const std::string& workspace) = 0;
  virtual void OnStep(const StepEvent& e) = 0;
  virtual void OnWarning(const std::string& message) = 0;
  virtual void OnProgress(const Progress& p) {}
  virtual void OnPlanned(const PlannedStep& p) {}
};

struct RunResult {
  std::string run_id;  // empty for dry runs
  int exit_code = 0;
};

class Engine {
 public:
  Engine(const ws::Workspace& ws, meta::MetaStore& meta, store::Store& store, exec::Executor& executor,
         Observer& observer)
      : ws_(ws), meta_(meta), store_(store), executor_(executor), observer_(observer) {}

  // Runs `graph`. Problems found before anything runs (an unsupported node, a missing package,
  // an unknown step in the options) are a kInvalid Status; a finished run returns its exit code
  // (0, 1 when a step failed or timed out, 130 when canceled).
  Result<RunResult> Run(const spec::LoadedPipeline& pipeline, const graph::Graph& graph,
                        const RunOptions& options);

 private:
  const ws::Workspace& ws_;
  meta::MetaStore& meta_;
  store::Store& store_;
  exec::Executor& executor_;
  Observer& observer_;
};

}  // namespace weft::engine
