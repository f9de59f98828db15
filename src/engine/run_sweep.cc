// A run's sweep steps: starting trials as the sweep's limits allow (bayesian ones proposed batch
// by batch), its early termination policy and time limit, and choosing the best trial once every
// trial has ended (the rest of Run is in run.cc; trials are the step's jobs, launched in
// run_jobs.cc).
#include <fmt/format.h>

#include "engine/bayesian.h"
#include "engine/early_termination.h"
#include "engine/run.h"

namespace weft::engine {
namespace {

const std::string kStoppedEarly = "stopped early by the ";

}  // namespace

// Hands step i's next trials to the scheduler while fewer than `max_concurrent_trials` are
// waiting or running. A bayesian batch is proposed once every trial before it has ended, so the
// same scores give the same trials however many ran at once. Once the sweep is stopped (the run
// halted, its time up), the trials never started end here.
void Run::ReleaseTrials(uint32_t i) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  int total = static_cast<int>(r.jobs.size());
  if (r.sweep_deadline_ns == 0 && sweep.timeout_s > 0) {
    r.sweep_deadline_ns = Now() + sweep.timeout_s * 1'000'000'000;
    timed_sweeps_.push_back(i);
  }
  if (halted_ || !r.sweep_over.empty()) {
    bool skipped = halted_ && !canceled_ && r.sweep_over.empty();
    StepStatus st = skipped ? StepStatus::kSkipped : StepStatus::kCanceled;
    std::string why = !r.sweep_over.empty() ? "not started: " + r.sweep_over
                      : canceled_            ? "the run was canceled"
                                             : "an earlier step failed";
    for (; r.released < total; ++r.released) {
      JobRun& j = r.jobs[static_cast<size_t>(r.released)];
      j.status = st;
      if (!r.sweep_over.empty()) j.stop_note = why;  // the sweep's own limit, not the run's
      j.message = TrialNote(i, r.released, why);
      RecordJob(i, r.released);
    }
    return;
  }
  int active = 0;  // handed out and not ended
  for (int k = 0; k < r.released; ++k) active += meta::Ended(r.jobs[static_cast<size_t>(k)].status) ? 0 : 1;
  while (r.released < total) {
    if (sweep.max_concurrent > 0 && active >= sweep.max_concurrent) return;
    if (r.released >= static_cast<int>(r.trials.size())) {
      if (active > 0) return;  // the next bayesian batch learns from every trial before it
      ProposeTrials(i);
    }
    engine_.scheduler_->Enqueue(SlotOf(i, r.released++));
    ++active;
  }
}

// The next batch of a bayesian sweep, from how the trials before it scored.
void Run::ProposeTrials(uint32_t i) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  std::vector<Observed> observed;
  for (size_t k = 0; k < r.points.size(); ++k) {
    Observed o{r.points[k], std::nullopt};
    if (r.jobs[k].status == StepStatus::kSucceeded && !r.trial_values[k].empty()) o.score = r.trial_values[k].back();
    observed.push_back(std::move(o));
  }
  auto first = static_cast<int64_t>(r.trials.size());
  int64_t count = std::min<int64_t>(sweep.batch, sweep.total - first);
  for (std::vector<double>& u : BayesianPoints(sweep.spec->search_space, observed, sweep.maximize, sweep.seed,
                                               first, count, sweep.total)) {
    r.trials.push_back(TrialAt(sweep.spec->search_space, static_cast<int64_t>(r.trials.size()), u));
    r.points.push_back(std::move(u));
  }
}

// A trial's metrics as they grow: its values of the primary metric, and the early termination
// policy applied at each interval it has reached since it was last looked at.
void Run::TrialMetrics(uint32_t i, int job, const std::vector<meta::MetricRecord>& metrics) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  std::vector<double>& values = r.trial_values[static_cast<size_t>(job)];
  values.clear();
  for (const meta::MetricRecord& m : metrics) {
    if (m.name == sweep.metric) values.push_back(m.value);
  }
  const spec::EarlyTermination& policy = sweep.spec->early_termination;
  size_t& seen = r.evaluated[static_cast<size_t>(job)];
  if (policy.type.empty() || seen >= values.size()) return;
  std::vector<TrialMetric> trials;
  for (size_t k = 0; k < r.jobs.size(); ++k) {
    if (r.trial_values[k].empty()) continue;
    const JobRun& j = r.jobs[k];
    trials.push_back({static_cast<int64_t>(k), r.trial_values[k], j.running && !j.stopping});
  }
  for (size_t interval = seen + 1; interval <= values.size(); ++interval) {
    for (const Stopped& s : ApplyPolicy(policy, sweep.maximize, trials, static_cast<int64_t>(interval))) {
      StopTrial(i, static_cast<int>(s.trial), kStoppedEarly + s.why);
      for (TrialMetric& t : trials) t.running = t.running && t.trial != s.trial;
    }
  }
  seen = values.size();
}

// Stops a running trial for a reason of the sweep's own; it ends canceled, with the reason.
void Run::StopTrial(uint32_t i, int job, const std::string& why) {
  JobRun& j = steps_[i].jobs[static_cast<size_t>(job)];
  if (!j.running || j.stopping) return;
  parts_.targets.executor(steps_[i].target).Cancel(j.handle, false);
  j.stopping = true;
  j.stop_note = why;
}

// A sweep whose `limits.timeout` has passed starts no more trials and stops the running ones; the
// best of those that finished wins.
void Run::SweepDeadlines() {
  if (timed_sweeps_.empty()) return;
  int64_t now = Now();
  for (uint32_t i : std::vector<uint32_t>(timed_sweeps_)) {
    StepRun& r = steps_[i];
    if (r.sweep_deadline_ns == 0 || now < r.sweep_deadline_ns || !r.sweep_over.empty() ||
        meta::Ended(r.st)) {
      continue;
    }
    r.sweep_over = fmt::format("the sweep's {} s limit (limits.timeout) was reached",
                               plans_[i].sweep->timeout_s);
    for (size_t k = 0; k < r.jobs.size(); ++k) StopTrial(i, static_cast<int>(k), "stopped: " + r.sweep_over);
    for (const Slot& slot : engine_.scheduler_->Drain(this, i)) {
      std::string why = "not started: " + r.sweep_over;
      r.jobs[static_cast<size_t>(slot.job)].stop_note = why;
      JobEnded(slot.step, slot.job, StepStatus::kCanceled, why);
    }
    ReleaseTrials(i);  // the trials never handed out end too
    DueRetries();      // and those waiting for another attempt
  }
}

// How far the sweep is, while it runs: trials ended, the best so far.
void Run::NoteTrials(uint32_t i) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  size_t ended = 0;
  for (const JobRun& j : r.jobs) ended += meta::Ended(j.status);
  int best = BestTrial(i);
  std::string note = fmt::format("{}/{} trials", ended, r.jobs.size());
  if (best >= 0) {
    note += fmt::format(", best {} {:g} (trial {})", sweep.metric,
                        r.trial_values[static_cast<size_t>(best)].back(), best);
  }
  if (note == r.progress_note || ended == r.jobs.size()) return;
  r.progress_note = note;
  r.rec.message = note;
  Save(i);
}

// A trial's note: its hyperparameters, then its score (succeeded) or why it ended otherwise.
std::string Run::TrialNote(uint32_t i, int job, const std::string& why) const {
  const StepRun& r = steps_[i];
  const std::string& metric = plans_[i].sweep->metric;
  std::string note;
  if (static_cast<size_t>(job) < r.trials.size()) {
    for (const auto& [k, v] : r.trials[static_cast<size_t>(job)].values) {
      note += fmt::format("{}{}={}", note.empty() ? "" : ", ", k, v.Render());
    }
    note += ": ";
  }
  const std::vector<double>& values = r.trial_values[static_cast<size_t>(job)];
  if (r.jobs[static_cast<size_t>(job)].status != StepStatus::kSucceeded) return note + why;
  return note + (values.empty() ? fmt::format("logged no {}", metric)
                                : fmt::format("{} {:g}", metric, values.back()));
}

// The trial whose last value of the primary metric is best (ties: the lower trial) among those
// that succeeded so far; a trial that never logged it does not count. -1: none.
int Run::BestTrial(uint32_t i) const {
  const StepRun& r = steps_[i];
  bool maximize = plans_[i].sweep->maximize;
  int best = -1;
  for (size_t k = 0; k < r.jobs.size(); ++k) {
    const std::vector<double>& v = r.trial_values[k];
    if (r.jobs[k].status != StepStatus::kSucceeded || v.empty()) continue;
    double b = best < 0 ? 0 : r.trial_values[static_cast<size_t>(best)].back();
    if (best < 0 || (maximize ? v.back() > b : v.back() < b)) best = static_cast<int>(k);
  }
  return best;
}

// Once every trial has ended: the best trial's outputs become the step's. Returns why no trial
// can be chosen, or an empty string.
std::string Run::ChooseTrial(uint32_t i) {
  StepRun& r = steps_[i];
  const StepPlan::Sweep& sweep = *plans_[i].sweep;
  int best = BestTrial(i);
  size_t succeeded = 0, stopped = 0, canceled = 0, failed = 0, silent = 0;
  for (size_t k = 0; k < r.jobs.size(); ++k) {
    const JobRun& j = r.jobs[k];
    if (j.status != StepStatus::kSucceeded) {
      bool early = j.stop_note.rfind(kStoppedEarly, 0) == 0;
      ++(early ? stopped : j.status == StepStatus::kCanceled ? canceled : failed);
      continue;
    }
    ++succeeded;
    silent += r.trial_values[k].empty();
  }
  if (best < 0) {
    return fmt::format("no trial logged the primary metric `{}` ({} of {} trials succeeded)",
                       sweep.metric, succeeded, r.jobs.size());
  }
  r.best_trial = best;
  double best_value = r.trial_values[static_cast<size_t>(best)].back();
  std::string params;
  for (const auto& [k, v] : r.trials[static_cast<size_t>(best)].values) {
    params += fmt::format("{}{}={}", params.empty() ? "" : ", ", k, v.Render());
  }
  r.rec.message = fmt::format("best trial {} of {} ({}): {} {} {:g}; {} succeeded", best, r.jobs.size(),
                              params, sweep.maximize ? "highest" : "lowest", sweep.metric, best_value,
                              succeeded);
  if (stopped > 0) r.rec.message += fmt::format(", {} stopped early", stopped);
  if (canceled > 0) r.rec.message += fmt::format(", {} canceled", canceled);
  if (failed > 0) r.rec.message += fmt::format(", {} failed", failed);
  if (silent > 0) r.rec.message += fmt::format(", {} logged no {}", silent, sweep.metric);
  if (!r.sweep_over.empty()) r.rec.message += "; " + r.sweep_over;
  return "";
}

}  // namespace weft::engine
