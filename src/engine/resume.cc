#include "engine/resume.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/json.h"
#include "engine/secrets.h"

namespace weft::engine {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kGraceMs = 5000;  // what steps get to exit after SIGTERM, as in a run

// The value of `key` in "k=v k=v" (the form weft records its process in); 0 when absent.
int64_t Field(const std::string& text, const std::string& key) {
  size_t at = text.find(key + "=");
  if (at == std::string::npos || (at > 0 && text[at - 1] != ' ')) return 0;
  return std::atoll(text.c_str() + at + key.size() + 1);
}

}  // namespace

std::string SubmissionJson(const std::string& file, const RunOptions& o, const Snapshots& snapshots) {
  auto strings = [](const auto& list) {
    Json a = Json::MakeArray();
    for (const std::string& s : list) a.Push(Json(s));
    return a;
  };
  Json tags = Json::MakeObject();
  for (const auto& [k, v] : o.tags) tags.Set(k, v);
  Json paths = Json::MakeObject();
  for (const auto& [path, ref] : snapshots.by_path) {
    Json p = Json::MakeObject();
    p.Set("digest", ToHex(ref.digest)).Set("type", std::string(store::TypeName(ref.type)));
    if (!ref.name.empty()) p.Set("name", ref.name);
    paths.Set(path, p);
  }
  Json j = Json::MakeObject();
  j.Set("file", file).Set("sets", strings(o.sets)).Set("force", o.force);
  j.Set("force_steps", strings(o.force_steps)).Set("only", o.only).Set("until", o.until);
  j.Set("experiment", o.experiment).Set("workdir", o.workdir).Set("jobs", o.jobs);
  j.Set("project", o.project).Set("user", o.user).Set("served", o.served);
  j.Set("tags", tags).Set("paths", paths);
  return j.Dump(-1);
}

Result<Submission> ParseSubmission(const std::string& text) {
  std::optional<Json> j = Json::Parse(text);
  auto str = [&](const char* key) {
    const Json* v = j ? j->Find(key) : nullptr;
    return v && v->String() ? *v->String() : std::string();
  };
  const Json* paths = j ? j->Find("paths") : nullptr;
  if (!j || str("file").empty() || !paths || !paths->Members()) {
    return Status::Invalid("the run has no record of what it was submitted with (it was made by an "
                           "older weft); run the pipeline again instead");
  }
  Submission s;
  s.file = str("file");
  RunOptions& o = s.options;
  o.only = str("only");
  o.until = str("until");
  o.experiment = str("experiment");
  o.workdir = str("workdir");
  if (!str("project").empty()) o.project = str("project");  // (older runs: local)
  if (!str("user").empty()) o.user = str("user");
  if (const Json* f = j->Find("force"); f && f->Bool()) o.force = *f->Bool();
  for (const char* key : {"served", "scrub_environment"}) {  // (the second: as older runs say it)
    if (const Json* f = j->Find(key); f && f->Bool()) o.served = o.served || *f->Bool();
  }
  if (const Json* n = j->Find("jobs"); n && n->Int()) o.jobs = *n->Int();
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    const Json* list = j->Find(key);
    if (list == nullptr || list->Items() == nullptr) return out;
    for (const Json& v : *list->Items()) {
      if (v.String()) out.push_back(*v.String());
    }
    return out;
  };
  for (const std::string& set : strings("sets")) {
    if (set.find(Redactor::kMask) != std::string::npos) {
      return Status::Invalid(fmt::format("the run was submitted with a secret in `--set {}`, which "
                                         "weft does not keep; run the pipeline again instead",
                                         set));
    }
    o.sets.push_back(set);
  }
  for (const std::string& step : strings("force_steps")) o.force_steps.insert(step);
  if (const Json* tags = j->Find("tags"); tags && tags->Members()) {
    for (const auto& [k, v] : *tags->Members()) {
      if (v.String()) o.tags.emplace_back(k, *v.String());
    }
  }
  for (const auto& [path, p] : *paths->Members()) {
    const Json* digest = p.Find("digest");
    const Json* type = p.Find("type");
    const Json* name = p.Find("name");
    std::optional<Digest> d = digest && digest->String() ? store::ParseHex(*digest->String()) : std::nullopt;
    std::optional<store::ObjectType> t =
        type && type->String() ? store::ParseObjectType(*type->String()) : std::nullopt;
    if (!d || !t) return Status::Invalid(fmt::format("the record of `{}` is damaged", path));
    store::ObjectRef ref;
    ref.digest = *d;
    ref.type = *t;
    if (name && name->String()) ref.name = *name->String();
    s.snapshots.by_path[path] = ref;
  }
  return s;
}

Result<std::string> MirrorSubmission(const ws::Workspace& ws, const store::Store& store,
                                     const std::string& run_id, Submission& submission) {
  std::string root = ws.run_dir(run_id) + "/submitted";
  Status s = RemoveTree(root);
  if (!s.ok()) return s;
  // Outermost first: a path inside a recorded folder is reached through that folder's link.
  std::vector<std::string> paths;
  for (const auto& [path, ref] : submission.snapshots.by_path) paths.push_back(path);
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> linked;
  for (const std::string& path : paths) {
    bool inside = std::any_of(linked.begin(), linked.end(), [&](const std::string& l) {
      return path.rfind(l + "/", 0) == 0;
    });
    if (inside || path.empty() || path[0] != '/') continue;
    const store::ObjectRef& ref = submission.snapshots.by_path.at(path);
    if (!store.Has(ref.digest)) {
      return Status::NotFound(fmt::format("`{}` as submitted (sha256:{}) is no longer in the store "
                                          "(removed by `weft gc`?); the run cannot be replayed",
                                          path, ToHex(ref.digest).substr(0, 12)));
    }
    std::string link = root + path;
    s = MakeDirs(DirName(link));
    if (!s.ok()) return s;
    std::error_code ec;
    fs::create_symlink(store.DeliveryPath(ref), link, ec);
    if (ec) return Status::Io(fmt::format("{}: cannot link: {}", link, ec.message()));
    linked.push_back(path);
  }
  submission.snapshots.replay_root = root;
  if (!submission.snapshots.by_path.count(submission.file)) {
    return Status::Invalid(fmt::format("the run's record does not hold its pipeline file {}", submission.file));
  }
  return root + submission.file;
}

std::string OwnerOf(const Os& os) {
  return fmt::format("pid={} start={} boot={}", os.Pid(), os.ProcessStartTime(os.Pid()), os.BootId());
}

bool SameBoot(const Os& os, const std::string& owner) {
  size_t at = owner.find(" boot=");
  return at == std::string::npos || owner.substr(at + 6, owner.find(' ', at + 6) - at - 6) == os.BootId();
}

int64_t OwnerPid(const std::string& owner) { return Field(owner, "pid"); }

bool OwnerAlive(const Os& os, const std::string& owner) {
  int64_t pid = Field(owner, "pid");
  int64_t start = Field(owner, "start");
  return SameBoot(os, owner) && pid > 0 && start > 0 &&
         os.ProcessStartTime(pid) == std::to_string(start);
}

Result<exec::Stopped> StopLeftovers(meta::MetaStore& meta, Targets& targets, const Os& os,
                                    const meta::RunRecord& run, meta::RunStatus status,
                                    const std::string& message, int exit_code) {
  Result<std::vector<meta::StepRecord>> steps = meta.Steps(run.id);
  if (!steps.ok()) return steps.status();
  Result<std::vector<std::pair<std::string, std::string>>> tracked = meta.RunTracking(run.id);
  if (!tracked.ok()) return tracked.status();
  // What each target tracks of the run, and the jobs that were running there: of one-job steps
  // and of the instances of parallel steps and sweeps.
  struct Left {
    std::string tracking;
    std::vector<std::string> single, instances;
  };
  std::map<std::string, Left> by_target;
  for (const auto& [target, tracking] : *tracked) by_target[target].tracking = tracking;
  for (const meta::StepRecord& s : *steps) {
    if (s.status != meta::StepStatus::kRunning) continue;
    if (s.jobs <= 1) {
      if (!s.job.empty()) by_target[s.target].single.push_back(s.job);
      continue;
    }
    Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(run.id, s.index);
    if (!jobs.ok()) return jobs.status();
    for (const meta::JobRecord& j : *jobs) {
      if (j.status == meta::StepStatus::kRunning && !j.job_id.empty()) {
        by_target[j.target].instances.push_back(j.job_id);
      }
    }
  }
  exec::Stopped stopped;
  for (auto& [name, what] : by_target) {
    // A target no longer configured: its executor's kind is the default's.
    Result<exec::Executor*> ex = targets.Get(targets.Has(name) ? name : targets.default_target());
    if (!ex.ok()) return ex.status();
    // Jobs that outlive weft are left to run for `weft resume` to re-attach to, when it can: a
    // one-job step's. Instances (of parallel steps and sweeps) are stopped: the step runs again,
    // reusing the mini-batches that finished.
    std::vector<std::string> ids = std::move(what.instances);
    if (status != meta::RunStatus::kInterrupted || !(*ex)->JobsOutliveWeft()) {
      ids.insert(ids.end(), what.single.begin(), what.single.end());
    } else if (ids.empty()) {
      continue;
    }
    exec::Stopped one = (*ex)->StopRun(what.tracking, ids, kGraceMs);
    stopped.processes += one.processes;
    stopped.all_gone &= one.all_gone;
  }
  Status st = meta.Begin();
  int64_t now_ns = os.NowNs();
  for (meta::StepRecord s : *steps) {
    if (!st.ok()) break;
    if (s.status == meta::StepStatus::kPending || s.status == meta::StepStatus::kWaiting) {
      s.status = meta::StepStatus::kSkipped;  // it never started, and now never will in this run
    } else if (s.status == meta::StepStatus::kRunning || s.status == meta::StepStatus::kRetrying) {
      s.status = status == meta::RunStatus::kCanceled ? meta::StepStatus::kCanceled
                                                      : meta::StepStatus::kInterrupted;
    } else {
      continue;
    }
    s.message = message;
    s.finished_ns = now_ns;
    st = meta.PutStep(s);
    if (st.ok()) st = meta.AddTransition(run.id, s.index, s.status, now_ns);
  }
  if (st.ok()) st = meta.FinishRun(run.id, status, exit_code, now_ns);
  if (st.ok()) st = meta.Commit();
  if (!st.ok()) {
    meta.Rollback();
    return st;
  }
  return stopped;
}

Result<std::vector<std::string>> SettleDeadRuns(meta::MetaStore& meta, Targets& targets,
                                                const Os& os) {
  meta::RunFilter running;
  running.status = meta::RunStatus::kRunning;
  Result<std::vector<meta::RunRecord>> runs = meta.Runs(-1, running);
  if (!runs.ok()) return runs.status();
  std::vector<std::string> settled;
  for (const meta::RunRecord& r : *runs) {
    if (OwnerAlive(os, r.owner)) continue;
    Result<exec::Stopped> s = StopLeftovers(
        meta, targets, os, r, meta::RunStatus::kInterrupted,
        "its weft process was gone; `weft resume` finishes the run", kExitStepFailed);
    if (!s.ok()) return s.status();
    settled.push_back(r.id);
  }
  return settled;
}

}  // namespace weft::engine
