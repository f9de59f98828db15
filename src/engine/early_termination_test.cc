// Early termination policies against worked examples (the first of each from Azure ML's "Tune
// hyperparameters" article).
#include "engine/early_termination.h"

#include <gtest/gtest.h>

namespace weft::engine {
namespace {

// A trial that logged `last` at interval k (and 0.5 before it).
TrialMetric At(int64_t trial, int64_t k, double last, bool running = true) {
  TrialMetric t{trial, std::vector<double>(static_cast<size_t>(k - 1), 0.5), running};
  t.values.push_back(last);
  return t;
}

std::vector<int64_t> Trials(const std::vector<Stopped>& s) {
  std::vector<int64_t> out;
  for (const Stopped& x : s) out.push_back(x.trial);
  return out;
}

TEST(EarlyTerminationTest, PoliciesApplyAtMultiplesOfTheIntervalFromTheDelayOn) {
  spec::EarlyTermination p;
  EXPECT_FALSE(EvaluatesAt(p, 5));  // no policy
  p.type = "bandit";
  p.delay_evaluation = 5;
  p.evaluation_interval = 2;
  EXPECT_FALSE(EvaluatesAt(p, 4));
  EXPECT_FALSE(EvaluatesAt(p, 5));
  EXPECT_TRUE(EvaluatesAt(p, 6));
  p.evaluation_interval = 0;  // as 1: every interval
  EXPECT_TRUE(EvaluatesAt(p, 5));
  EXPECT_TRUE(EvaluatesAt(p, 7));
  p.delay_evaluation = 0;
  EXPECT_FALSE(EvaluatesAt(p, 0));
  EXPECT_TRUE(EvaluatesAt(p, 1));
}

TEST(EarlyTerminationTest, BanditStopsWhatFallsOutsideTheSlackOfTheBest) {
  spec::EarlyTermination p;
  p.type = "bandit";
  p.slack_factor = 0.1;
  p.evaluation_interval = 1;
  p.delay_evaluation = 5;
  // Best 0.8 at interval 10, maximising: below 0.8 / 1.1 = 0.7273 is stopped.
  std::vector<TrialMetric> t = {At(1, 10, 0.8), At(2, 10, 0.75), At(3, 10, 0.70), At(4, 9, 0.1),
                                At(5, 10, 0.60, false)};
  std::vector<Stopped> s = ApplyPolicy(p, true, t, 10);
  EXPECT_EQ(Trials(s), (std::vector<int64_t>{3}));  // 4 has not reached 10, 5 has finished
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].why, "bandit policy at interval 10: 0.7 is lower than 0.727273 (best 0.8, "
                      "slack_factor 0.1, goal maximize)");
  EXPECT_TRUE(ApplyPolicy(p, true, t, 4).empty());  // before delay_evaluation

  p.slack_factor.reset();
  p.slack_amount = 0.2;  // below 0.8 - 0.2 = 0.6
  t = {At(1, 10, 0.8), At(2, 10, 0.61), At(3, 10, 0.59)};
  EXPECT_EQ(Trials(ApplyPolicy(p, true, t, 10)), (std::vector<int64_t>{3}));

  // Minimising a loss: best 0.2, slack_factor 0.1: above 0.22 is stopped.
  p.slack_amount.reset();
  p.slack_factor = 0.1;
  t = {At(1, 6, 0.2), At(2, 6, 0.21), At(3, 6, 0.23), At(4, 6, 0.5)};
  EXPECT_EQ(Trials(ApplyPolicy(p, false, t, 6)), (std::vector<int64_t>{3, 4}));
}

TEST(EarlyTerminationTest, MedianStoppingComparesEachBestWithTheMedianOfRunningAverages) {
  spec::EarlyTermination p;
  p.type = "median_stopping";
  // At interval 2: running averages 0.6, 0.35, 0.625 -> median 0.6; bests 0.7, 0.4, 0.65.
  std::vector<TrialMetric> t = {{1, {0.5, 0.7}, true}, {2, {0.3, 0.4}, true}, {3, {0.6, 0.65}, true}};
  std::vector<Stopped> s = ApplyPolicy(p, true, t, 2);
  EXPECT_EQ(Trials(s), (std::vector<int64_t>{2}));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].why, "median_stopping policy at interval 2: its best 0.4 is worse than the median "
                      "0.6 of 3 trials' running averages (goal maximize)");
  // A finished trial counts in the median (now (0.35 + 0.6) / 2 = 0.475) but is not stopped.
  t.push_back({4, {0.1, 0.1}, false});
  EXPECT_EQ(Trials(ApplyPolicy(p, true, t, 2)), (std::vector<int64_t>{2}));
  // Minimising the same numbers: the median is 0.475 again; bests 0.5, 0.3, 0.6: 1 and 3 stop.
  EXPECT_EQ(Trials(ApplyPolicy(p, false, t, 2)), (std::vector<int64_t>{1, 3}));
}

TEST(EarlyTerminationTest, TruncationSelectionStopsTheLowestPercentAtTheInterval) {
  spec::EarlyTermination p;
  p.type = "truncation_selection";
  p.truncation_percentage = 20;
  p.delay_evaluation = 5;
  // Ten trials at interval 5, values 0.1 .. 1.0 by trial: the lowest 20% are trials 1 and 2.
  std::vector<TrialMetric> t;
  for (int k = 1; k <= 10; ++k) t.push_back(At(k, 5, k / 10.0));
  EXPECT_EQ(Trials(ApplyPolicy(p, true, t, 5)), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Trials(ApplyPolicy(p, false, t, 5)), (std::vector<int64_t>{9, 10}));
  // 20% of 4 rounds down to none.
  t.resize(4);
  EXPECT_TRUE(ApplyPolicy(p, true, t, 5).empty());
  // Ties go against the later trial; a finished trial counts unless exclude_finished_jobs, and is
  // never stopped.
  p.truncation_percentage = 50;
  t = {At(1, 5, 0.3), At(2, 5, 0.3), At(3, 5, 0.9), At(4, 5, 0.1, false)};
  EXPECT_EQ(Trials(ApplyPolicy(p, true, t, 5)), (std::vector<int64_t>{2}));  // 4 and 2 are lowest
  p.exclude_finished_jobs = true;  // of 1, 2, 3 the lowest 50% (one): trial 2
  EXPECT_EQ(Trials(ApplyPolicy(p, true, t, 5)), (std::vector<int64_t>{2}));
}

}  // namespace
}  // namespace weft::engine
