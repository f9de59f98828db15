// The JSON every front end shows of runs, steps, projects and tokens: the CLI prints it (`--json`,
// or as text made from it) and the server's API returns it, so the two never drift apart.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "app/identity.h"
#include "app/runs.h"
#include "base/json.h"
#include "base/status.h"
#include "maint/fsck.h"
#include "maint/gc.h"
#include "meta/meta.h"
#include "workspace/workspace.h"
#include "queries/compare.h"
#include "queries/lineage.h"

namespace weft::app {

// The filter of `weft runs` from its options as given: a status name, a date (YYYY-MM-DD, UTC)
// and KEY or KEY=VALUE (empty strings: not filtered); bad values are Invalid, naming the option.
Result<meta::RunFilter> ParseRunFilter(const std::string& experiment, const std::string& status,
                                       const std::string& since, const std::string& tag);

// A run as listed: id, name, experiment, project, status, exit code, times, file, tags.
Json RunSummaryJson(const meta::RunRecord& run);
// A run as listed, with its steps (each with its outputs, its compute target and job there, and
// the jobs of steps with several) and what it warned of (`warnings`, in order). With the
// workspace, a step run as a Slurm job also says what its job reported (`slurm`: job id, node,
// state, elapsed seconds, peak memory).
Result<Json> RunDetailJson(meta::MetaStore& meta, const meta::RunRecord& run,
                           const ws::Workspace* ws = nullptr);
// The jobs of a step with several (none for a step with one: no query per step of a big run).
Result<std::vector<meta::JobRecord>> JobsOf(meta::MetaStore& meta, const meta::StepRecord& step);

// A metric's values summarised, per name in the order first logged.
struct MetricSummary {
  double last = 0, min = 0, max = 0;
  int64_t count = 0;
};
std::vector<std::pair<std::string, MetricSummary>> Summarise(
    const std::vector<meta::MetricRecord>& metrics);
// One logged value: name, value, step (when given) and timestamp (ms).
Json MetricJson(const meta::MetricRecord& m);

// What steps logged (`weft metrics --json`): per step its status (and the run it reuses), params,
// tags and metrics, each metric summarised (latest, min, max, count) or, with `history`, every
// value.
Json MetricsJson(const std::vector<StepMetrics>& steps, bool history);

// Runs (or a step's jobs) side by side (`weft compare --json`): `key` ("runs" or "jobs") lists the
// columns, `rows` one value per column.
Json CompareJson(const char* key, const std::vector<std::string>& columns,
                 const std::vector<queries::CompareRow>& rows);

// Why a step ran or was reused (`weft explain`): its run, step and lines.
Json ExplainJson(const std::string& run, const std::string& step,
                 const std::vector<std::string>& lines);

// A server's projects (with their quotas), tokens (never their hashes) and audit entries.
// Lineage (`weft lineage`, GET /lineage): {ref, described, direction, tree}, each node of the tree
// {kind: object|step|value, ..., children}. Only what the caller sees: steps of runs of other
// projects are left out with all below them, and a digest no visible run made or used is NotFound
// (as if it did not exist).
Result<Json> LineageJson(meta::MetaStore& meta, const Caller& caller, const std::string& ref,
                         bool downstream);

Json ProjectJson(const meta::ProjectRecord& project);
Json TokenJson(const meta::TokenRecord& token);
Json AuditJson(const meta::AuditRecord& entry);
// What `weft gc` (`dry_run`: would have) removed and freed, and what `weft fsck` found.
Json GcReportJson(const maint::GcReport& report, bool dry_run);
Json FsckReportJson(const maint::FsckReport& report);

}  // namespace weft::app
