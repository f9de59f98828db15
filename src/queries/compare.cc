#include "queries/compare.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace weft::queries {

bool CompareRow::differs() const {
  for (const auto& v : values) {
    if (v != values.front()) return true;
  }
  return false;
}

namespace {

// Rows in order of first appearance, keyed by (step, kind, name).
class Table {
 public:
  explicit Table(size_t columns) : columns_(columns) {}

  void Set(size_t column, const std::string& step, const std::string& kind, const std::string& name,
           std::string value) {
    auto key = std::make_tuple(step, kind, name);
    auto [it, fresh] = at_.emplace(key, rows_.size());
    if (fresh) rows_.push_back({step, kind, name, std::vector<std::optional<std::string>>(columns_)});
    rows_[it->second].values[column] = std::move(value);
  }

  // Rows grouped by step in `step_order` (the run's own rows first), then by kind; otherwise in
  // the order first set.
  std::vector<CompareRow> Take(const std::vector<std::string>& step_order) {
    std::map<std::string, size_t> rank;
    for (const std::string& s : step_order) rank.emplace(s, rank.size());
    static const std::map<std::string, int> kKind = {{"run", 0}, {"status", 0}, {"input", 1},
                                                     {"param", 2}, {"tag", 3}, {"metric", 4},
                                                     {"output", 5}};
    std::stable_sort(rows_.begin(), rows_.end(), [&](const CompareRow& a, const CompareRow& b) {
      return std::make_pair(rank[a.step], kKind.at(a.kind)) < std::make_pair(rank[b.step], kKind.at(b.kind));
    });
    return std::move(rows_);
  }

 private:
  size_t columns_;
  std::vector<CompareRow> rows_;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> at_;
};

std::string Digest(const std::string& hex) { return hex.empty() ? "" : "sha256:" + hex; }

}  // namespace

Result<std::vector<CompareRow>> CompareRuns(meta::MetaStore& meta,
                                            const std::vector<meta::RunRecord>& runs) {
  Table t(runs.size());
  std::vector<std::string> step_order = {""};
  for (size_t c = 0; c < runs.size(); ++c) {
    const meta::RunRecord& run = runs[c];
    t.Set(c, "", "run", "status", std::string(meta::Name(run.status)));
    t.Set(c, "", "run", "experiment", run.experiment);
    t.Set(c, "", "run", "pipeline", run.pipeline_file);
    for (const auto& [k, v] : run.tags) t.Set(c, "", "tag", k, v);
    Result<std::vector<meta::StepRecord>> steps = meta.Steps(run.id);
    if (!steps.ok()) return steps.status();
    for (const meta::StepRecord& s : *steps) {
      if (std::find(step_order.begin(), step_order.end(), s.name) == step_order.end()) {
        step_order.push_back(s.name);
      }
      t.Set(c, s.name, "status", "status", std::string(meta::Name(s.status)));
      // A reused step's inputs are, by its fingerprint, those of the attempt it reuses.
      auto [src_run, src_idx] = s.ResultAttempt();
      Result<std::vector<meta::InputRecord>> ins = meta.Inputs(src_run, src_idx);
      if (!ins.ok()) return ins.status();
      for (const meta::InputRecord& in : *ins) {
        if (in.kind == "none") continue;
        t.Set(c, s.name, "input", in.name, in.digest.empty() ? in.value : Digest(in.digest));
      }
      Result<std::vector<meta::ParamRecord>> ps = meta.Params(src_run, src_idx);
      if (!ps.ok()) return ps.status();
      for (const meta::ParamRecord& p : *ps) t.Set(c, s.name, p.kind, p.name, p.value);
      Result<std::vector<meta::MetricRecord>> ms = meta.Metrics(src_run, src_idx);
      if (!ms.ok()) return ms.status();
      for (const meta::MetricRecord& m : *ms) t.Set(c, s.name, "metric", m.name, fmt::format("{:.6g}", m.value));
      Result<std::vector<meta::OutputRecord>> outs = meta.Outputs(src_run, src_idx);
      if (!outs.ok()) return outs.status();
      for (const meta::OutputRecord& o : *outs) t.Set(c, s.name, "output", o.name, Digest(o.digest));
    }
  }
  return t.Take(step_order);
}

Result<std::vector<CompareRow>> CompareJobs(meta::MetaStore& meta, const meta::RunRecord& run,
                                            const std::string& step, size_t* jobs) {
  Result<std::optional<meta::StepRecord>> found = meta.FindStep(run.id, step);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("run {} has no step `{}`", run.id, step));
  auto [src_run, src_idx] = (*found)->ResultAttempt();
  Result<std::vector<meta::JobRecord>> records = meta.Jobs(src_run, src_idx);
  if (!records.ok()) return records.status();
  if ((*found)->jobs <= 1 || records->empty()) {
    return Status::Invalid(fmt::format("step {} of run {} has one job; `weft compare RUN RUN` compares runs",
                                       step, run.id));
  }
  *jobs = records->size();
  Table t(records->size());
  for (size_t c = 0; c < records->size(); ++c) {
    const meta::JobRecord& j = (*records)[c];
    t.Set(c, step, "status", "status", std::string(meta::Name(j.status)));
    Result<std::vector<meta::ParamRecord>> ps = meta.Params(src_run, src_idx, j.job);
    if (!ps.ok()) return ps.status();
    for (const meta::ParamRecord& p : *ps) t.Set(c, step, p.kind, p.name, p.value);
    Result<std::vector<meta::MetricRecord>> ms = meta.Metrics(src_run, src_idx, j.job);
    if (!ms.ok()) return ms.status();
    for (const meta::MetricRecord& m : *ms) t.Set(c, step, "metric", m.name, fmt::format("{:.6g}", m.value));
  }
  return t.Take({step});
}

}  // namespace weft::queries
