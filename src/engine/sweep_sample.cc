#include "engine/sweep_sample.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <boost/math/distributions/normal.hpp>
#include <boost/random/sobol.hpp>
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

namespace {

// Trial k's draws for dimension i: a uniform one in [0, 1) and a standard normal one, from their
// own generator, so that a trial's values do not depend on how many were drawn before it.
std::pair<double, double> Draw(uint64_t seed, int64_t k, size_t i) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(k), static_cast<uint32_t>(i)};
  std::mt19937_64 gen(seq);
  double u = std::uniform_real_distribution<double>(0, 1)(gen);
  double z = std::normal_distribution<double>(0, 1)(gen);
  return {u, z};
}

}  // namespace

std::vector<TrialParams> RandomTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                      int64_t count) {
  std::vector<TrialParams> out;
  for (int64_t k = 0; k < count; ++k) {
    TrialParams t;
    t.index = k;
    for (size_t i = 0; i < space.size(); ++i) {
      auto [u, z] = Draw(seed, k, i);
      t.values.emplace_back(space[i].name, ValueAt(space[i], u, z));
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<double> RandomPoint(size_t dims, uint64_t seed, int64_t index) {
  std::vector<double> u(dims);
  for (size_t i = 0; i < dims; ++i) u[i] = Draw(seed, index, i).first;
  return u;
}

TrialParams TrialAt(const std::vector<spec::SearchDimension>& space, int64_t index,
                    const std::vector<double>& u) {
  TrialParams t;
  t.index = index;
  for (size_t i = 0; i < space.size() && i < u.size(); ++i) {
    double p = std::clamp(u[i], 1e-12, 1 - 1e-12);
    double z = boost::math::quantile(boost::math::normal(), p);
    t.values.emplace_back(space[i].name, ValueAt(space[i], u[i], z));
  }
  return t;
}

std::vector<TrialParams> SobolTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                     int64_t count) {
  std::vector<TrialParams> out;
  if (space.empty()) return out;
  boost::random::sobol sobol(space.size());  // it starts after the all-zero point
  std::vector<uint64_t> shift(space.size(), 0);
  if (seed != 0) {
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    std::mt19937_64 gen(seq);
    for (uint64_t& s : shift) s = gen();
  }
  for (int64_t k = 0; k < count; ++k) {
    std::vector<double> u(space.size());
    for (size_t i = 0; i < space.size(); ++i) {
      uint64_t bits = (k == 0 ? 0 : sobol()) ^ shift[i];
      u[i] = std::ldexp(static_cast<double>(bits >> 11), -53);  // in [0, 1)
    }
    out.push_back(TrialAt(space, k, u));
  }
  return out;
}

}  // namespace weft::engine
