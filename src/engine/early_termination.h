// Early termination of a sweep's trials, with Azure ML's semantics (Microsoft Learn, "Tune
// hyperparameters": early termination policies). (engine/ internal.)
//
// An interval is each value of the primary metric a trial logs: its k-th value is interval k. A
// policy is applied at interval k when k is a multiple of `evaluation_interval` (0 counts as 1)
// and k >= `delay_evaluation`, to the running trials that have reached interval k:
//
// - bandit: a trial whose value at k is worse than the best value any trial had at k by more than
//   the slack is stopped. Maximising: below best / (1 + slack_factor), or below best -
//   slack_amount; minimising: above best * (1 + slack_factor), or above best + slack_amount.
// - median_stopping: a trial whose best value up to k is worse than the median, over every trial
//   that reached k (finished ones too), of their running averages up to k is stopped.
// - truncation_selection: of the trials that reached k (without finished ones when
//   `exclude_finished_jobs`), the lowest `truncation_percentage` percent by their value at k
//   (rounded down; ties broken against the higher trial index) are stopped, if running.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/model.h"

namespace weft::engine {

struct TrialMetric {
  int64_t trial = 0;
  std::vector<double> values;  // the primary metric, as logged: values[k - 1] is interval k
  bool running = true;
};

struct Stopped {
  int64_t trial = 0;
  std::string why;  // the policy and its numbers, for the trial's note
};

// Whether the policy is applied at interval k.
bool EvaluatesAt(const spec::EarlyTermination& policy, int64_t k);

// The running trials to stop at interval k (none when the policy is not applied there).
std::vector<Stopped> ApplyPolicy(const spec::EarlyTermination& policy, bool maximize,
                                 const std::vector<TrialMetric>& trials, int64_t k);

}  // namespace weft::engine
