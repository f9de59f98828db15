// Bayesian sampling: points snap to what each dimension can take, the first trials are the seeded
// random ones, proposals are fixed by the seed and the scores, and they go where the model
// expects improvement.
#include "engine/bayesian.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "engine/sweep_sample.h"

namespace weft::engine {
namespace {

spec::SearchDimension Uniform(const std::string& name, double lo, double hi) {
  spec::SearchDimension d;
  d.name = name;
  d.type = "uniform";
  d.min_value = lo;
  d.max_value = hi;
  return d;
}

TEST(BayesianTest, PointsSnapToChoicesAndSteps) {
  spec::SearchDimension c;
  c.name = "c";
  c.type = "choice";
  c.values = {Literal::Int(1), Literal::Int(2), Literal::Int(3), Literal::Int(4)};
  spec::SearchDimension q = Uniform("q", 0, 10);
  q.type = "quniform";
  q.q = 5;
  std::vector<double> u = Snap({c, q, Uniform("x", 0, 1)}, {0.3, 0.3, 0.3});
  EXPECT_DOUBLE_EQ(u[0], 0.375);  // the middle of the second choice's quarter
  EXPECT_DOUBLE_EQ(u[1], 0.5);    // 3 rounds to 5, half way
  EXPECT_DOUBLE_EQ(u[2], 0.3);
  EXPECT_EQ(TrialAt({c, q}, 0, u).values[1].second.f, 5);
}

TEST(BayesianTest, TheFirstTrialsAreTheSeededRandomOnes) {
  std::vector<spec::SearchDimension> space = {Uniform("x", 0, 1)};
  EXPECT_EQ(InitialTrials(1, 30), 5);
  EXPECT_EQ(InitialTrials(4, 30), 9);
  EXPECT_EQ(InitialTrials(4, 6), 6);
  std::vector<std::vector<double>> p = BayesianPoints(space, {}, true, 3, 0, 5, 30);
  ASSERT_EQ(p.size(), 5u);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(p[k], RandomPoint(1, 3, k)) << k;
}

// Scores of -(x - 0.7)^2 on six spread points: the proposals come close to 0.7, the same ones for
// the same seed and scores, and a batch is spread rather than one point four times.
TEST(BayesianTest, ProposalsGoWhereTheModelExpectsImprovementAndAreFixedBySeed) {
  std::vector<spec::SearchDimension> space = {Uniform("x", 0, 1)};
  std::vector<Observed> seen;
  for (double x : {0.05, 0.2, 0.35, 0.5, 0.9, 0.98}) seen.push_back({{x}, -(x - 0.7) * (x - 0.7)});
  seen.push_back({{0.12}, std::nullopt});  // a failed trial counts as the worst
  std::vector<std::vector<double>> a = ProposeBatch(space, seen, true, 11, 7, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NEAR(a[0][0], 0.7, 0.1);
  EXPECT_EQ(ProposeBatch(space, seen, true, 11, 7, 1), a);
  // Minimising the negated scores is the same problem.
  std::vector<Observed> negated = seen;
  for (Observed& o : negated) {
    if (o.score) o.score = -*o.score;
  }
  EXPECT_NEAR(ProposeBatch(space, negated, false, 11, 7, 1)[0][0], 0.7, 0.1);
  std::vector<std::vector<double>> batch = ProposeBatch(space, seen, true, 11, 7, 4);
  ASSERT_EQ(batch.size(), 4u);
  double spread = 0;
  for (const auto& p : batch) spread = std::max(spread, std::abs(p[0] - batch[0][0]));
  EXPECT_GT(spread, 0.01);
}

// Past the limit the model learns from the best half and the most recent others.
TEST(BayesianTest, ManyTrialsKeepTheBestAndTheMostRecent) {
  std::vector<double> values = {5, 1, 9, 2, 8, 3, 0, 4};
  EXPECT_EQ(ModelPoints(values, 8), (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  // The best two (9 and 8: trials 2 and 4), then the most recent two others (7 and 6).
  EXPECT_EQ(ModelPoints(values, 4), (std::vector<size_t>{2, 4, 6, 7}));
  // A proposal from 600 trials still goes where the scores are high.
  std::vector<spec::SearchDimension> space = {Uniform("x", 0, 1), Uniform("y", 0, 1)};
  auto f = [](const std::vector<double>& u) {
    return -(u[0] - 0.7) * (u[0] - 0.7) - (u[1] - 0.2) * (u[1] - 0.2);
  };
  std::vector<Observed> seen;
  std::vector<double> scores;
  for (int k = 0; k < 600; ++k) {
    std::vector<double> u = RandomPoint(2, 9, k);
    seen.push_back({u, f(u)});
    scores.push_back(f(u));
  }
  std::sort(scores.begin(), scores.end());
  std::vector<std::vector<double>> p = ProposeBatch(space, seen, true, 9, 600, 1);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_GT(f(p[0]), scores[300]);  // better than the median trial
}

}  // namespace
}  // namespace weft::engine
