// Sampling a sweep's search space: grid order and limits, seeded random draws, and each
// distribution's parameterisation.
#include "engine/sweep_sample.h"

#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

namespace weft::engine {
namespace {

spec::SearchDimension Dim(const std::string& name, const std::string& type) {
  spec::SearchDimension d;
  d.name = name;
  d.type = type;
  return d;
}

spec::SearchDimension Choice(const std::string& name, std::vector<Literal> values) {
  spec::SearchDimension d = Dim(name, "choice");
  d.values = std::move(values);
  return d;
}

spec::SearchDimension Range(const std::string& name, const std::string& type, double lo, double hi,
                            double q = 0) {
  spec::SearchDimension d = Dim(name, type);
  d.min_value = lo;
  d.max_value = hi;
  if (q > 0) d.q = q;
  return d;
}

std::string Render(const TrialParams& t) {
  std::string out;
  for (const auto& [k, v] : t.values) out += k + "=" + v.Render() + " ";
  return out;
}

TEST(SweepSampleTest, GridGivesEveryCombinationLastDimensionFastest) {
  std::vector<spec::SearchDimension> space = {
      Choice("n", {Literal::Int(1), Literal::Int(2)}),
      Choice("k", {Literal::String("a"), Literal::String("b"), Literal::String("c")})};
  Result<std::vector<TrialParams>> all = GridTrials(space, 0);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> got;
  for (const TrialParams& t : *all) got.push_back(Render(t));
  EXPECT_EQ(got, (std::vector<std::string>{"n=1 k=a ", "n=1 k=b ", "n=1 k=c ", "n=2 k=a ", "n=2 k=b ",
                                           "n=2 k=c "}));
  EXPECT_EQ(GridTrials(space, 4)->size(), 4u);  // max_total_trials
  space.push_back(Range("lr", "uniform", 0, 1));
  Result<std::vector<TrialParams>> bad = GridTrials(space, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "grid sampling needs `choice` for every hyperparameter; `lr` is `uniform`");
}

TEST(SweepSampleTest, DistributionsUseAzuresParameterisations) {
  EXPECT_EQ(ValueAt(Range("x", "uniform", 2, 4), 0.25, 0).f, 2.5);
  EXPECT_EQ(ValueAt(Range("x", "quniform", 0, 10, 2), 0.55, 0).f, 6);  // round(5.5 / 2) * 2
  // loguniform takes exponents: exp(uniform(log 0.001, log 1)).
  EXPECT_NEAR(ValueAt(Range("x", "loguniform", std::log(0.001), 0), 0, 0).f, 0.001, 1e-12);
  EXPECT_NEAR(ValueAt(Range("x", "qloguniform", 0, std::log(100.0), 10), 0.5, 0).f, 10, 1e-9);  // exp(2.30) = 10
  spec::SearchDimension n = Dim("x", "normal");
  n.mu = 3;
  n.sigma = 2;
  EXPECT_EQ(ValueAt(n, 0.9, -1.5).f, 0);  // mu + sigma * z
  n.type = "qnormal";
  n.q = 4;
  EXPECT_EQ(ValueAt(n, 0.9, 0.6).f, 4);  // round(4.2 / 4) * 4
  n.type = "lognormal";
  n.q.reset();
  EXPECT_NEAR(ValueAt(n, 0.9, 0).f, std::exp(3.0), 1e-9);
  spec::SearchDimension r = Dim("x", "randint");
  r.upper = 5;
  EXPECT_EQ(ValueAt(r, 0.999, 0).kind, LiteralKind::kInt);
  EXPECT_EQ(ValueAt(r, 0.999, 0).i, 4);  // upper is exclusive
  EXPECT_EQ(ValueAt(r, 0.0, 0).i, 0);
  spec::SearchDimension c = Choice("x", {Literal::Int(8), Literal::Int(16), Literal::Int(32)});
  EXPECT_EQ(ValueAt(c, 0.5, 0).Render(), "16");
  EXPECT_EQ(ValueAt(c, 0.99, 0).Render(), "32");
}

TEST(SweepSampleTest, RandomTrialsAreFixedBySeedAndIndexAndFollowTheirDistributions) {
  spec::SearchDimension r = Dim("depth", "randint");
  r.upper = 10;
  std::vector<spec::SearchDimension> space = {Range("lr", "uniform", 0.1, 0.3), r,
                                              Range("alpha", "quniform", 0, 1, 0.25)};
  std::vector<TrialParams> a = RandomTrials(space, 42, 2000);
  std::vector<TrialParams> b = RandomTrials(space, 42, 10);
  std::vector<TrialParams> c = RandomTrials(space, 43, 10);
  for (size_t k = 0; k < 10; ++k) EXPECT_EQ(Render(a[k]), Render(b[k])) << k;  // not by count
  size_t same = 0;
  for (size_t k = 0; k < 10; ++k) same += Render(a[k]) == Render(c[k]);
  EXPECT_EQ(same, 0u);  // another seed, other trials
  double sum = 0;
  std::set<int64_t> depths;
  std::set<double> alphas;
  for (const TrialParams& t : a) {
    double lr = t.values[0].second.f;
    EXPECT_GE(lr, 0.1);
    EXPECT_LT(lr, 0.3);
    sum += lr;
    depths.insert(t.values[1].second.i);
    alphas.insert(t.values[2].second.f);
  }
  EXPECT_NEAR(sum / 2000, 0.2, 0.005);
  EXPECT_EQ(depths, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(alphas, (std::set<double>{0, 0.25, 0.5, 0.75, 1}));
}

// A choice of nested spaces: grid expands each space; random samples the one picked, and the
// choice's own name gets no value then.
TEST(SweepSampleTest, NestedSpacesGiveTheirOwnHyperparameters) {
  spec::SearchDimension model = Choice("model", {Literal(), Literal(), Literal::String("none")});
  model.options = {{Choice("kind", {Literal::String("svm")}), Choice("c", {Literal::Int(1), Literal::Int(2)})},
                   {Choice("kind", {Literal::String("tree")}), Range("depth", "quniform", 1, 9, 1)},
                   {}};
  std::vector<spec::SearchDimension> grid_space = {model, Choice("seed", {Literal::Int(7)})};
  Result<std::vector<TrialParams>> bad = GridTrials(grid_space, 0);
  ASSERT_FALSE(bad.ok());  // depth is not a choice
  EXPECT_EQ(bad.status().message(), "grid sampling needs `choice` for every hyperparameter; `depth` is `quniform`");
  grid_space[0].options[1][1] = Choice("depth", {Literal::Int(3), Literal::Int(5)});
  Result<std::vector<TrialParams>> grid = GridTrials(grid_space, 0);
  ASSERT_TRUE(grid.ok()) << grid.status().message();
  std::vector<std::string> got;
  for (const TrialParams& t : *grid) got.push_back(Render(t));
  EXPECT_EQ(got, (std::vector<std::string>{"kind=svm c=1 seed=7 ", "kind=svm c=2 seed=7 ", "kind=tree depth=3 seed=7 ",
                                           "kind=tree depth=5 seed=7 ", "model=none seed=7 "}));
  EXPECT_EQ(GridTrials(grid_space, 3)->size(), 3u);

  std::map<std::string, int> kinds;
  for (const TrialParams& t : RandomTrials({model}, 5, 300)) {
    std::string r = Render(t);
    if (r.rfind("kind=svm c=", 0) == 0) ++kinds["svm"];
    else if (r.rfind("kind=tree depth=", 0) == 0) ++kinds["tree"];
    else if (r == "model=none ") ++kinds["none"];
    else ADD_FAILURE() << r;
  }
  for (const char* k : {"svm", "tree", "none"}) EXPECT_GT(kinds[k], 70) << k;  // about 100 each
  EXPECT_EQ(Render(RandomTrials({model}, 5, 300)[17]), Render(RandomTrials({model}, 5, 18)[17]));
  EXPECT_EQ(SobolTrials({model}, 0, 4).size(), 4u);
}

TEST(SweepSampleTest, SobolTrialsFollowTheSobolSequenceAndASeedShiftsThem) {
  std::vector<spec::SearchDimension> space = {Range("a", "uniform", 0, 1), Range("b", "uniform", 0, 1)};
  // The sequence: (0, 0), (1/2, 1/2), (3/4, 1/4), (1/4, 3/4), ...
  std::vector<TrialParams> t = SobolTrials(space, 0, 4);
  ASSERT_EQ(t.size(), 4u);
  std::vector<std::string> got;
  for (const TrialParams& p : t) got.push_back(Render(p));
  EXPECT_EQ(got, (std::vector<std::string>{"a=0.0 b=0.0 ", "a=0.5 b=0.5 ", "a=0.75 b=0.25 ",
                                           "a=0.25 b=0.75 "}));
  // Evenly spread: each of 16 equal cells of each coordinate holds exactly 1 of 16 points.
  std::vector<TrialParams> many = SobolTrials(space, 7, 16);
  for (size_t dim = 0; dim < 2; ++dim) {
    std::set<int> cells;
    for (const TrialParams& p : many) cells.insert(static_cast<int>(p.values[dim].second.f * 16));
    EXPECT_EQ(cells.size(), 16u) << dim;
  }
  EXPECT_EQ(Render(SobolTrials(space, 7, 3)[2]), Render(many[2]));  // the seed fixes them
  EXPECT_NE(Render(SobolTrials(space, 8, 3)[2]), Render(many[2]));
  // The normal kinds take their coordinate through the inverse normal CDF: 1/2 is the mean.
  spec::SearchDimension n = Dim("n", "normal");
  n.mu = 5;
  n.sigma = 2;
  EXPECT_NEAR(SobolTrials({n}, 0, 2)[1].values[0].second.f, 5, 1e-9);
}

}  // namespace
}  // namespace weft::engine
