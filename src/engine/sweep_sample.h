// Sampling a sweep's search space, with Azure ML's distributions and parameterisations
// (Microsoft Learn, "Hyperparameter tuning a model": search space). (engine/ internal.)
//
//   choice(values)             one of the values, each as likely
//   randint(upper)             an integer in [0, upper)
//   uniform(min, max)          uniform in [min, max)
//   loguniform(min, max)       exp(uniform(min, max)): min and max are exponents
//   quniform(min, max, q)      round(uniform(min, max) / q) * q
//   qloguniform(min, max, q)   round(exp(uniform(min, max)) / q) * q
//   normal(mu, sigma)          normal
//   qnormal(mu, sigma, q)      round(normal(mu, sigma) / q) * q
//   lognormal(mu, sigma)       exp(normal(mu, sigma))
//   qlognormal(mu, sigma, q)   round(exp(normal(mu, sigma)) / q) * q
//
// A trial's values are literals, as its inputs receive them: integers for randint and choice of
// integers, Python floats for the rest.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "spec/literal.h"
#include "spec/model.h"

namespace weft::engine {

struct TrialParams {
  int64_t index = 0;
  std::vector<std::pair<std::string, Literal>> values;  // in the search space's order
};

// The most trials one sweep runs (each is a job with its own folder and records).
constexpr size_t kMaxTrials = 10000;

// Every combination of the choices (a choice of a nested space: each combination of that space),
// the last dimension varying fastest, at most `max_trials` (<= 0: all, up to kMaxTrials). An
// error names a dimension that is not a `choice`.
Result<std::vector<TrialParams>> GridTrials(const std::vector<spec::SearchDimension>& space,
                                            int64_t max_trials);

// `count` trials drawn at random: the same seed gives the same trials, whatever runs them. Each
// dimension (and each one of a nested space) has its own coordinate, drawn from a generator of
// the seed, the trial and the coordinate; a choice of a nested space samples that space.
std::vector<TrialParams> RandomTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                      int64_t count);

// The point of random trial `index` in the unit cube: what RandomTrials maps to its values.
std::vector<double> RandomPoint(size_t dims, uint64_t seed, int64_t index);

// `count` trials from a Sobol sequence (Boost.Random's, with Joe and Kuo's direction numbers),
// one coordinate per dimension, from its first, all-zero point (the first 2^m points then fill
// every cell of side 2^-m of each coordinate exactly once); a seed other than 0 shifts
// every coordinate by the same seeded bits (a digital shift keeps the points evenly spread).
// The normal kinds take their draw through the inverse normal CDF.
std::vector<TrialParams> SobolTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                     int64_t count);

// The trial at point `u` of the unit cube (one coordinate per dimension), as every sampler maps
// it; the normal kinds take the inverse normal CDF of their coordinate.
TrialParams TrialAt(const std::vector<spec::SearchDimension>& space, int64_t index,
                    const std::vector<double>& u);

// One value of a dimension from `u` in [0, 1) (and, for the normal kinds, `z`, a standard normal
// draw): how every sampler maps its draws onto a distribution.
Literal ValueAt(const spec::SearchDimension& d, double u, double z);

}  // namespace weft::engine
