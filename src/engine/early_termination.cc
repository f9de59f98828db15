#include "engine/early_termination.h"

#include <algorithm>

#include <fmt/format.h>

namespace weft::engine {
namespace {

// Whether `a` is worse than `b` for the goal.
bool Worse(double a, double b, bool maximize) { return maximize ? a < b : a > b; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

bool EvaluatesAt(const spec::EarlyTermination& policy, int64_t k) {
  if (policy.type.empty() || k < 1 || k < policy.delay_evaluation) return false;
  int64_t every = std::max<int64_t>(1, policy.evaluation_interval);
  return k % every == 0;
}

std::vector<Stopped> ApplyPolicy(const spec::EarlyTermination& policy, bool maximize,
                                 const std::vector<TrialMetric>& trials, int64_t k) {
  std::vector<Stopped> out;
  if (!EvaluatesAt(policy, k)) return out;
  std::vector<const TrialMetric*> reached;
  for (const TrialMetric& t : trials) {
    if (static_cast<int64_t>(t.values.size()) >= k) reached.push_back(&t);
  }
  if (reached.empty()) return out;
  auto at = [k](const TrialMetric* t) { return t->values[static_cast<size_t>(k - 1)]; };
  const char* goal = maximize ? "maximize" : "minimize";

  if (policy.type == "bandit") {
    double best = at(reached.front());
    for (const TrialMetric* t : reached) {
      if (Worse(best, at(t), maximize)) best = at(t);
    }
    double bound = 0;
    std::string slack;
    if (policy.slack_factor) {
      bound = maximize ? best / (1 + *policy.slack_factor) : best * (1 + *policy.slack_factor);
      slack = fmt::format("slack_factor {:g}", *policy.slack_factor);
    } else {
      double amount = policy.slack_amount.value_or(0);
      bound = maximize ? best - amount : best + amount;
      slack = fmt::format("slack_amount {:g}", amount);
    }
    for (const TrialMetric* t : reached) {
      if (t->running && Worse(at(t), bound, maximize)) {
        out.push_back({t->trial, fmt::format("bandit policy at interval {}: {:g} is {} than {:g} (best "
                                             "{:g}, {}, goal {})",
                                             k, at(t), maximize ? "lower" : "higher", bound, best,
                                             slack, goal)});
      }
    }
  } else if (policy.type == "median_stopping") {
    std::vector<double> averages;
    for (const TrialMetric* t : reached) {
      double sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += t->values[static_cast<size_t>(i)];
      averages.push_back(sum / static_cast<double>(k));
    }
    double median = Median(averages);
    for (const TrialMetric* t : reached) {
      if (!t->running) continue;
      double best = t->values.front();
      for (int64_t i = 0; i < k; ++i) {
        double v = t->values[static_cast<size_t>(i)];
        if (Worse(best, v, maximize)) best = v;
      }
      if (Worse(best, median, maximize)) {
        out.push_back({t->trial, fmt::format("median_stopping policy at interval {}: its best {:g} is "
                                             "worse than the median {:g} of {} trials' running "
                                             "averages (goal {})",
                                             k, best, median, averages.size(), goal)});
      }
    }
  } else if (policy.type == "truncation_selection") {
    std::vector<const TrialMetric*> ranked;
    for (const TrialMetric* t : reached) {
      if (t->running || !policy.exclude_finished_jobs) ranked.push_back(t);
    }
    // Worst first; among equals, the later trial goes first.
    std::sort(ranked.begin(), ranked.end(), [&](const TrialMetric* a, const TrialMetric* b) {
      if (at(a) != at(b)) return Worse(at(a), at(b), maximize);
      return a->trial > b->trial;
    });
    size_t cut = ranked.size() * static_cast<size_t>(policy.truncation_percentage) / 100;
    for (size_t i = 0; i < cut; ++i) {
      if (!ranked[i]->running) continue;
      out.push_back({ranked[i]->trial,
                     fmt::format("truncation_selection policy at interval {}: {:g} is among the lowest "
                                 "{}% of {} trials (goal {})",
                                 k, at(ranked[i]), policy.truncation_percentage, ranked.size(), goal)});
    }
  }
  std::sort(out.begin(), out.end(), [](const Stopped& a, const Stopped& b) { return a.trial < b.trial; });
  return out;
}

}  // namespace weft::engine
