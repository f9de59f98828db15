#include "engine/bayesian.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include "engine/sweep_sample.h"

namespace weft::engine {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kSqrt5 = 2.23606797749979;
constexpr double kXi = 0.01;  // how much better than the best a point must promise to count

struct Hyper {
  VectorXd length;      // per dimension, in the unit cube's units
  double noise = 1e-4;  // variance, relative to the standardised scores' (1)
};

// A Gaussian process conditioned on points X (one per row) and standardised scores y.
struct Model {
  MatrixXd x;
  VectorXd y;
  Hyper h;
  Eigen::LLT<MatrixXd> llt;
  VectorXd alpha;
  double evidence = -INFINITY;  // log marginal likelihood
};

double Kernel(const VectorXd& a, const VectorXd& b, const VectorXd& length) {
  double r = std::sqrt(((a - b).array() / length.array()).square().sum());
  return (1 + kSqrt5 * r + 5.0 / 3.0 * r * r) * std::exp(-kSqrt5 * r);
}

bool Fit(Model& m) {
  Eigen::Index n = m.x.rows();
  MatrixXd k(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j <= i; ++j) {
      k(i, j) = k(j, i) = Kernel(m.x.row(i).transpose(), m.x.row(j).transpose(), m.h.length);
    }
    k(i, i) += m.h.noise + 1e-10;
  }
  m.llt.compute(k);
  if (m.llt.info() != Eigen::Success) return false;
  m.alpha = m.llt.solve(m.y);
  const MatrixXd& l = m.llt.matrixLLT();
  double log_det = 0;
  for (Eigen::Index i = 0; i < n; ++i) log_det += std::log(l(i, i));
  m.evidence =
      -0.5 * m.y.dot(m.alpha) - log_det - 0.5 * static_cast<double>(n) * std::log(2 * M_PI);
  return true;
}

// The model's mean and standard deviation of the score at x.
std::pair<double, double> Predict(const Model& m, const VectorXd& x) {
  Eigen::Index n = m.x.rows();
  VectorXd k(n);
  for (Eigen::Index i = 0; i < n; ++i) k(i) = Kernel(m.x.row(i).transpose(), x, m.h.length);
  double mean = k.dot(m.alpha);
  VectorXd v = m.llt.matrixL().solve(k);
  double var = std::max(1e-12, 1.0 - v.squaredNorm());
  return {mean, std::sqrt(var)};
}

double ExpectedImprovement(const Model& m, const VectorXd& x, double best) {
  auto [mean, sd] = Predict(m, x);
  double gain = mean - best - kXi;
  double z = gain / sd;
  double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  return gain * cdf + sd * pdf;
}

// The length scales and noise with the largest evidence: seeded candidates, then each refined.
void ChooseHyper(Model& m, std::mt19937_64& gen) {
  Eigen::Index d = m.x.cols();
  std::uniform_real_distribution<double> log_length(std::log(0.05), std::log(2.0));
  const double kNoises[] = {1e-6, 1e-4, 1e-2, 1e-1};
  Model best = m;
  auto consider = [&](const Hyper& h) {
    Model trial = m;
    trial.h = h;
    if (Fit(trial) && trial.evidence > best.evidence) best = std::move(trial);
  };
  consider(Hyper{VectorXd::Constant(d, 0.3), 1e-4});
  for (int c = 0; c < 48; ++c) {
    Hyper h{VectorXd(d), kNoises[gen() % 4]};
    for (Eigen::Index i = 0; i < d; ++i) h.length(i) = std::exp(log_length(gen));
    consider(h);
  }
  for (int pass = 0; pass < 3; ++pass) {
    for (Eigen::Index i = 0; i <= d; ++i) {  // i == d: the noise
      for (double f : {0.5, 0.8, 1.25, 2.0}) {
        Hyper h = best.h;
        if (i < d) {
          h.length(i) = std::clamp(h.length(i) * f, 0.01, 5.0);
        } else {
          h.noise = std::clamp(h.noise * f * f, 1e-8, 0.5);
        }
        consider(h);
      }
    }
  }
  if (std::isfinite(best.evidence)) m = std::move(best);
}

VectorXd Snapped(const std::vector<spec::SearchDimension>& space, const VectorXd& x) {
  std::vector<double> u(x.data(), x.data() + x.size());
  u = Snap(space, std::move(u));
  return Eigen::Map<VectorXd>(u.data(), static_cast<Eigen::Index>(u.size()));
}

// The point of largest expected improvement: seeded random candidates, then around the best ones.
VectorXd Maximise(const std::vector<spec::SearchDimension>& space, const Model& m, double best,
                  std::mt19937_64& gen) {
  Eigen::Index d = m.x.cols();
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::pair<double, VectorXd>> scored;
  int candidates = 1000 + 500 * static_cast<int>(d);
  for (int c = 0; c < candidates; ++c) {
    VectorXd x(d);
    for (Eigen::Index i = 0; i < d; ++i) x(i) = unit(gen);
    x = Snapped(space, x);
    scored.emplace_back(ExpectedImprovement(m, x, best), std::move(x));
  }
  auto better = [](const auto& a, const auto& b) { return a.first > b.first; };
  std::stable_sort(scored.begin(), scored.end(), better);
  scored.resize(std::min<size_t>(scored.size(), 5));
  std::normal_distribution<double> step(0, 1);
  for (size_t s = 0, top = scored.size(); s < top; ++s) {
    std::pair<double, VectorXd> at = scored[s];
    for (double scale : {0.1, 0.03, 0.01}) {
      for (int t = 0; t < 30; ++t) {
        VectorXd x = at.second;
        for (Eigen::Index i = 0; i < d; ++i)
          x(i) = std::clamp(x(i) + scale * step(gen), 0.0, 1.0 - 1e-9);
        x = Snapped(space, x);
        double ei = ExpectedImprovement(m, x, best);
        if (ei > at.first) at = {ei, std::move(x)};
      }
    }
    scored[s] = std::move(at);
  }
  std::stable_sort(scored.begin(), scored.end(), better);
  return scored.front().second;
}

}  // namespace

std::vector<double> Snap(const std::vector<spec::SearchDimension>& space, std::vector<double> u) {
  for (size_t i = 0; i < space.size() && i < u.size(); ++i) {
    const spec::SearchDimension& d = space[i];
    double p = std::clamp(u[i], 0.0, 1.0 - 1e-12);
    if (d.type == "choice" && !d.values.empty()) {
      double n = static_cast<double>(d.values.size());
      p = (std::floor(p * n) + 0.5) / n;
    } else if (d.type == "quniform" && d.q.value_or(0) > 0) {
      double lo = d.min_value.value_or(0), hi = d.max_value.value_or(1), q = *d.q;
      if (hi > lo) {
        double v = std::round((lo + p * (hi - lo)) / q) * q;
        p = std::clamp((v - lo) / (hi - lo), 0.0, 1.0 - 1e-12);
      }
    }
    u[i] = p;
  }
  return u;
}

std::vector<std::vector<double>> ProposeBatch(const std::vector<spec::SearchDimension>& space,
                                              const std::vector<Observed>& observed, bool maximize,
                                              uint64_t seed, int64_t first, int64_t count) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(first), 0x6a09e667u};
  std::mt19937_64 gen(seq);
  auto d = static_cast<Eigen::Index>(space.size());
  std::vector<std::vector<double>> out;
  std::vector<const Observed*> scored;
  for (const Observed& o : observed) {
    if (o.score && std::isfinite(*o.score)) scored.push_back(&o);
  }
  if (scored.empty() || d == 0) {  // nothing to learn from yet: random points
    std::uniform_real_distribution<double> unit(0, 1);
    for (int64_t k = 0; k < count; ++k) {
      std::vector<double> u(space.size());
      for (double& x : u) x = unit(gen);
      out.push_back(Snap(space, std::move(u)));
    }
    return out;
  }
  // Scores to maximise, standardised; failed trials count as the worst seen.
  double worst = INFINITY;
  for (const Observed* o : scored) worst = std::min(worst, maximize ? *o->score : -*o->score);
  std::vector<double> values;  // to maximise
  for (const Observed& o : observed) {
    bool ok = o.score && std::isfinite(*o.score);
    values.push_back(ok ? (maximize ? *o.score : -*o.score) : worst);
  }
  std::vector<size_t> use = ModelPoints(values, kMaxModelPoints);
  Model m;
  auto n = static_cast<Eigen::Index>(use.size());
  m.x.resize(n, d);
  m.y.resize(n);
  for (Eigen::Index r = 0; r < n; ++r) {
    size_t k = use[static_cast<size_t>(r)];
    const Observed& o = observed[k];
    for (Eigen::Index i = 0; i < d; ++i)
      m.x(r, i) = i < static_cast<Eigen::Index>(o.u.size()) ? o.u[i] : 0.5;
    m.y(r) = values[k];
  }
  double mean = m.y.mean();
  double sd = std::sqrt((m.y.array() - mean).square().mean());
  m.y = (m.y.array() - mean) / (sd > 1e-12 ? sd : 1.0);
  ChooseHyper(m, gen);
  if (!Fit(m)) {
    m.h.noise = 1e-2;
    Fit(m);
  }
  for (int64_t k = 0; k < count; ++k) {
    VectorXd x = Maximise(space, m, m.y.maxCoeff(), gen);
    out.emplace_back(x.data(), x.data() + x.size());
    if (k + 1 == count) break;
    // The kriging believer: the point joins the model as if it scored the mean predicted there.
    double believed = Predict(m, x).first;
    m.x.conservativeResize(m.x.rows() + 1, Eigen::NoChange);
    m.x.row(m.x.rows() - 1) = x.transpose();
    m.y.conservativeResize(m.y.size() + 1);
    m.y(m.y.size() - 1) = believed;
    if (!Fit(m)) {
      m.h.noise = std::max(m.h.noise, 1e-2);
      Fit(m);
    }
  }
  return out;
}

std::vector<size_t> ModelPoints(const std::vector<double>& values, size_t max) {
  std::vector<size_t> all(values.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = k;
  if (all.size() <= max) return all;
  std::vector<size_t> by_value = all;
  std::stable_sort(by_value.begin(), by_value.end(),
                   [&](size_t a, size_t b) { return values[a] > values[b]; });
  std::vector<bool> keep(values.size(), false);
  for (size_t k = 0; k < max / 2; ++k) keep[by_value[k]] = true;
  size_t kept = max / 2;
  for (size_t k = values.size(); k-- > 0 && kept < max;) {
    if (keep[k]) continue;
    keep[k] = true;
    ++kept;
  }
  std::vector<size_t> out;
  for (size_t k = 0; k < keep.size(); ++k) {
    if (keep[k]) out.push_back(k);
  }
  return out;
}

int64_t InitialTrials(size_t dims, int64_t total) {
  return std::min<int64_t>(total, std::max<int64_t>(5, 2 * static_cast<int64_t>(dims) + 1));
}

std::vector<std::vector<double>> BayesianPoints(const std::vector<spec::SearchDimension>& space,
                                                const std::vector<Observed>& observed,
                                                bool maximize, uint64_t seed, int64_t first,
                                                int64_t count, int64_t total) {
  std::vector<std::vector<double>> out;
  int64_t initial = InitialTrials(space.size(), total);
  for (int64_t k = first; k < first + count && k < initial; ++k) {
    out.push_back(Snap(space, RandomPoint(space.size(), seed, k)));
  }
  int64_t rest = count - static_cast<int64_t>(out.size());
  if (rest > 0) {
    for (std::vector<double>& u : ProposeBatch(space, observed, maximize, seed, first, rest)) {
      out.push_back(std::move(u));
    }
  }
  return out;
}

}  // namespace weft::engine
