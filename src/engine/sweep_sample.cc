#include "engine/sweep_sample.h"

#include <cmath>
#include <random>

#include <fmt/format.h>

namespace weft::engine {
namespace {

double Quantize(double v, double q) { return q > 0 ? std::round(v / q) * q : v; }

}  // namespace

Literal ValueAt(const spec::SearchDimension& d, double u, double z) {
  double lo = d.min_value.value_or(0), hi = d.max_value.value_or(1);
  double mu = d.mu.value_or(0), sigma = d.sigma.value_or(1), q = d.q.value_or(0);
  const std::string& t = d.type;
  if (t == "choice") {
    if (d.values.empty()) return Literal();
    size_t n = d.values.size();
    return d.values[std::min(n - 1, static_cast<size_t>(u * static_cast<double>(n)))];
  }
  if (t == "randint") {
    int64_t upper = std::max<int64_t>(1, d.upper.value_or(1));
    return Literal::Int(std::min(upper - 1, static_cast<int64_t>(u * static_cast<double>(upper))));
  }
  double v = 0;
  if (t == "uniform" || t == "quniform") v = lo + u * (hi - lo);
  if (t == "loguniform" || t == "qloguniform") v = std::exp(lo + u * (hi - lo));
  if (t == "normal" || t == "qnormal") v = mu + sigma * z;
  if (t == "lognormal" || t == "qlognormal") v = std::exp(mu + sigma * z);
  if (t.front() == 'q') v = Quantize(v, q);
  return Literal::Float(v);
}

Result<std::vector<TrialParams>> GridTrials(const std::vector<spec::SearchDimension>& space,
                                            int64_t max_trials) {
  uint64_t total = 1;
  for (const spec::SearchDimension& d : space) {
    if (d.type != "choice") {
      return Status::Invalid(fmt::format("grid sampling needs `choice` for every hyperparameter; `{}` "
                                         "is `{}`",
                                         d.name, d.type));
    }
    total *= std::max<size_t>(1, d.values.size());
    if (total > (uint64_t{1} << 40)) break;
  }
  if (max_trials > 0) total = std::min<uint64_t>(total, static_cast<uint64_t>(max_trials));
  std::vector<TrialParams> out;
  for (uint64_t k = 0; k < total; ++k) {
    TrialParams t;
    t.index = static_cast<int64_t>(k);
    uint64_t rest = k;
    t.values.resize(space.size());
    for (size_t i = space.size(); i-- > 0;) {  // the last dimension varies fastest
      size_t n = std::max<size_t>(1, space[i].values.size());
      t.values[i] = {space[i].name, space[i].values.empty() ? Literal() : space[i].values[rest % n]};
      rest /= n;
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TrialParams> RandomTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                      int64_t count) {
  // One generator per trial and dimension, from the seed: a trial's values do not depend on how
  // many were drawn before it.
  std::vector<TrialParams> out;
  for (int64_t k = 0; k < count; ++k) {
    TrialParams t;
    t.index = k;
    for (size_t i = 0; i < space.size(); ++i) {
      std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                        static_cast<uint32_t>(k), static_cast<uint32_t>(i)};
      std::mt19937_64 gen(seq);
      double u = std::uniform_real_distribution<double>(0, 1)(gen);
      double z = std::normal_distribution<double>(0, 1)(gen);
      t.values.emplace_back(space[i].name, ValueAt(space[i], u, z));
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace weft::engine
