// The JSON every front end shows of runs, steps, projects and tokens: the CLI prints it (`--json`,
// or as text made from it) and the server's API returns it, so the two never drift apart.
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "meta/meta.h"

namespace weft::app {

// The filter of `weft runs` from its options as given: a status name, a date (YYYY-MM-DD, UTC)
// and KEY or KEY=VALUE (empty strings: not filtered); bad values are Invalid, naming the option.
Result<meta::RunFilter> ParseRunFilter(const std::string& experiment, const std::string& status,
                                       const std::string& since, const std::string& tag);

// A run as listed: id, name, experiment, project, status, exit code, times, file, tags.
Json RunSummaryJson(const meta::RunRecord& run);
// A run as listed, with its steps (each with its outputs, and the jobs of steps with several).
Result<Json> RunDetailJson(meta::MetaStore& meta, const meta::RunRecord& run);
// The jobs of a step with several (none for a step with one: no query per step of a big run).
Result<std::vector<meta::JobRecord>> JobsOf(meta::MetaStore& meta, const meta::StepRecord& step);

// A server's projects (with their quotas), tokens (never their hashes) and audit entries.
Json ProjectJson(const meta::ProjectRecord& project);
Json TokenJson(const meta::TokenRecord& token);
Json AuditJson(const meta::AuditRecord& entry);

}  // namespace weft::app
