#include "engine/engine.h"

#include <poll.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "base/interrupt.h"
#include "engine/resume.h"
#include "engine/run.h"
#include "engine/scheduler.h"

namespace weft::engine {
namespace {

// What a run needs kept in the store besides its steps' inputs and outputs: its code snapshots
// and every path it was submitted with (`weft resume` replays them).
std::vector<std::string> KeptObjects(const std::vector<StepPlan>& plans, const Snapshots& snapshots) {
  std::set<std::string> digests;
  for (const StepPlan& p : plans) {
    if (p.code) digests.insert(ToHex(p.code->digest));
  }
  for (const auto& [path, ref] : snapshots.by_path) digests.insert(ToHex(ref.digest));
  return {digests.begin(), digests.end()};
}

// Plans every step of a request (snapshots, environments), inside one transaction. Every path
// it read is recorded in `snapshots`; with `keep_files`, the pipeline's own files too.
Result<std::vector<StepPlan>> PlanRequest(const EngineParts& parts, const RunRequest& request,
                                          bool keep_files, Snapshots& snapshots,
                                          const store::ProgressFn& progress,
                                          std::vector<std::string>* warnings) {
  env::Environments envs(parts.ws);
  Status s = parts.meta.Begin();
  if (!s.ok()) return s;
  Result<std::vector<StepPlan>> plans = PlanSteps(*request.graph, parts.ws, parts.store, parts.meta,
                                                  envs, snapshots, progress, warnings);
  // The pipeline's own files too, so that `weft resume` can replay it as it was submitted.
  if (plans.ok() && keep_files) {
    for (const auto& file : request.pipeline->files) {
      std::string path = std::filesystem::absolute(*file).lexically_normal().string();
      if (snapshots.by_path.count(path)) continue;
      Result<store::ObjectRef> ref = parts.store.Snapshot(path, &parts.meta, nullptr);
      if (ref.ok()) snapshots.by_path[path] = *ref;  // unreadable now: resume reports it
    }
  }
  s = parts.meta.Commit();
  if (!plans.ok() && plans.status().code() == Code::kCanceled) {
    return Status(Code::kCanceled, plans.status().message() + "; nothing ran and no run was recorded");
  }
  if (!plans.ok()) return plans.status();
  if (!s.ok()) return s;
  if (Interrupted()) {
    return Status(Code::kCanceled, "interrupted before the run started; nothing ran and no run was recorded");
  }
  if (request.expand) request.expand(*plans);
  return plans;
}

}  // namespace

Engine::Engine(EngineParts parts)
    : parts_(parts), owner_(OwnerOf(parts.os)), scheduler_(std::make_unique<Scheduler>()) {}

Engine::~Engine() = default;

void Engine::Subscribe(Observer* o) { observers_.push_back(o); }

void Engine::Unsubscribe(Observer* o) { std::erase(observers_, o); }

void Engine::Emit(std::function<void(Observer&)> f) {
  if (in_pass_) {
    events_.push_back(std::move(f));
    return;
  }
  for (Observer* o : observers_) f(*o);
}

store::ProgressFn Engine::SnapshotReporter() {
  return [this](const store::SnapshotProgress& p) {
    for (Observer* o : observers_) o->OnSnapshot(p);
  };
}

void Engine::Flush() {
  std::vector<std::function<void(Observer&)>> events;
  events.swap(events_);
  for (const auto& f : events) {
    for (Observer* o : observers_) f(*o);
  }
}

Result<exec::Executor*> Engine::UseTarget(const std::string& target) {
  Result<exec::Executor*> ex = parts_.targets.Get(target);
  if (!ex.ok()) return ex;
  if (std::find(targets_used_.begin(), targets_used_.end(), target) == targets_used_.end()) {
    targets_used_.push_back(target);
    scheduler_->AddTarget(target, (*ex)->capacity());
  }
  return ex;
}

bool Engine::Hosts(const std::string& run_id) const { return runs_.count(run_id) > 0; }

std::map<std::string, std::string> Engine::Waiting(const std::string& run_id) const {
  std::map<std::string, std::string> out;
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return out;
  for (const auto& [step, why] : scheduler_->Waiting(it->second.get())) {
    out[it->second->StepName(step)] = why;
  }
  return out;
}

bool Engine::idle() const { return runs_.empty(); }

std::optional<RunResult> Engine::Outcome(const std::string& run_id) const {
  auto it = finished_.find(run_id);
  if (it == finished_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> Engine::Submit(const RunRequest& request) {
  std::vector<std::string> warnings;
  const RunOptions& options = request.options;
  Snapshots snapshots = options.replay != nullptr ? *options.replay : Snapshots{};
  Result<std::vector<StepPlan>> plans =
      PlanRequest(parts_, request, options.replay == nullptr, snapshots, SnapshotReporter(), &warnings);
  if (!plans.ok()) return plans.status();
  std::string file = std::filesystem::absolute(request.pipeline->job.file).lexically_normal().string();
  if (options.replay != nullptr && file.rfind(options.replay->replay_root + "/", 0) == 0) {
    file = file.substr(options.replay->replay_root.size());
  }
  std::vector<std::string> kept = KeptObjects(*plans, snapshots);
  auto run = std::make_unique<Run>(*this, request, std::move(*plans),
                                   SubmissionJson(file, options, snapshots), std::move(kept));
  scheduler_->AddRun(run.get(), options.project, options.user);
  in_pass_ = true;  // what Create does is told once it is committed
  Status s = parts_.meta.Begin();
  if (s.ok()) {
    s = run->Create();
    // (after the run exists, so that those who follow it see them, and kept with it)
    if (s.ok()) {
      for (const std::string& w : request.load_warnings) {
        if (s.ok()) s = parts_.meta.PutWarning(run->id(), w);
      }
      for (const std::string& w : warnings) run->Warn(w);
    }
    if (s.ok()) {
      s = parts_.meta.Commit();
    } else {
      parts_.meta.Rollback();
    }
  }
  in_pass_ = false;
  if (!s.ok()) {
    scheduler_->RemoveRun(run.get());
    events_.clear();
    for (const std::string& w : warnings) Emit([w](Observer& o) { o.OnWarning("", w); });
    return s;
  }
  Flush();
  std::string id = run->id();
  runs_[id] = std::move(run);
  return id;
}

Status Engine::DryRun(const RunRequest& request) {
  std::vector<std::string> warnings;
  Snapshots snapshots = request.options.replay != nullptr ? *request.options.replay : Snapshots{};
  Result<std::vector<StepPlan>> plans =
      PlanRequest(parts_, request, false, snapshots, SnapshotReporter(), &warnings);
  if (!plans.ok()) return plans.status();
  for (const std::string& w : warnings) Emit([w](Observer& o) { o.OnWarning("", w); });
  Run run(*this, request, std::move(*plans), "", {});
  return run.DryRun();
}

void Engine::Cancel(const std::string& run_id, bool now) {
  Stop(run_id, now, false);
}

void Engine::Stop(const std::string& run_id, bool now, bool interrupted) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  bool nested = in_pass_;
  in_pass_ = true;
  Status s = nested ? Status::Ok() : parts_.meta.Begin();
  it->second->Cancel(now, interrupted);
  if (!nested) {
    if (s.ok()) s = parts_.meta.Commit();
    in_pass_ = false;
    Flush();
  }
}

void Engine::SetQuota(const std::string& project, const Scheduler::Quota& quota) {
  scheduler_->SetQuota(project, quota);
}

void Engine::CancelAll(bool now) {
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  for (const std::string& id : ids) Cancel(id, now);
}

void Engine::InterruptAll() {
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  for (const std::string& id : ids) Stop(id, false, true);
}

Status Engine::Pass(int64_t wait_ms) {
  wants_logs_ = std::any_of(observers_.begin(), observers_.end(),
                            [](const Observer* o) { return o->WantsLogs(); });
  // A run one of ours waits for may have died: stop what it left before taking its steps over.
  bool claims = std::any_of(runs_.begin(), runs_.end(),
                            [](const auto& r) { return r.second->waits_for_claims(); });
  if (claims) {
    Result<std::vector<std::string>> settled = SettleDeadRuns(parts_.meta, parts_.targets, parts_.os);
    if (!settled.ok()) Emit([m = settled.status().message()](Observer& o) { o.OnWarning("", m); });
  }
  std::optional<store::SyncBatch> syncs;  // the store's folder fsyncs of this pass, until its commit
  syncs.emplace();
  Status s = parts_.meta.Begin();
  if (!s.ok()) return s;
  in_pass_ = true;
  for (auto& [id, run] : runs_) run->RecordStarted();
  // Ctrl-C, SIGTERM (weft cancel), SIGHUP (the terminal closed), SIGQUIT: stop every run, with
  // the grace period; a second one: kill what runs now.
  if (int n = InterruptCount(); n > handled_interrupts_) {
    if (handled_interrupts_ == 0 && !runs_.empty()) {
      Emit([](Observer& o) {
        o.OnWarning("", "interrupted: stopping every running step (again to stop them at once)");
      });
    }
    handled_interrupts_ = n;
    for (auto& [id, run] : runs_) run->Cancel(n >= 2, interrupts_resume_);
  }
  std::vector<std::pair<std::string, exec::JobEnd>> ends;
  ends.swap(ends_);
  for (const auto& [target, end] : ends) {
    auto it = handles_.find({target, end.handle});
    if (it == handles_.end()) continue;
    JobRef ref = it->second;
    handles_.erase(it);
    ref.run->Ended(ref.step, ref.job, end);
  }
  for (auto& [id, run] : runs_) run->Chores();
  int64_t now = parts_.os.NowNs();
  if (!runs_.empty() && now >= next_heartbeat_ns_) {
    // Every 10 s, so that runs on another machine (another boot) can tell ours still hold their
    // claims.
    parts_.meta.Heartbeat(owner_, now).ok();
    next_heartbeat_ns_ = now + 10'000'000'000;
  }
  for (const Slot& slot : scheduler_->Admit()) {
    const_cast<Run*>(static_cast<const Run*>(slot.run))->Admitted(slot.step, slot.job);
  }
  // What the pass published in the store is durable before the records that name it.
  s = syncs->Flush();
  syncs.reset();
  if (!s.ok()) parts_.meta.Rollback();
  if (s.ok()) s = parts_.meta.Commit();
  in_pass_ = false;
  if (!s.ok()) {
    events_.clear();
    return s;
  }
  if (wants_logs_) {
    for (auto& [id, run] : runs_) run->PollLogs();
  }
  Flush();
  for (auto& [id, run] : runs_) run->StartAdmitted();
  // Batch jobs outlive weft: their ids are durable before anything waits.
  if (std::any_of(runs_.begin(), runs_.end(),
                  [](const auto& r) { return r.second->started_outliving(); })) {
    s = parts_.meta.Begin();
    if (!s.ok()) return s;
    for (auto& [id, run] : runs_) {
      if (run->started_outliving()) run->RecordStarted();
    }
    s = parts_.meta.Commit();
    if (!s.ok()) {
      parts_.meta.Rollback();
      return s;
    }
  }
  for (auto& [id, run] : runs_) {
    if (!run->error().ok()) return run->error();
  }
  s = FinishEnded();
  if (!s.ok()) return s;
  bool restart = false;
  int64_t wait = wait_ms;
  for (auto& [id, run] : runs_) {
    Emit([p = run->progress()](Observer& o) { o.OnProgress(p); });
    restart = restart || run->has_start_failures();
    if (int64_t next = run->NextWakeMs(); next >= 0) wait = std::min(wait, next);
    if (run->waits_for_claims()) wait = std::min<int64_t>(wait, 200);
  }
  if (runs_.empty()) return Status::Ok();
  Collect(restart ? 0 : wait);
  return Status::Ok();
}

// Runs whose every step has ended are recorded as such and leave the engine.
Status Engine::FinishEnded() {
  for (auto it = runs_.begin(); it != runs_.end();) {
    Run& run = *it->second;
    if (!run.ended()) {
      ++it;
      continue;
    }
    RunResult result;
    Status s = parts_.meta.Begin();
    if (s.ok()) s = run.Finish(&result);
    if (s.ok()) {
      s = parts_.meta.Commit();
    } else {
      parts_.meta.Rollback();
    }
    if (!s.ok()) return s;
    finished_[result.run_id] = result;
    scheduler_->RemoveRun(&run);
    it = runs_.erase(it);
    Emit([result](Observer& o) { o.OnRunFinished(result); });
  }
  return Status::Ok();
}

void Engine::Collect(int64_t wait_ms) {
  std::vector<exec::Executor*> busy;
  for (const std::string& t : targets_used_) {
    if (parts_.targets.executor(t).running() > 0) busy.push_back(&parts_.targets.executor(t));
  }
  auto take = [&](exec::Executor* ex, int64_t ms) {
    for (const exec::JobEnd& e : ex->Wait(ms)) {
      for (const std::string& t : targets_used_) {
        if (&parts_.targets.executor(t) == ex) ends_.emplace_back(t, e);
      }
    }
  };
  if (busy.size() == 1 || (busy.empty() && !targets_used_.empty())) {
    take(busy.empty() ? &parts_.targets.executor(targets_used_.front()) : busy.front(), wait_ms);
    return;
  }
  if (busy.empty()) {  // nothing to wait on but time and interrupts
    pollfd pfd{InterruptFd(), POLLIN, 0};
    ::poll(&pfd, InterruptFd() >= 0 ? 1 : 0, static_cast<int>(std::max<int64_t>(0, wait_ms)));
    return;
  }
  // Several targets busy: look at each, then wait a little on one, until something ends.
  int64_t deadline = parts_.os.NowNs() + wait_ms * 1'000'000;
  int interrupts = InterruptCount();
  while (true) {
    for (exec::Executor* ex : busy) take(ex, 0);
    int64_t left = (deadline - parts_.os.NowNs()) / 1'000'000;
    if (!ends_.empty() || left <= 0 || InterruptCount() != interrupts) return;
    take(busy.front(), std::min<int64_t>(left, 20));
    if (!ends_.empty()) return;
  }
}

Status Engine::RunToCompletion() {
  while (!idle()) {
    Status s = Pass(1000);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace weft::engine
