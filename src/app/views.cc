#include "app/views.h"

#include "exec/slurm.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>

#include <fmt/format.h>

namespace weft::app {

Result<meta::RunFilter> ParseRunFilter(const std::string& experiment, const std::string& status,
                                       const std::string& since, const std::string& tag) {
  meta::RunFilter f;
  f.experiment = experiment;
  if (!status.empty()) {
    f.status = meta::ParseRunStatus(status);
    if (!f.status) {
      return Status::Invalid(
          fmt::format("status `{}`: expected running, succeeded, failed, "
                      "canceled or interrupted",
                      status));
    }
  }
  if (!since.empty()) {
    std::tm tm{};
    const char* end = ::strptime(since.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0') {
      return Status::Invalid(fmt::format("since {}: expected a date, YYYY-MM-DD", since));
    }
    int64_t secs = static_cast<int64_t>(::timegm(&tm));
    constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000;  // past 2262: later than any run
    f.since_ns = secs >= kMaxSecs ? INT64_MAX : secs * 1'000'000'000;
  }
  size_t eq = tag.find('=');
  f.tag = tag.substr(0, eq);
  if (eq != std::string::npos) f.tag_value = tag.substr(eq + 1);
  return f;
}

Json RunSummaryJson(const meta::RunRecord& r) {
  Json tags = Json::MakeObject();
  for (const auto& [k, v] : r.tags) tags.Set(k, v);
  return Json::MakeObject()
      .Set("id", r.id)
      .Set("name", r.name)
      .Set("experiment", r.experiment)
      .Set("project", r.project)
      .Set("status", std::string(meta::Name(r.status)))
      .Set("exit_code", r.exit_code)
      .Set("created_ns", r.created_ns)
      .Set("finished_ns", r.finished_ns)
      .Set("pipeline_file", r.pipeline_file)
      .Set("tags", std::move(tags));
}

Result<std::vector<meta::JobRecord>> JobsOf(meta::MetaStore& meta, const meta::StepRecord& s) {
  if (s.jobs <= 1) return std::vector<meta::JobRecord>{};
  auto [src_run, src_idx] = s.ResultAttempt();
  return meta.Jobs(src_run, src_idx);
}

Result<Json> RunDetailJson(meta::MetaStore& meta, const meta::RunRecord& run,
                           const ws::Workspace* ws) {
  Result<std::vector<meta::StepRecord>> steps = meta.Steps(run.id);
  if (!steps.ok()) return steps.status();
  Json arr = Json::MakeArray();
  for (const auto& s : *steps) {
    Json outs = Json::MakeArray();
    auto [src_run, src_idx] = s.ResultAttempt();
    Result<std::vector<meta::OutputRecord>> outputs = meta.Outputs(src_run, src_idx);
    if (!outputs.ok()) return outputs.status();
    for (const auto& out : *outputs) {
      outs.Push(Json::MakeObject().Set("name", out.name).Set("digest", "sha256:" + out.digest));
    }
    Result<std::vector<meta::InputRecord>> inputs = meta.Inputs(s.run_id, s.index);
    if (!inputs.ok()) return inputs.status();
    Json ins = Json::MakeArray();
    for (const meta::InputRecord& in : *inputs) {
      ins.Push(Json::MakeObject()
                   .Set("name", in.name)
                   .Set("kind", in.kind)
                   .Set("value", in.value)
                   .Set("digest", in.digest.empty() ? "" : "sha256:" + in.digest));
    }
    Result<std::vector<meta::JobRecord>> jobs = JobsOf(meta, s);
    if (!jobs.ok()) return jobs.status();
    Json jobs_json = Json::MakeArray();
    for (const meta::JobRecord& j : *jobs) {
      jobs_json.Push(Json::MakeObject()
                         .Set("job", j.job)
                         .Set("job_id", j.job_id)
                         .Set("status", std::string(meta::Name(j.status)))
                         .Set("attempt", j.attempt)
                         .Set("started_ns", j.started_ns)
                         .Set("finished_ns", j.finished_ns)
                         .Set("exit_code", j.exit_code)
                         .Set("message", j.message));
    }
    Json step = Json::MakeObject()
                    .Set("name", s.name)
                    .Set("status", std::string(meta::Name(s.status)))
                    .Set("component", s.component)
                    .Set("fingerprint", s.fingerprint)
                    .Set("reused_from", s.reused_run)
                    .Set("started_ns", s.started_ns)
                    .Set("finished_ns", s.finished_ns)
                    .Set("exit_code", s.exit_code)
                    .Set("message", s.message)
                    .Set("waiting", "")  // (a server's engine knows: app::Host::Waiting)
                    .Set("target", s.target)
                    .Set("job", s.job)
                    .Set("inputs", std::move(ins))
                    .Set("outputs", std::move(outs))
                    .Set("jobs", std::move(jobs_json));
    std::optional<exec::SlurmJobInfo> slurm;
    if (ws != nullptr && s.job.rfind("slurm:", 0) == 0 && s.jobs <= 1) {
      slurm = exec::ReadSlurmJobInfo(ws->attempt_dir(s.run_id, s.index, 1, 0, s.attempt));
    }
    if (slurm) {
      step.Set("slurm", Json::MakeObject()
                            .Set("job_id", slurm->job_id)
                            .Set("node", slurm->node)
                            .Set("state", slurm->state)
                            .Set("elapsed_s", slurm->elapsed_s)
                            .Set("max_rss_mb", slurm->max_rss_mb));
    }
    arr.Push(std::move(step));
  }
  Result<std::vector<std::string>> warnings = meta.Warnings(run.id);
  if (!warnings.ok()) return warnings.status();
  Json said = Json::MakeArray();
  for (const std::string& w : *warnings) said.Push(Json(w));
  Json detail = RunSummaryJson(run);
  detail.Set("steps", std::move(arr));
  detail.Set("warnings", std::move(said));
  return detail;
}

std::vector<std::pair<std::string, MetricSummary>> Summarise(
    const std::vector<meta::MetricRecord>& ms) {
  std::vector<std::pair<std::string, MetricSummary>> out;
  std::map<std::string, size_t> at;
  for (const meta::MetricRecord& m : ms) {
    auto [it, fresh] = at.emplace(m.name, out.size());
    if (fresh) out.push_back({m.name, {m.value, m.value, m.value, 0}});
    MetricSummary& s = out[it->second].second;
    s.last = m.value;
    s.min = std::min(s.min, m.value);
    s.max = std::max(s.max, m.value);
    ++s.count;
  }
  return out;
}

Json MetricJson(const meta::MetricRecord& m) {
  Json j = Json::MakeObject();
  j.Set("name", m.name).Set("value", m.value);
  if (m.step >= 0) j.Set("step", m.step);
  return j.Set("timestamp", m.timestamp_ms);
}

Json MetricsJson(const std::vector<StepMetrics>& steps, bool history) {
  Json all = Json::MakeArray();
  for (const StepMetrics& sm : steps) {
    Json step = Json::MakeObject();
    step.Set("step", sm.step.name).Set("status", std::string(meta::Name(sm.step.status)));
    step.Set("reused_from",
             sm.step.status == meta::StepStatus::kReused ? sm.step.reused_run : std::string());
    Json params = Json::MakeObject(), tags = Json::MakeObject();
    for (const meta::ParamRecord& p : sm.params)
      (p.kind == "param" ? params : tags).Set(p.name, p.value);
    step.Set("params", params).Set("tags", tags);
    Json metrics = Json::MakeArray();
    if (history) {
      for (const meta::MetricRecord& m : sm.metrics) metrics.Push(MetricJson(m));
    } else {
      for (const auto& [name, sum] : Summarise(sm.metrics)) {
        Json j = Json::MakeObject();
        j.Set("name", name).Set("latest", sum.last).Set("min", sum.min).Set("max", sum.max);
        metrics.Push(j.Set("count", sum.count));
      }
    }
    all.Push(step.Set("metrics", metrics));
  }
  return all;
}

Json CompareJson(const char* key, const std::vector<std::string>& columns,
                 const std::vector<queries::CompareRow>& rows) {
  Json ids = Json::MakeArray();
  for (const std::string& c : columns) ids.Push(Json(c));
  Json all = Json::MakeArray();
  for (const queries::CompareRow& r : rows) {
    Json values = Json::MakeArray();
    for (const auto& v : r.values) values.Push(v ? Json(*v) : Json());
    Json j = Json::MakeObject();
    j.Set("step", r.step).Set("kind", r.kind).Set("name", r.name).Set("values", values);
    all.Push(j.Set("differs", r.differs()));
  }
  return Json::MakeObject().Set(key, ids).Set("rows", all);
}

Json ExplainJson(const std::string& run, const std::string& step,
                 const std::vector<std::string>& lines) {
  Json arr = Json::MakeArray();
  for (const std::string& l : lines) arr.Push(l);
  return Json::MakeObject().Set("run", run).Set("step", step).Set("lines", std::move(arr));
}

Json ProjectJson(const meta::ProjectRecord& p) {
  return Json::MakeObject()
      .Set("name", p.name)
      .Set("description", p.description)
      .Set("created_ns", p.created_ns)
      .Set("quota", Json::MakeObject()
                        .Set("cpus", p.max_cpus)
                        .Set("gpus", p.max_gpus)
                        .Set("memory_mb", p.max_memory_mb)
                        .Set("running", p.max_running))
      .Set("datastores", [&] {
        Json names = Json::MakeArray();
        for (const std::string& d : p.datastores) names.Push(d);
        return names;
      }());
}

// Never the hash: a token's record as its owners may see it.
Json TokenJson(const meta::TokenRecord& t) {
  return Json::MakeObject()
      .Set("id", t.id)
      .Set("name", t.name)
      .Set("project", t.project)
      .Set("role", t.role)
      .Set("created_ns", t.created_ns)
      .Set("expires_ns", t.expires_ns)
      .Set("revoked_ns", t.revoked_ns)
      .Set("created_by", t.created_by);
}

Json AuditJson(const meta::AuditRecord& a) {
  return Json::MakeObject()
      .Set("seq", a.seq)
      .Set("at_ns", a.at_ns)
      .Set("who", a.who)
      .Set("project", a.project)
      .Set("action", a.action)
      .Set("target", a.target)
      .Set("detail", a.detail);
}

namespace {

Json LineageNodeJson(const queries::LineageNode& n) {
  using queries::LineageNode;
  Json j = Json::MakeObject();
  switch (n.kind) {
    case LineageNode::Kind::kValue:
      j.Set("kind", "value").Set("input", n.port).Set("value", n.value);
      break;
    case LineageNode::Kind::kStep:
      j.Set("kind", "step").Set("run", n.step.run_id).Set("step", n.step.name);
      j.Set("status", std::string(meta::Name(n.step.status)));
      if (!n.port.empty()) j.Set("input", n.port);
      if (n.step.status == meta::StepStatus::kReused) j.Set("reused_run", n.step.reused_run);
      if (n.repeated) j.Set("repeated", true);
      break;
    case LineageNode::Kind::kObject: {
      j.Set("kind", "object").Set("digest", "sha256:" + n.digest);
      if (!n.port.empty()) j.Set("port", n.port);
      if (!n.value.empty()) j.Set("source", n.value);
      Json assets = Json::MakeArray();
      for (const meta::AssetRecord& a : n.assets) {
        Json aj = Json::MakeObject();
        assets.Push(aj.Set("kind", a.kind).Set("name", a.name).Set("version", a.version));
      }
      j.Set("assets", assets);
      if (n.repeated) j.Set("repeated", true);
      break;
    }
  }
  Json children = Json::MakeArray();
  for (const LineageNode& c : n.children) children.Push(LineageNodeJson(c));
  return j.Set("children", children);
}

// Leaves out steps of runs the caller does not see (and all below them); counts those it keeps.
Status Prune(meta::MetaStore& meta, const Caller& caller, queries::LineageNode& n,
             std::map<std::string, bool>& visible, int& steps) {
  // Assets: the workspace's, and the caller's project's own.
  std::erase_if(n.assets, [&](const meta::AssetRecord& a) {
    return !a.project.empty() && !caller.Sees(a.project);
  });
  std::vector<queries::LineageNode> kept;
  for (queries::LineageNode& c : n.children) {
    if (c.kind == queries::LineageNode::Kind::kStep) {
      auto it = visible.find(c.step.run_id);
      if (it == visible.end()) {
        Result<std::optional<meta::RunRecord>> run = meta.FindRun(c.step.run_id);
        if (!run.ok()) return run.status();
        it = visible.emplace(c.step.run_id, *run && caller.Sees((*run)->project)).first;
      }
      if (!it->second) continue;
      ++steps;
    }
    Status s = Prune(meta, caller, c, visible, steps);
    if (!s.ok()) return s;
    kept.push_back(std::move(c));
  }
  n.children = std::move(kept);
  return Status::Ok();
}

}  // namespace

Result<Json> LineageJson(meta::MetaStore& meta, const Caller& caller, const std::string& ref,
                         bool downstream) {
  // A run's output: the run must be one the caller sees.
  if (size_t slash = ref.find('/'); slash != std::string::npos && !caller.admin()) {
    Result<std::optional<meta::RunRecord>> run = meta.FindRun(ref.substr(0, slash));
    if (!run.ok()) return run.status();
    if (!*run || !caller.Sees((*run)->project)) {
      return Status::NotFound(fmt::format("no run `{}`", ref.substr(0, slash)));
    }
  }
  Result<queries::LineageRoot> root = queries::FindLineageRoot(meta, ref);
  if (!root.ok()) return root.status();
  Result<queries::LineageNode> tree = downstream ? queries::TraceDownstream(meta, root->digest)
                                                 : queries::TraceUpstream(meta, root->digest);
  if (!tree.ok()) return tree.status();
  std::map<std::string, bool> visible;
  int steps = 0;
  Status s = Prune(meta, caller, *tree, visible, steps);
  if (!s.ok()) return s;
  bool asset = !tree->assets.empty();
  if (!caller.admin() && steps == 0 && !asset) {
    return Status::NotFound(fmt::format("nothing your runs made or used is `{}`", ref));
  }
  return Json::MakeObject()
      .Set("ref", ref)
      .Set("described", root->described)
      .Set("direction", downstream ? "downstream" : "upstream")
      .Set("tree", LineageNodeJson(*tree));
}

namespace {

Json TextList(const std::vector<std::string>& items) {
  Json a = Json::MakeArray();
  for (const std::string& s : items) a.Push(s);
  return a;
}

}  // namespace

Json GcReportJson(const maint::GcReport& r, bool dry_run) {
  return Json::MakeObject()
      .Set("dry_run", dry_run)
      .Set("objects", static_cast<int64_t>(r.objects))
      .Set("removed", TextList(r.removed))
      .Set("folders", TextList(r.folders))
      .Set("batches", TextList(r.batches))
      .Set("store_bytes", static_cast<int64_t>(r.store_bytes))
      .Set("run_bytes", static_cast<int64_t>(r.run_bytes));
}

Json FsckReportJson(const maint::FsckReport& r) {
  return Json::MakeObject()
      .Set("clean", r.clean())
      .Set("blobs", static_cast<int64_t>(r.blobs))
      .Set("objects", static_cast<int64_t>(r.objects))
      .Set("bytes", static_cast<int64_t>(r.bytes))
      .Set("quarantined_blobs", TextList(r.bad_blobs))
      .Set("quarantined_objects", TextList(r.bad_objects))
      .Set("missing_assets", TextList(r.missing_assets))
      .Set("missing_run_objects", static_cast<int64_t>(r.missing_run_objects));
}

}  // namespace weft::app
