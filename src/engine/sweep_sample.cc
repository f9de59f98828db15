#include "engine/sweep_sample.h"

#include <algorithm>
#include <cmath>
#include <functional>
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

namespace {

using Values = std::vector<std::pair<std::string, Literal>>;

// Every combination of the choices of `space` (nested spaces expanded), the last dimension
// varying fastest, the first `limit` of them.
Result<std::vector<Values>> Combinations(const std::vector<spec::SearchDimension>& space, size_t limit) {
  std::vector<Values> partial = {{}};
  for (const spec::SearchDimension& d : space) {
    if (d.type != "choice") {
      return Status::Invalid(fmt::format("grid sampling needs `choice` for every hyperparameter; `{}` "
                                         "is `{}`",
                                         d.name, d.type));
    }
    std::vector<Values> picks;  // this dimension's own combinations
    for (size_t k = 0; k < d.values.size() && picks.size() < limit; ++k) {
      if (!d.nested() || d.options[k].empty()) {
        picks.push_back({{d.name, d.values[k]}});
        continue;
      }
      Result<std::vector<Values>> inner = Combinations(d.options[k], limit);
      if (!inner.ok()) return inner.status();
      picks.insert(picks.end(), inner->begin(), inner->end());
    }
    // Each partial combination gives at least one whole one: the first `limit` need no more.
    std::vector<Values> next;
    for (const Values& p : partial) {
      for (const Values& pick : picks) {
        if (next.size() == limit) break;
        Values v = p;
        v.insert(v.end(), pick.begin(), pick.end());
        next.push_back(std::move(v));
      }
    }
    partial = std::move(next);
  }
  return partial;
}

// How many coordinates of the unit cube a dimension takes: its own, then those of each nested
// space of its values, in order.
size_t Slots(const std::vector<spec::SearchDimension>& space);
size_t Slots(const spec::SearchDimension& d) {
  size_t n = 1;
  for (const auto& option : d.options) n += Slots(option);
  return n;
}
size_t Slots(const std::vector<spec::SearchDimension>& space) {
  size_t n = 0;
  for (const spec::SearchDimension& d : space) n += Slots(d);
  return n;
}

// Appends a trial's values for `space`, whose coordinates start at `slot`; `draw(slot)` gives a
// coordinate's uniform and normal draws. A choice of a nested space samples that space instead.
void Sample(const std::vector<spec::SearchDimension>& space, size_t slot,
            const std::function<std::pair<double, double>(size_t)>& draw, Values& out) {
  for (const spec::SearchDimension& d : space) {
    auto [u, z] = draw(slot);
    size_t inner = slot + 1;
    slot += Slots(d);
    if (d.nested()) {
      size_t n = d.values.size();
      size_t k = std::min(n - 1, static_cast<size_t>(u * static_cast<double>(n)));
      for (size_t o = 0; o < k; ++o) inner += Slots(d.options[o]);
      if (!d.options[k].empty()) {
        Sample(d.options[k], inner, draw, out);
        continue;
      }
    }
    out.emplace_back(d.name, ValueAt(d, u, z));
  }
}

// Trial k's draws for coordinate i: a uniform one in [0, 1) and a standard normal one, from their
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

Result<std::vector<TrialParams>> GridTrials(const std::vector<spec::SearchDimension>& space,
                                            int64_t max_trials) {
  size_t limit = max_trials > 0 ? static_cast<size_t>(max_trials) : kMaxTrials + 1;
  Result<std::vector<Values>> all = Combinations(space, limit);
  if (!all.ok()) return all.status();
  if (all->size() > kMaxTrials) {
    return Status::Invalid(fmt::format("its grid has more than {} combinations, more than weft runs in one sweep; set `limits.max_total_trials`",
                                       kMaxTrials));
  }
  std::vector<TrialParams> out;
  for (Values& v : *all) out.push_back({static_cast<int64_t>(out.size()), std::move(v)});
  return out;
}

std::vector<TrialParams> RandomTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                      int64_t count) {
  std::vector<TrialParams> out;
  for (int64_t k = 0; k < count; ++k) {
    TrialParams t;
    t.index = k;
    Sample(space, 0, [&](size_t slot) { return Draw(seed, k, slot); }, t.values);
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
  auto draw = [&](size_t slot) {
    double p = slot < u.size() ? u[slot] : 0.5;
    return std::pair{p, boost::math::quantile(boost::math::normal(), std::clamp(p, 1e-12, 1 - 1e-12))};
  };
  Sample(space, 0, draw, t.values);
  return t;
}

std::vector<TrialParams> SobolTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                     int64_t count) {
  std::vector<TrialParams> out;
  if (space.empty()) return out;
  size_t dims = Slots(space);
  boost::random::sobol sobol(dims);  // it starts after the all-zero point
  std::vector<uint64_t> shift(dims, 0);
  if (seed != 0) {
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    std::mt19937_64 gen(seq);
    for (uint64_t& s : shift) s = gen();
  }
  for (int64_t k = 0; k < count; ++k) {
    std::vector<double> u(dims);
    for (size_t i = 0; i < dims; ++i) {
      uint64_t bits = (k == 0 ? 0 : sobol()) ^ shift[i];
      u[i] = std::ldexp(static_cast<double>(bits >> 11), -53);  // in [0, 1)
    }
    out.push_back(TrialAt(space, k, u));
  }
  return out;
}

}  // namespace weft::engine
