#include "app/tracking.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "app/identity.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/os.h"
#include "base/sha256.h"
#include "engine/metrics.h"

namespace weft::app {
namespace {

constexpr size_t kMaxKey = 250;
constexpr size_t kMaxParam = 6000;
constexpr size_t kMaxTag = 8000;

struct StepJob {
  std::string run;
  int64_t index = 0;
  int64_t job = 0;
  int64_t attempt = 0;
};

std::optional<StepJob> ParseStepRunId(const std::string& id) {
  std::vector<std::string_view> parts;
  std::string_view rest = id;
  for (size_t dash; (dash = rest.find('-')) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, dash));
    rest.remove_prefix(dash + 1);
  }
  parts.push_back(rest);
  if (parts.size() != 4 || parts[0].size() < 2 || parts[0][0] != 'r') return std::nullopt;
  StepJob out{std::string(parts[0])};
  int64_t* fields[] = {&out.index, &out.job, &out.attempt};
  for (size_t k = 0; k < 3; ++k) {
    auto [end, ec] = std::from_chars(parts[k + 1].data(), parts[k + 1].data() + parts[k + 1].size(),
                                     *fields[k]);
    if (ec != std::errc() || end != parts[k + 1].data() + parts[k + 1].size() || *fields[k] < 0) {
      return std::nullopt;
    }
  }
  return out;
}

std::string MlflowStatus(meta::StepStatus s) {
  switch (s) {
    case meta::StepStatus::kRunning:
    case meta::StepStatus::kRetrying:
      return "RUNNING";
    case meta::StepStatus::kPending:
    case meta::StepStatus::kWaiting:
      return "SCHEDULED";
    case meta::StepStatus::kSucceeded:
    case meta::StepStatus::kReused:
      return "FINISHED";
    case meta::StepStatus::kFailed:
    case meta::StepStatus::kTimedOut:
      return "FAILED";
    default:
      return "KILLED";
  }
}

bool ValidStatus(const std::string& s) {
  return s == "RUNNING" || s == "SCHEDULED" || s == "FINISHED" || s == "FAILED" || s == "KILLED";
}

Status CheckKey(const std::string& what, const std::string& key) {
  if (key.empty() || key.size() > kMaxKey) {
    return Status::Invalid(fmt::format("{} name `{}` must have 1 to {} characters", what, key, kMaxKey));
  }
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("_-./ ").find(c) == std::string_view::npos) {
      return Status::Invalid(fmt::format(
          "invalid {} name `{}`: names may only contain alphanumerics, underscores (_), dashes (-), "
          "periods (.), spaces ( ), and slashes (/)",
          what, key));
    }
  }
  if (key.find("..") != std::string::npos || key.front() == '/') {
    return Status::Invalid(fmt::format("invalid {} name `{}`: it may not be a path that leaves its run", what, key));
  }
  return Status::Ok();
}

}  // namespace

Status CanLog(const TrackingScope& scope, const TrackedRun& run) {
  if (!scope.write) return Status::Denied("logging to a run needs a contributor's token");
  if (!run.live) {
    return Status::Invalid(fmt::format(
        "run `{}` is {}: {}", run.record.id, run.record.status,
        run.step ? "a step's run takes values only while its job runs" : "it was deleted"));
  }
  return Status::Ok();
}

namespace {

Status EnsureDefault(meta::MetaStore& meta, const std::string& project, int64_t now_ms) {
  Result<std::vector<meta::MlflowExperimentRecord>> all = meta.MlflowExperiments(project);
  if (!all.ok()) return all.status();
  if (std::any_of(all->begin(), all->end(), [](const auto& e) { return e.id == 0; })) {
    return Status::Ok();
  }
  return meta::InTransaction(meta, [&]() -> Status {
    Result<int64_t> id = meta.PutMlflowExperiment({project, 0, "Default", "active", now_ms, now_ms, "{}"});
    return id.status();
  });
}

// The experiment named `name` in the project, made for a weft run's experiment when missing.
Result<std::optional<meta::MlflowExperimentRecord>> ExperimentNamed(meta::MetaStore& meta,
                                                                    const std::string& project,
                                                                    const std::string& name,
                                                                    bool make, int64_t now_ms) {
  using Found = std::optional<meta::MlflowExperimentRecord>;
  if (Status s = EnsureDefault(meta, project, now_ms); !s.ok()) return s;
  Result<std::vector<meta::MlflowExperimentRecord>> all = meta.MlflowExperiments(project);
  if (!all.ok()) return all.status();
  for (const auto& e : *all) {
    if (e.name == name) return Found(e);
  }
  if (!make) return Found();
  meta::RunFilter f;
  f.project = project;
  f.experiment = name;
  Result<std::vector<meta::RunRecord>> runs = meta.Runs(1, f);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return Found();
  meta::MlflowExperimentRecord e{project, -1, name, "active", now_ms, now_ms, "{}"};
  Status s = meta::InTransaction(meta, [&]() -> Status {
    Result<int64_t> id = meta.PutMlflowExperiment(e);
    if (id.ok()) e.id = *id;
    return id.status();
  });
  if (!s.ok()) return s;
  return Found(e);
}

std::string OwnFolder(const ws::Workspace& ws, const std::string& id) {
  return ws.dir + "/mlflow/" + id;
}

Result<TrackedRun> StepRun(meta::MetaStore& meta, const ws::Workspace& ws,
                           const TrackingScope& scope, const std::string& id,
                           const StepJob& sid) {
  auto absent = [&] { return Status::NotFound(fmt::format("Run with id={} not found", id)); };
  Result<std::optional<meta::RunRecord>> run = meta.FindRun(sid.run);
  if (!run.ok()) return run.status();
  if (!*run || (*run)->project != scope.project || (*run)->id != sid.run) return absent();
  Result<std::optional<meta::StepRecord>> step = meta.StepAt(sid.run, sid.index);
  if (!step.ok()) return step.status();
  if (!*step) return absent();
  const meta::StepRecord& s = **step;
  meta::StepStatus status = s.status;
  int64_t attempt = s.attempt, started = s.started_ns, finished = s.finished_ns;
  if (s.jobs > 1) {
    Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(sid.run, sid.index);
    if (!jobs.ok()) return jobs.status();
    auto it = std::find_if(jobs->begin(), jobs->end(),
                           [&](const meta::JobRecord& j) { return j.job == sid.job; });
    if (it == jobs->end()) return absent();
    status = it->status;
    attempt = it->attempt;
    started = it->started_ns;
    finished = it->finished_ns;
  } else if (sid.job != 0) {
    return absent();
  }
  if (sid.attempt < 1 || sid.attempt > attempt || status == meta::StepStatus::kReused) return absent();
  bool current = sid.attempt == attempt;
  TrackedRun out;
  out.step = true;
  out.weft_run = sid.run;
  out.index = sid.index;
  out.job = sid.job;
  out.experiment_name = (*run)->experiment;
  out.current = current;
  out.live = current && status == meta::StepStatus::kRunning;
  out.record.id = id;
  out.record.project = scope.project;
  out.record.name = s.jobs > 1 ? fmt::format("{} (job {})", s.name, sid.job) : s.name;
  out.record.user = "weft";
  out.record.status = current ? MlflowStatus(status) : "FAILED";  // an earlier attempt failed
  out.record.start_ms = current ? started / 1'000'000 : 0;
  out.record.end_ms = current && meta::Ended(status) ? finished / 1'000'000 : 0;
  std::string dir = ws.attempt_dir(sid.run, sid.index, s.jobs, sid.job, sid.attempt);
  out.metrics_file = dir + "/metrics.jsonl";
  out.artifact_uri = "file://" + (s.jobs > 1 ? ws.step_dir(sid.run, sid.index) + "/artifacts"
                                             : dir + "/work") + "/outputs";
  return out;
}

}  // namespace

std::string StepRunId(const std::string& run, int64_t index, int64_t job, int64_t attempt) {
  return fmt::format("{}-{}-{}-{}", run, index, job, attempt);
}

std::vector<TrackedMetric> TrackedData::Latest() const {
  std::vector<TrackedMetric> out;
  std::map<std::string, size_t> at;
  for (const TrackedMetric& m : history) {
    auto [it, fresh] = at.emplace(m.key, out.size());
    if (fresh) {
      out.push_back(m);
      continue;
    }
    TrackedMetric& best = out[it->second];
    if (std::tie(m.step, m.timestamp_ms, m.value) >= std::tie(best.step, best.timestamp_ms, best.value)) {
      best = m;
    }
  }
  return out;
}

std::string StepTokens::For(const std::string& mlflow_run) const {
  return "weftml_" + mlflow_run + "_" + ToHex(HmacSha256(key_, mlflow_run));
}

std::optional<std::string> StepTokens::Check(std::string_view token) const {
  if (!Looks(token)) return std::nullopt;
  size_t sep = token.rfind('_');
  if (sep <= 7) return std::nullopt;
  std::string id(token.substr(7, sep - 7));
  if (!ConstantTimeEqual(token.substr(sep + 1), ToHex(HmacSha256(key_, id)))) return std::nullopt;
  return id;
}

engine::JobExtras TrackingEnvironment(const StepTokens& tokens, const std::string& url,
                                      const engine::JobStart& job) {
  std::string id = StepRunId(job.run_id, job.index, job.job, job.attempt);
  std::string token = tokens.For(id);
  engine::JobExtras out;
  out.env = {{"MLFLOW_TRACKING_URI", url},
             {"MLFLOW_RUN_ID", id},
             {"MLFLOW_EXPERIMENT_NAME", job.experiment},
             {"MLFLOW_TRACKING_TOKEN", token}};
  out.secret = token;
  return out;
}

Result<TrackingScope> StepScope(meta::MetaStore& meta, const StepTokens& tokens,
                                std::string_view token) {
  auto invalid = [] { return Status::Unauthenticated("the token is not valid"); };
  std::optional<std::string> id = tokens.Check(token);
  if (!id) return invalid();
  std::optional<StepJob> sid = ParseStepRunId(*id);
  if (!sid) return invalid();
  Result<std::optional<meta::RunRecord>> run = meta.FindRun(sid->run);
  if (!run.ok()) return run.status();
  if (!*run) return invalid();
  TrackingScope scope{(*run)->project, *id, true, *id};
  // Valid while the job's attempt runs, and not after (its folders are not needed to tell).
  ws::Workspace no_folders;
  Result<TrackedRun> r = StepRun(meta, no_folders, scope, *id, *sid);
  if (!r.ok() || !r->live) return Status::Unauthenticated("the token is not valid: its step's job has ended");
  return scope;
}

Result<int64_t> CreateExperiment(meta::MetaStore& meta, const TrackingScope& scope,
                                 const std::string& name, const Json& tags, int64_t now_ms) {
  if (!scope.write || !scope.only_run.empty()) {
    return Status::Denied("creating an experiment needs a contributor's token");
  }
  if (name.empty()) return Status::Invalid("experiment `name` is required");
  if (name.size() > 500) return Status::Invalid("an experiment's name has at most 500 characters");
  Result<std::optional<meta::MlflowExperimentRecord>> found =
      ExperimentNamed(meta, scope.project, name, false, now_ms);
  if (!found.ok()) return found.status();
  if (*found) {
    return Status(Code::kBusy, fmt::format("Experiment '{}' already exists.", name));
  }
  int64_t id = -1;
  Status s = meta::InTransaction(meta, [&]() -> Status {
    Result<int64_t> made = meta.PutMlflowExperiment(
        {scope.project, -1, name, "active", now_ms, now_ms, tags.IsNull() ? "{}" : tags.Dump(-1)});
    if (made.ok()) id = *made;
    return made.status();
  });
  if (!s.ok()) return s;
  return id;
}

Result<meta::MlflowExperimentRecord> GetExperiment(meta::MetaStore& meta,
                                                   const TrackingScope& scope, int64_t id,
                                                   int64_t now_ms) {
  Result<std::vector<meta::MlflowExperimentRecord>> all = Experiments(meta, scope, now_ms);
  if (!all.ok()) return all.status();
  for (const auto& e : *all) {
    if (e.id == id) return e;
  }
  return Status::NotFound(fmt::format("No Experiment with id={} exists", id));
}

Result<meta::MlflowExperimentRecord> GetExperimentByName(meta::MetaStore& meta,
                                                         const TrackingScope& scope,
                                                         const std::string& name, int64_t now_ms) {
  Result<std::optional<meta::MlflowExperimentRecord>> found =
      ExperimentNamed(meta, scope.project, name, true, now_ms);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("Could not find experiment with name '{}'", name));
  return **found;
}

Result<std::vector<meta::MlflowExperimentRecord>> Experiments(meta::MetaStore& meta,
                                                              const TrackingScope& scope,
                                                              int64_t now_ms) {
  if (Status s = EnsureDefault(meta, scope.project, now_ms); !s.ok()) return s;
  return meta.MlflowExperiments(scope.project);
}

Result<TrackedRun> CreateTrackedRun(meta::MetaStore& meta, const ws::Workspace& ws,
                                    const TrackingScope& scope, int64_t experiment,
                                    const std::string& name, int64_t start_ms,
                                    const std::vector<std::pair<std::string, std::string>>& tags,
                                    int64_t now_ms) {
  if (!scope.write) return Status::Denied("creating a run needs a contributor's token");
  if (!scope.only_run.empty()) {
    return Status::Denied("a step's token logs to the step's own run (MLFLOW_RUN_ID) only");
  }
  Result<meta::MlflowExperimentRecord> e = GetExperiment(meta, scope, experiment, now_ms);
  if (!e.ok()) return e.status();
  if (e->lifecycle != "active") {
    return Status::Invalid(fmt::format("experiment {} is deleted: no run can be made in it", experiment));
  }
  for (const auto& [k, v] : tags) {
    if (Status s = CheckKey("tag", k); !s.ok()) return s;
  }
  meta::MlflowRunRecord r;
  r.id = RandomHex(16);
  r.project = scope.project;
  r.experiment = experiment;
  r.name = name;
  for (const auto& [k, v] : tags) {
    if (k == "mlflow.runName" && r.name.empty()) r.name = v;
    if (k == "mlflow.user") r.user = v;
  }
  if (r.name.empty()) r.name = "run-" + r.id.substr(0, 8);
  r.start_ms = start_ms > 0 ? start_ms : now_ms;
  r.created_by = scope.who;
  std::string folder = OwnFolder(ws, r.id);
  if (Status s = MakeDirs(folder + "/artifacts"); !s.ok()) return s;
  std::string lines;
  for (const auto& [k, v] : tags) lines += engine::ParamLine("tag", k, v);
  if (!lines.empty()) {
    if (Status s = engine::AppendLines(folder + "/metrics.jsonl", lines); !s.ok()) return s;
  }
  Status s = meta::InTransaction(meta, [&] { return meta.PutMlflowRun(r); });
  if (!s.ok()) return s;
  return FindTrackedRun(meta, ws, scope, r.id);
}

Result<TrackedRun> FindTrackedRun(meta::MetaStore& meta, const ws::Workspace& ws,
                                  const TrackingScope& scope, const std::string& id) {
  auto absent = [&] { return Status::NotFound(fmt::format("Run with id={} not found", id)); };
  if (!scope.only_run.empty() && id != scope.only_run) return absent();
  TrackedRun out;
  if (std::optional<StepJob> sid = ParseStepRunId(id)) {
    Result<TrackedRun> r = StepRun(meta, ws, scope, id, *sid);
    if (!r.ok()) return r.status();
    out = std::move(*r);
    Result<std::optional<meta::MlflowExperimentRecord>> e =
        ExperimentNamed(meta, scope.project, out.experiment_name, true, NowNs() / 1'000'000);
    if (!e.ok()) return e.status();
    out.record.experiment = *e ? (*e)->id : 0;
    return out;
  }
  Result<std::optional<meta::MlflowRunRecord>> r = meta.FindMlflowRun(id);
  if (!r.ok()) return r.status();
  if (!*r || (*r)->project != scope.project) return absent();
  out.record = **r;
  out.metrics_file = OwnFolder(ws, id) + "/metrics.jsonl";
  out.artifact_uri = fmt::format("mlflow-artifacts:/{}/{}/artifacts", out.record.experiment, id);
  out.live = out.record.lifecycle == "active";
  return out;
}

Status UpdateTrackedRun(meta::MetaStore& meta, const TrackingScope& scope, TrackedRun& run,
                        const std::string& status, std::optional<int64_t> end_ms,
                        const std::string& name) {
  if (Status s = CanLog(scope, run); !s.ok()) return s;
  if (!status.empty() && !ValidStatus(status)) {
    return Status::Invalid(fmt::format(
        "`{}` is not a run status: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", status));
  }
  if (run.step) {  // its status is its job's; a new name is kept as MLflow keeps it, in a tag
    if (name.empty()) return Status::Ok();
    run.record.name = name;
    return engine::AppendLines(run.metrics_file, engine::ParamLine("tag", "mlflow.runName", name));
  }
  if (!status.empty()) run.record.status = status;
  if (end_ms) run.record.end_ms = *end_ms;
  if (!name.empty()) run.record.name = name;
  return meta::InTransaction(meta, [&] { return meta.PutMlflowRun(run.record); });
}

Status LogToRun(const TrackingScope& scope, const TrackedRun& run,
                const std::vector<TrackedMetric>& metrics,
                const std::vector<std::pair<std::string, std::string>>& params,
                const std::vector<std::pair<std::string, std::string>>& tags) {
  if (Status s = CanLog(scope, run); !s.ok()) return s;
  std::string lines;
  for (const TrackedMetric& m : metrics) {
    if (Status s = CheckKey("metric", m.key); !s.ok()) return s;
    if (!std::isfinite(m.value)) {
      return Status::Invalid(fmt::format("metric `{}`: weft stores finite values only", m.key));
    }
    lines += engine::MetricLine(m.key, m.value, m.step, m.timestamp_ms);
  }
  if (!params.empty()) {
    Result<engine::MetricsFile> had = engine::ReadMetrics(run.metrics_file, 0);
    if (!had.ok()) return had.status();
    std::map<std::string, std::string> logged;
    for (const meta::ParamRecord& p : had->params) {
      if (p.kind == "param") logged.emplace(p.name, p.value);
    }
    for (const auto& [k, v] : params) {
      if (Status s = CheckKey("param", k); !s.ok()) return s;
      if (v.size() > kMaxParam) {
        return Status::Invalid(fmt::format("param `{}`: a value has at most {} characters", k, kMaxParam));
      }
      auto [it, fresh] = logged.emplace(k, v);
      if (!fresh && it->second != v) {
        return Status::Invalid(fmt::format(
            "Changing param values is not allowed. Param with key='{}' was already logged with "
            "value='{}' for run ID='{}'. Attempted logging new value '{}'.",
            k, it->second, run.record.id, v));
      }
      if (fresh) lines += engine::ParamLine("param", k, v);
    }
  }
  for (const auto& [k, v] : tags) {
    if (Status s = CheckKey("tag", k); !s.ok()) return s;
    if (v.size() > kMaxTag) {
      return Status::Invalid(fmt::format("tag `{}`: a value has at most {} characters", k, kMaxTag));
    }
    lines += engine::ParamLine("tag", k, v);
  }
  if (lines.empty()) return Status::Ok();
  return engine::AppendLines(run.metrics_file, lines);
}

Result<TrackedData> DataOf(meta::MetaStore& meta, const TrackedRun& run) {
  TrackedData out;
  std::vector<meta::MetricRecord> metrics;
  std::vector<meta::ParamRecord> params;
  // An ended step's values are in the database (masked); a live one's and older attempts' in
  // their files.
  if (run.step && run.current && !run.live) {
    Result<std::vector<meta::MetricRecord>> m = meta.Metrics(run.weft_run, run.index, run.job);
    if (!m.ok()) return m.status();
    Result<std::vector<meta::ParamRecord>> p = meta.Params(run.weft_run, run.index, run.job);
    if (!p.ok()) return p.status();
    metrics = std::move(*m);
    params = std::move(*p);
  } else {
    Result<engine::MetricsFile> f = engine::ReadMetrics(run.metrics_file, run.record.start_ms);
    if (!f.ok()) return f.status();
    metrics = std::move(f->metrics);
    params = std::move(f->params);
  }
  for (const meta::MetricRecord& m : metrics) {
    out.history.push_back({m.name, m.value, m.timestamp_ms, std::max<int64_t>(m.step, 0)});
  }
  bool named = false;
  for (meta::ParamRecord& p : params) {
    auto& list = p.kind == "param" ? out.params : out.tags;
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& kv) { return kv.first == p.name; });
    if (it != list.end()) {
      it->second = std::move(p.value);  // a name's last value wins
    } else {
      list.emplace_back(std::move(p.name), std::move(p.value));
    }
  }
  for (const auto& [k, v] : out.tags) named = named || k == "mlflow.runName";
  if (!named) out.tags.emplace_back("mlflow.runName", run.record.name);
  if (run.step) {
    out.tags.emplace_back("weft.run", run.weft_run);
    out.tags.emplace_back("weft.step", run.record.name);
  }
  return out;
}

}  // namespace weft::app
