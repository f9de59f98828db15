// Bayesian sampling of a sweep: a Gaussian process fitted to the trials that have ended, and the
// next trials where its expected improvement is largest. (engine/ internal; the adapter of Eigen.)
//
// Every hyperparameter is a coordinate of the unit cube (sweep_sample.h maps points to values:
// `choice` by index, `uniform` and `quniform` linearly). The first trials are seeded random
// points; later ones come in batches: each batch is proposed from the trials before it only, one
// point at a time, each one taken as if it had scored the model's mean there (the "kriging
// believer"), so a batch is spread out. The model: zero-mean Gaussian process on the
// standardised scores, Matern 5/2 kernel with one length scale per dimension, the length scales
// and noise chosen by the marginal likelihood among seeded candidates, then refined one dimension
// at a time. Expected improvement is maximised over seeded random candidates, then around the
// best of them. Past kMaxModelPoints trials the model learns from the best and the most recent
// (ModelPoints). The same seed and the same scores give the same proposals.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "spec/model.h"

namespace weft::engine {

// How many trials a bayesian sweep proposes at once when `max_concurrent_trials` does not say.
constexpr int64_t kBayesianBatch = 4;

struct Observed {
  std::vector<double> u;        // the trial's point in the unit cube
  std::optional<double> score;  // its last value of the primary metric (none: failed or silent)
};

// `count` new points for trials `first`, `first + 1`, ...: failed trials count as the worst score
// seen (so the model learns to avoid them). Points are snapped to what the dimension can take (a
// choice's index, a quniform's step), so the model sees what runs.
std::vector<std::vector<double>> ProposeBatch(const std::vector<spec::SearchDimension>& space,
                                              const std::vector<Observed>& observed, bool maximize,
                                              uint64_t seed, int64_t first, int64_t count);

// How many of a bayesian sweep's first trials are random points: 2 per dimension and 1, at
// least 5, at most all of them.
int64_t InitialTrials(size_t dims, int64_t total);

// The points of trials `first` .. `first + count - 1`, knowing how the trials before `first`
// scored: the initial ones random (RandomPoint, snapped), the rest proposed.
std::vector<std::vector<double>> BayesianPoints(const std::vector<spec::SearchDimension>& space,
                                                const std::vector<Observed>& observed,
                                                bool maximize, uint64_t seed, int64_t first,
                                                int64_t count, int64_t total);

// The trials the model learns from: all of them up to `max`, else the best max/2 by `values` (to
// maximise) and the most recent others, in trial order (the model's cost grows with the cube of
// its points).
constexpr size_t kMaxModelPoints = 256;
std::vector<size_t> ModelPoints(const std::vector<double>& values, size_t max);

// The point as the dimension can take it (see ProposeBatch).
std::vector<double> Snap(const std::vector<spec::SearchDimension>& space, std::vector<double> u);

}  // namespace weft::engine
