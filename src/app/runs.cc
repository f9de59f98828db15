#include "app/runs.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::app {

Result<engine::RunResult> RunPipeline(Session& session, const LoadedGraph& graph,
                                      const engine::RunOptions& options,
                                      const std::vector<engine::Observer*>& observers) {
  if (options.jobs > 0) session.SetLocalCpus(options.jobs);
  engine::Engine engine({session.workspace(), session.meta(), session.store(), session.targets(),
                         session.os()});
  for (engine::Observer* o : observers) engine.Subscribe(o);
  Result<std::string> id = engine.Submit(graph.Request(options));
  if (!id.ok()) return id.status();
  Status s = engine.RunToCompletion();
  if (!s.ok()) return s;
  return *engine.Outcome(*id);
}

Status DryRun(Session& session, const LoadedGraph& graph, const engine::RunOptions& options,
              const std::vector<engine::Observer*>& observers) {
  engine::Engine engine({session.workspace(), session.meta(), session.store(), session.targets(),
                         session.os()});
  for (engine::Observer* o : observers) engine.Subscribe(o);
  return engine.DryRun(graph.Request(options));
}

Result<engine::RunOptions> SubmitOptions(const LoadedGraph& graph, engine::RunOptions options,
                                         const std::vector<std::string>& tags) {
  const spec::PipelineJob& job = graph.pipeline->job;
  options.tags = job.tags;  // then the given ones, which win
  for (const std::string& t : tags) {
    size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Invalid(fmt::format("--tag {}: expected KEY=VALUE", t));
    }
    std::string key = t.substr(0, eq);
    std::erase_if(options.tags, [&](const auto& kv) { return kv.first == key; });
    options.tags.emplace_back(key, t.substr(eq + 1));
  }
  if (options.experiment.empty()) {
    options.experiment = !job.experiment_name.empty() ? job.experiment_name
                         : !options.default_experiment.empty()
                             ? options.default_experiment
                             : std::filesystem::path(options.workdir).filename().string();
  }
  return options;
}

Result<std::unique_ptr<Resumption>> PrepareResume(Session& session, const std::string& ref) {
  auto r = std::make_unique<Resumption>();
  Result<meta::RunRecord> run = session.FindRun(ref);
  if (!run.ok()) return run.status();
  r->run = *run;
  if (run->status == meta::RunStatus::kSucceeded) {
    return Status::Invalid(fmt::format("run {} succeeded; there is nothing to resume", run->id));
  }
  if (run->status == meta::RunStatus::kRunning) {  // a dead one was settled when the workspace was opened
    return Status::Busy(fmt::format("run {} is still running ({}); `weft cancel {}` stops it",
                                    run->id, run->owner, run->id));
  }
  Result<engine::Submission> sub = engine::ParseSubmission(run->submission);
  if (!sub.ok()) return sub.status();
  r->submission = std::move(*sub);
  // (its project's assets, as when it was submitted)
  assets::WorkspaceRegistry registry(session.workspace(), session.meta(), session.store(),
                                     run->project);
  Result<std::unique_ptr<LoadedGraph>> graph =
      LoadSubmitted(session.workspace(), session.store(), registry, *run, r->submission, session.cwd());
  if (!graph.ok()) return graph.status();
  r->graph = std::move(*graph);
  r->options = r->submission.options;
  r->options.resumes = run->id;
  if (!r->submission.snapshots.replay_root.empty()) r->options.replay = &r->submission.snapshots;
  return r;
}

Result<std::unique_ptr<LoadedGraph>> LoadSubmitted(const ws::Workspace& ws, const store::Store& store,
                                                   const spec::Registry& registry,
                                                   const meta::RunRecord& run,
                                                   engine::Submission& submission,
                                                   const std::string& cwd) {
  // A pipeline submitted to a server was unpacked into the workspace's uploads, which are never
  // changed: it is read from there again, confined to them as it was when submitted.
  std::string uploads = ws.dir + "/uploads";
  const std::string& submitted = submission.file;
  if (submitted.rfind(uploads + "/", 0) == 0 && StatPath(submitted) == PathKind::kFile) {
    // (`uploads/<sha256>/...`, or `uploads/<project>/<id>/...` when sent by manifest)
    std::string rel = submitted.substr(uploads.size() + 1);
    std::string first = rel.substr(0, rel.find('/'));
    std::string root = uploads + "/" + first;
    if (first.size() != 64 && rel.find('/', first.size() + 1) != std::string::npos) {
      root += "/" + rel.substr(first.size() + 1, rel.find('/', first.size() + 1) - first.size() - 1);
    }
    return LoadGraph({submitted, submission.options.sets, submission.options.workdir, {root}},
                     registry);
  }
  Result<std::string> file = engine::MirrorSubmission(ws, store, run.id, submission);
  if (!file.ok()) return file.status();
  // Relative `--set` paths were relative to the folder it was submitted from: they are read from
  // that folder's mirror.
  const std::string& workdir = submission.options.workdir;
  return LoadGraph({*file, submission.options.sets,
                    workdir.empty() ? cwd : submission.snapshots.replay_root + workdir, {}},
                   registry);
}

std::optional<meta::RunRecord> InterruptedEarlier(Session& session, const std::string& file,
                                                  const std::string& workdir) {
  Result<std::vector<meta::RunRecord>> runs = session.meta().Runs(200);
  if (!runs.ok()) return std::nullopt;
  for (const meta::RunRecord& r : *runs) {
    if (r.pipeline_file != file || r.workdir != workdir) continue;
    if (r.status == meta::RunStatus::kSucceeded) return std::nullopt;
    if (r.status == meta::RunStatus::kInterrupted) return r;
  }
  return std::nullopt;
}

Result<Canceled> CancelRun(Session& session, const std::string& ref, int64_t timeout_ms) {
  Result<meta::RunRecord> run = session.FindRun(ref);
  if (!run.ok()) return run.status();
  if (run->status != meta::RunStatus::kRunning) {
    return Status::Invalid(fmt::format("run {} is not running (it {})", run->id, run->status));
  }
  Canceled out;
  if (run->project != "local" && engine::OwnerAlive(session.os(), run->owner)) {
    // Its weft is a server hosting other runs too: a signal would stop them all.
    return Status::Invalid(fmt::format("run {} was submitted to weft serve (project {}); cancel it "
                                       "through the server: `weft cancel {} --server URL`, or POST "
                                       "/api/v1/runs/{}/cancel",
                                       run->id, run->project, run->id, run->id));
  }
  if (engine::OwnerAlive(session.os(), run->owner)) {
    // The owner stops its steps (it records a step canceled only once every process of it has
    // gone), records the run canceled and exits with 130.
    out.owner_pid = engine::OwnerPid(run->owner);
    ::kill(static_cast<pid_t>(out.owner_pid), SIGTERM);
    for (int64_t waited = 0; waited < timeout_ms; waited += 100) {
      Result<meta::RunRecord> now = session.FindRun(run->id);
      if (now.ok() && now->status != meta::RunStatus::kRunning) {
        out.run = *now;
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Io(fmt::format("run {}: its process (pid {}) did not stop within {} s", run->id,
                                  out.owner_pid, timeout_ms / 1000));
  }
  // The owner is gone (killed, or the machine restarted): stop what it left running.
  Result<exec::Stopped> stopped = engine::StopLeftovers(
      session.meta(), session.targets(), session.os(), *run, meta::RunStatus::kCanceled,
      "canceled by weft cancel (the run's process was gone)", kExitCanceled);
  if (!stopped.ok()) return stopped.status();
  if (!stopped->all_gone) {
    return Status::Io(fmt::format("run {}: its weft process was gone and some of the {} processes "
                                  "its steps left could not be stopped",
                                  run->id, stopped->processes));
  }
  out.leftovers = *stopped;
  Result<meta::RunRecord> now = session.FindRun(run->id);
  out.run = now.ok() ? *now : *run;
  return out;
}

Result<StepLog> FindLog(meta::MetaStore& meta, const ws::Workspace& ws, const meta::RunRecord& run,
                        const std::string& name) {
  Result<meta::StepRecord> step = FindStep(meta, run, name);
  if (!step.ok()) return step.status();
  StepLog log{*step, {}, {}};
  const meta::StepRecord* s = &*step;
  meta::StepRecord source;
  if (s->status == meta::StepStatus::kReused) {  // the log of the attempt it reuses
    Result<std::vector<meta::StepRecord>> steps = meta.Steps(s->reused_run);
    if (!steps.ok()) return steps.status();
    auto it = std::find_if(steps->begin(), steps->end(),
                           [&](const meta::StepRecord& r) { return r.index == s->reused_index; });
    if (it == steps->end()) {
      return Status::NotFound(fmt::format("step {} reuses run {}, which has no record of it any more",
                                          name, s->reused_run));
    }
    source = *it;
    s = &source;
  } else if (s->attempt == 0) {
    return Status::NotFound(fmt::format("step {} did not run ({}: {})", name, s->status, s->message));
  }
  if (s->jobs <= 1) {
    log.paths.push_back(ws.attempt_dir(s->run_id, s->index, 1, 0, s->attempt) + "/log");
    log.jobs.push_back(0);
    return log;
  }
  Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(s->run_id, s->index);
  if (!jobs.ok()) return jobs.status();
  for (const meta::JobRecord& j : *jobs) {
    if (j.attempt == 0) continue;
    log.paths.push_back(ws.attempt_dir(s->run_id, s->index, s->jobs, j.job, j.attempt) + "/log");
    log.jobs.push_back(j.job);
  }
  return log;
}

Status ReadLog(Session& session, const meta::RunRecord& run, const std::string& step, bool follow,
               const std::function<void(std::string_view)>& out) {
  Result<StepLog> log = FindLog(session.meta(), session.workspace(), run, step);
  if (!log.ok()) return log.status();
  if (log->paths.empty()) return Status::NotFound(fmt::format("step {} has no log yet", step));
  bool several = log->paths.size() > 1;
  for (size_t k = 0; k < log->paths.size(); ++k) {
    const std::string& path = log->paths[k];
    if (StatPath(path) != PathKind::kFile) return Status::NotFound(fmt::format("{}: no log", path));
    if (several) out(fmt::format("==> job {} <==\n", log->jobs[k]));
    uint64_t offset = 0;
    std::string chunk;
    while (true) {
      Status s = ReadFileFrom(path, offset, 1 << 20, &chunk);
      if (!s.ok()) return s;
      offset += chunk.size();
      if (!chunk.empty()) out(chunk);
      if (chunk.size() == (1u << 20)) continue;  // more right now
      if (!follow || several) break;
      // Follow while the step runs and the run's weft is alive (a dead run is settled, so that
      // it shows as interrupted from now on).
      bool live = engine::OwnerAlive(session.os(), run.owner);
      if (!live) engine::SettleDeadRuns(session.meta(), session.targets(), session.os()).ok();
      Result<std::optional<meta::StepRecord>> now = session.meta().FindStep(run.id, step);
      if (!live || !now.ok() || !*now || (*now)->status != meta::StepStatus::kRunning) {
        s = ReadFileFrom(path, offset, 1 << 30, &chunk);
        if (s.ok() && !chunk.empty()) out(chunk);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return Status::Ok();
}

Result<meta::OutputRecord> CopyOutput(Session& session, const meta::RunRecord& run,
                                      const std::string& output, const std::string& dest) {
  size_t dot = output.rfind('.');
  if (dot == std::string::npos) {
    return Status::Invalid(fmt::format("`{}`: name an output as STEP.OUTPUT", output));
  }
  std::string step_name = output.substr(0, dot);
  std::string out_name = output.substr(dot + 1);
  Result<meta::StepRecord> step = session.FindStep(run, step_name);
  if (!step.ok()) return step.status();
  auto [src_run, src_idx] = step->ResultAttempt();
  Result<std::vector<meta::OutputRecord>> outs = session.meta().Outputs(src_run, src_idx);
  if (!outs.ok()) return outs.status();
  for (const meta::OutputRecord& out : *outs) {
    if (out.name != out_name) continue;
    std::optional<store::ObjectRef> ref = out.Ref();
    if (!ref || !session.store().Has(ref->digest)) {
      return Status::NotFound(fmt::format(
          "{} of run {} (sha256:{}) is no longer in the store (removed by `weft gc`); rerun the "
          "pipeline to make it again",
          output, run.id, out.digest.substr(0, 12)));
    }
    std::string to = ResolvePath(session.cwd(), dest);
    if (StatPath(to) != PathKind::kMissing) return Status::Invalid(fmt::format("{} already exists", dest));
    std::string from = session.store().DeliveryPath(*ref);
    Status s = out.type == store::ObjectType::kFile ? CopyFile(from, to) : CopyTree(from, to);
    if (!s.ok()) return s;
    return out;
  }
  return Status::NotFound(fmt::format("step {} of run {} has no output `{}` (status {})", step_name,
                                      run.id, out_name, step->status));
}

Result<std::vector<StepMetrics>> Metrics(meta::MetaStore& meta, const meta::RunRecord& run,
                                         const std::string& step) {
  Result<std::vector<meta::StepRecord>> steps = meta.Steps(run.id);
  if (!steps.ok()) return steps.status();
  std::vector<StepMetrics> out;
  bool found = step.empty();
  for (const meta::StepRecord& s : *steps) {
    if (!step.empty() && s.name != step) continue;
    found = true;
    auto [src_run, src_idx] = s.ResultAttempt();
    Result<std::vector<meta::MetricRecord>> ms = meta.Metrics(src_run, src_idx);
    if (!ms.ok()) return ms.status();
    Result<std::vector<meta::ParamRecord>> ps = meta.Params(src_run, src_idx);
    if (!ps.ok()) return ps.status();
    if (ms->empty() && ps->empty()) continue;
    out.push_back({s, std::move(*ms), std::move(*ps)});
  }
  if (!found) return Status::NotFound(fmt::format("run {} has no step `{}`", run.id, step));
  return out;
}

}  // namespace weft::app
