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

// Every combination of the choices, the last dimension varying fastest, at most `max_trials`
// (<= 0: all). An error names a dimension that is not a `choice`.
Result<std::vector<TrialParams>> GridTrials(const std::vector<spec::SearchDimension>& space,
                                            int64_t max_trials);

// `count` trials drawn at random: the same seed gives the same trials, whatever runs them.
std::vector<TrialParams> RandomTrials(const std::vector<spec::SearchDimension>& space, uint64_t seed,
                                      int64_t count);

// One value of a dimension from `u` in [0, 1) (and, for the normal kinds, `z`, a standard normal
// draw): how every sampler maps its draws onto a distribution.
Literal ValueAt(const spec::SearchDimension& d, double u, double z);

}  // namespace weft::engine
