// Runs side by side: what each step was given (inputs), what it logged (params, tags, metrics)
// and what it produced (output digests), one column per run. `weft compare` prints it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"

namespace weft::queries {

struct CompareRow {
  std::string step;  // empty for the run's own rows
  std::string kind;  // run, status, input, param, tag, metric, output
  std::string name;
  std::vector<std::optional<std::string>> values;  // one per run; nullopt: the run has no such row

  bool differs() const;
};

// Steps are matched by name, in the order the first run lists them (steps only later runs have
// come after). A reused step shows the attempt it reuses. A metric's value is its latest;
// inputs that are data or step outputs, and outputs, are content digests ("sha256:<hex>").
Result<std::vector<CompareRow>> CompareRuns(meta::MetaStore& meta,
                                            const std::vector<meta::RunRecord>& runs);

// The jobs of one step side by side, one column per job (a sweep's trials: their
// hyperparameters, how each ended, what each logged). The step reused shows the attempt it reuses.
Result<std::vector<CompareRow>> CompareJobs(meta::MetaStore& meta, const meta::RunRecord& run,
                                            const std::string& step, size_t* jobs);

}  // namespace weft::queries
