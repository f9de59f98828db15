// The model behind the server's MLflow tracking endpoint (docs/tracking.md): MLflow experiments,
// runs and what they log, kept in weft.
//
// Every job of a step of a project's runs is an MLflow run, with the id `<run>-<step>-<job>-
// <attempt>` (r12-3-0-1): its metrics, params and tags are the step's (`weft metrics`). What is
// logged to it through the endpoint while it runs is appended to its attempt's metrics file,
// which the engine reads as it reads what weft's MLflow shim writes, so the two paths end in the
// same place. Runs made through the endpoint from outside any step (`runs/create`) keep their
// lines in `.weft/mlflow/<id>/metrics.jsonl` and their artifacts beside it.
//
// Experiments are per project; id 0 is the project's `Default`; a weft run's experiment is the
// MLflow experiment of the same name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "engine/engine.h"
#include "meta/meta.h"
#include "workspace/workspace.h"

namespace weft::app {

// Who calls the endpoint: a project's token (reads; writes with a contributor's role), or the
// token a step was given, which reads and writes its own MLflow run only.
struct TrackingScope {
  std::string project;
  std::string who;       // a token id, or the step's run id for a step's token
  bool write = false;
  std::string only_run;  // a step's token: the one MLflow run it may use
};

// What an MLflow run is: its record (derived from the step for a step's job), where its lines
// are, and whether it can be logged to now.
struct TrackedRun {
  meta::MlflowRunRecord record;
  std::string experiment_name;
  std::string metrics_file;
  std::string artifact_uri;
  bool live = false;  // running: its metrics file is read by the engine (a step's) or is its own
  bool step = false;  // a step's job
  bool current = true;  // a step's: its job's latest attempt (earlier ones failed)
  std::string weft_run;
  int64_t index = -1;
  int64_t job = 0;
};

// The MLflow run id of a step's job's attempt: `<run>-<step index>-<job>-<attempt>`.
std::string StepRunId(const std::string& run, int64_t index, int64_t job, int64_t attempt);

// A metric, param or tag of an MLflow run.
struct TrackedMetric {
  std::string key;
  double value = 0;
  int64_t timestamp_ms = 0;
  int64_t step = 0;
};
struct TrackedData {
  std::vector<TrackedMetric> history;  // every value, in the order logged
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> tags;
  // The latest value of each metric (by step, then timestamp), by key.
  std::vector<TrackedMetric> Latest() const;
};

// Signs and checks the tokens the server gives steps: `weftml_<run id>_<HMAC of the id>` under a
// key that lives only as long as the server process (a restarted server resumes steps as new
// attempts, with new tokens). Nothing of them is stored.
class StepTokens {
 public:
  explicit StepTokens(std::string key) : key_(std::move(key)) {}
  std::string For(const std::string& mlflow_run) const;
  // The MLflow run a token is for; nullopt when it is not a step token this server signed.
  std::optional<std::string> Check(std::string_view token) const;
  static bool Looks(std::string_view token) { return token.rfind("weftml_", 0) == 0; }

 private:
  std::string key_;
};

// The environment a served job gets: MLFLOW_TRACKING_URI (`url`), MLFLOW_RUN_ID,
// MLFLOW_EXPERIMENT_NAME and MLFLOW_TRACKING_TOKEN (the secret, masked in what is kept).
engine::JobExtras TrackingEnvironment(const StepTokens& tokens, const std::string& url,
                                      const engine::JobStart& job);

// The scope of a step token: the run it names, in its weft run's project, while that job's
// attempt runs (Unauthenticated otherwise).
Result<TrackingScope> StepScope(meta::MetaStore& meta, const StepTokens& tokens,
                                std::string_view token);

// Experiments. Get and search make `Default` (0) when a project has none; by name finds a weft
// run's experiment too.
Result<int64_t> CreateExperiment(meta::MetaStore& meta, const TrackingScope& scope,
                                 const std::string& name, const Json& tags, int64_t now_ms);
Result<meta::MlflowExperimentRecord> GetExperiment(meta::MetaStore& meta,
                                                   const TrackingScope& scope, int64_t id,
                                                   int64_t now_ms);
Result<meta::MlflowExperimentRecord> GetExperimentByName(meta::MetaStore& meta,
                                                         const TrackingScope& scope,
                                                         const std::string& name, int64_t now_ms);
Result<std::vector<meta::MlflowExperimentRecord>> Experiments(meta::MetaStore& meta,
                                                              const TrackingScope& scope,
                                                              int64_t now_ms);

// Runs.
Result<TrackedRun> CreateTrackedRun(meta::MetaStore& meta, const ws::Workspace& ws,
                                    const TrackingScope& scope, int64_t experiment,
                                    const std::string& name, int64_t start_ms,
                                    const std::vector<std::pair<std::string, std::string>>& tags,
                                    int64_t now_ms);
// A run the scope may see (NotFound otherwise, whether or not it exists).
Result<TrackedRun> FindTrackedRun(meta::MetaStore& meta, const ws::Workspace& ws,
                                  const TrackingScope& scope, const std::string& id);
// Sets a run's status, end time and name (a step's status is its job's: only its name changes).
Status UpdateTrackedRun(meta::MetaStore& meta, const TrackingScope& scope, TrackedRun& run,
                        const std::string& status, std::optional<int64_t> end_ms,
                        const std::string& name);
// Whether the scope may log to the run now (Denied for readers, Invalid for a run that ended).
Status CanLog(const TrackingScope& scope, const TrackedRun& run);
// Logs to a live run: metrics, params (a param keeps its first value: another one is Invalid)
// and tags, appended together.
Status LogToRun(const TrackingScope& scope, const TrackedRun& run,
                const std::vector<TrackedMetric>& metrics,
                const std::vector<std::pair<std::string, std::string>>& params,
                const std::vector<std::pair<std::string, std::string>>& tags);
Result<TrackedData> DataOf(meta::MetaStore& meta, const TrackedRun& run);

// The runs of some experiments that a search filter keeps (MLflow's syntax: clauses joined by
// AND, `metrics.K`, `params.K`, `tags.K`, `attributes.status|run_name|run_id|start_time|end_time`,
// with = != < <= > >= (metrics and times), = != LIKE ILIKE (text), IN (run_id)), in the order
// asked (`metrics.K DESC`, `attributes.start_time`; by default the newest first).
struct RunSearch {
  std::vector<int64_t> experiments;
  std::string filter;
  std::vector<std::string> order_by;
  bool deleted = false;  // run_view_type DELETED_ONLY / ALL
  bool active = true;
};
struct FoundRun {
  TrackedRun run;
  TrackedData data;
};
Result<std::vector<FoundRun>> SearchTrackedRuns(meta::MetaStore& meta, const ws::Workspace& ws,
                                                const TrackingScope& scope,
                                                const RunSearch& search);

}  // namespace weft::app
