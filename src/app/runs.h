// Submitting, resuming, cancelling and following runs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/pipeline.h"
#include "app/session.h"
#include "engine/engine.h"
#include "engine/resume.h"

namespace weft::app {

// `weft run`: hosts an engine with this one run, in this process, until it ends (the embedded
// default; a server hosts one engine for many runs). Observers hear everything the run does; an
// interrupt (base/interrupt.h) cancels it. Errors found before anything runs are a Status, and
// no run is recorded.
Result<engine::RunResult> RunPipeline(Session& session, const LoadedGraph& graph,
                                      const engine::RunOptions& options,
                                      const std::vector<engine::Observer*>& observers);
// Says what the run would reuse and run, step by step, to the observers; runs nothing.
Status DryRun(Session& session, const LoadedGraph& graph, const engine::RunOptions& options,
              const std::vector<engine::Observer*>& observers);

// The options of a run submitted from `workdir` with `source`: its experiment (given, else the
// pipeline's, else the folder's name) and tags (the pipeline's, then `tags` "KEY=VALUE", which
// win).
Result<engine::RunOptions> SubmitOptions(const LoadedGraph& graph, engine::RunOptions options,
                                         const std::vector<std::string>& tags);

// `weft resume RUN`: the run as it was submitted (its files replayed from the store), ready to
// run again with every step that succeeded in it reused.
struct Resumption {
  meta::RunRecord run;
  engine::Submission submission;  // what `options.replay` points into
  std::unique_ptr<LoadedGraph> graph;
  engine::RunOptions options;
};
Result<std::unique_ptr<Resumption>> PrepareResume(Session& session, const std::string& ref);
// The graph of a recorded run, loaded again from what it was submitted with (its upload, or the
// store's copies of its files, mirrored into `.weft/runs/<run>/submitted`).
Result<std::unique_ptr<LoadedGraph>> LoadSubmitted(const ws::Workspace& ws, const store::Store& store,
                                                   const spec::Registry& registry,
                                                   const meta::RunRecord& run,
                                                   engine::Submission& submission,
                                                   const std::string& cwd);

// The newest interrupted run of `file` submitted from `workdir`, unless a later run of it
// succeeded (then its steps were completed since).
std::optional<meta::RunRecord> InterruptedEarlier(Session& session, const std::string& file,
                                                  const std::string& workdir);

// `weft cancel RUN`: a live run's weft is asked to stop it (SIGTERM; it stops every step and
// records the run canceled), and this waits for that, up to `timeout_ms`; a run whose weft is
// gone has what it left stopped here and is recorded canceled.
struct Canceled {
  meta::RunRecord run;      // as it is now
  int64_t owner_pid = 0;    // the live weft asked to stop it; 0: it was gone
  exec::Stopped leftovers;  // what was stopped here (its weft gone)
};
Result<Canceled> CancelRun(Session& session, const std::string& ref, int64_t timeout_ms = 60'000);

// A step's log: the attempt it reuses, or its own latest (every job's, for steps with several).
struct StepLog {
  meta::StepRecord step;
  std::vector<std::string> paths;  // one per job that ran
  std::vector<int64_t> jobs;       // the job of each path
};
Result<StepLog> FindLog(meta::MetaStore& meta, const ws::Workspace& ws, const meta::RunRecord& run,
                        const std::string& step);
// Gives `out` the log's text as it grows until the step stops running (or its weft is gone); with
// `follow` false, what it holds now.
Status ReadLog(Session& session, const meta::RunRecord& run, const std::string& step, bool follow,
               const std::function<void(std::string_view)>& out);

// `weft get RUN STEP.OUTPUT DEST`: copies an output out of the store; says what it copied.
Result<meta::OutputRecord> CopyOutput(Session& session, const meta::RunRecord& run,
                                      const std::string& output, const std::string& dest);

// What each step (or the one named) logged: metrics, params and tags; a reused step's are those
// of the attempt it reuses.
struct StepMetrics {
  meta::StepRecord step;
  std::vector<meta::MetricRecord> metrics;
  std::vector<meta::ParamRecord> params;
};
Result<std::vector<StepMetrics>> Metrics(meta::MetaStore& meta, const meta::RunRecord& run,
                                         const std::string& step);

}  // namespace weft::app
