// A run's sweep steps: choosing the best trial when every trial has ended (the rest of Run is in
// run.cc; trials are the step's jobs, launched in run_jobs.cc).
#include <fmt/format.h>

#include "engine/run.h"

namespace weft::engine {

// Picks the trial whose last value of the primary metric is best (ties: the lower trial) among
// those that succeeded; a trial that never logged it does not count. Its outputs become the
// step's. Returns why no trial can be chosen, or an empty string.
std::string Run::ChooseTrial(uint32_t i) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  int best = -1;
  double best_value = 0;
  size_t succeeded = 0, failed = 0, silent = 0;
  for (size_t k = 0; k < r.jobs.size(); ++k) {
    if (r.jobs[k].status != StepStatus::kSucceeded) {
      ++failed;
      continue;
    }
    ++succeeded;
    Result<std::vector<meta::MetricRecord>> m = parts_.meta.Metrics(record_.id, i, static_cast<int64_t>(k));
    std::optional<double> last;
    if (m.ok()) {
      for (const meta::MetricRecord& x : *m) {
        if (x.name == sweep.metric) last = x.value;
      }
    }
    if (!last) {
      ++silent;
      continue;
    }
    if (best < 0 || (sweep.maximize ? *last > best_value : *last < best_value)) {
      best = static_cast<int>(k);
      best_value = *last;
    }
  }
  if (best < 0) {
    return fmt::format("no trial logged the primary metric `{}` ({} of {} trials succeeded)",
                       sweep.metric, succeeded, r.jobs.size());
  }
  r.best_trial = best;
  std::string params;
  for (const auto& [k, v] : sweep.trials[static_cast<size_t>(best)].values) {
    params += fmt::format("{}{}={}", params.empty() ? "" : ", ", k, v.Render());
  }
  r.rec.message = fmt::format("best trial {} of {} ({}): {} {:g}; {} succeeded", best, r.jobs.size(),
                              params, sweep.metric, best_value, succeeded);
  if (failed > 0) r.rec.message += fmt::format(", {} failed", failed);
  if (silent > 0) r.rec.message += fmt::format(", {} logged no {}", silent, sweep.metric);
  return "";
}

}  // namespace weft::engine
