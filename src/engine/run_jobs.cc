// A run's jobs: their folders, command and environment, admission, start, end, retries, and
// re-attaching to a job a dead weft left running (the rest of Run is in run.cc).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/interrupt.h"
#include "engine/metrics.h"
#include "engine/run.h"
#include "engine/substitute.h"

namespace weft::engine {

std::string Run::StepDir(uint32_t i) const { return parts_.ws.step_dir(record_.id, i); }

std::string Run::AttemptDir(uint32_t i, int job, int64_t attempt) const {
  return parts_.ws.attempt_dir(record_.id, i, static_cast<int64_t>(steps_[i].jobs.size()), job, attempt);
}

std::string Run::OutputsDir(uint32_t i) const {
  if (steps_[i].best_trial >= 0) return steps_[i].jobs[static_cast<size_t>(steps_[i].best_trial)].dir;
  return single(i) ? steps_[i].jobs[0].dir : StepDir(i);
}

std::string Run::ArtifactsDir(uint32_t i) const {
  if (steps_[i].best_trial >= 0) return OutputsDir(i) + "/work";
  return single(i) ? steps_[i].jobs[0].dir + "/work" : StepDir(i) + "/artifacts";
}

void Run::Admitted(uint32_t i, int job) {
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[job];
  ++j.attempt;
  j.started_ns = Now();
  j.finished_ns = 0;
  j.status = StepStatus::kRunning;
  j.dir = AttemptDir(i, job, j.attempt);
  j.log_offset = 0;
  j.metrics_size = -1;
  j.log_partial.clear();
  j.stopping = j.killed = false;
  bool first = r.st != StepStatus::kRunning;
  if (first) {
    r.st = StepStatus::kRunning;
    r.rec.started_ns = j.started_ns;
  }
  if (single(i)) {
    r.rec.attempt = j.attempt;
    r.rec.started_ns = j.started_ns;
    Record(i);
  } else {
    r.rec.attempt = 1;
    if (first) Record(i);
    RecordJob(i, job);
  }
  admitted_.emplace_back(i, job);
}

// The folders, the command and the environment of job `job` of step i.
Status Run::Launch(uint32_t i, int job, exec::LaunchSpec* spec) {
  const graph::Step& step = g_.steps[i];
  const StepPlan& plan = plans_[i];
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[job];
  std::string work = j.dir + "/work";
  Status s = Status::Ok();
  if (!single(i) && !r.prepared) {  // what the jobs share: the outputs they all write
    s = MakeDir(StepDir(i));
    for (const graph::StepOutput& o : step.outputs) {
      if (s.ok()) s = MakeDir(o.name == "artifacts" ? ArtifactsDir(i) : StepDir(i) + "/out." + o.name);
    }
    if (s.ok()) s = MakeDirs(ArtifactsDir(i) + "/outputs");
    if (s.ok()) s = MakeDir(ArtifactsDir(i) + "/logs");
    if (!s.ok()) return s;
    r.prepared = true;
  }
  // One mkdir per folder (the run's folder exists): folders cost real time on some disks.
  s = MakeDir(j.dir);
  if (s.ok()) s = MakeDir(work);
  if (plan.code && plan.code->type == store::ObjectType::kFolder) {  // the executor delivers it
    spec->code = parts_.store.DeliveryPath(*plan.code);
  }
  if (s.ok() && plan.code && plan.code->type == store::ObjectType::kFile) {  // `code: ./train.py`
    s = CopyFile(parts_.store.DeliveryPath(*plan.code), work + "/" + plan.code->name);
  }
  if (s.ok()) s = MakeDir(work + "/outputs");
  if (s.ok()) s = MakeDir(work + "/logs");
  if (!s.ok()) return s;
  std::map<std::string, std::string> out_paths;
  for (const graph::StepOutput& o : step.outputs) {
    if (o.name == "artifacts") continue;
    // A sweep's trials each write their own outputs; the best one's become the step's.
    std::string folder = (plan.sweep ? j.dir : OutputsDir(i)) + "/out." + o.name;
    if (single(i) || plan.sweep) s = MakeDir(folder);
    if (!s.ok()) return s;
    out_paths[o.name] = o.type == spec::PortType::kUriFile ? folder + "/" + o.FileName() : folder;
  }
  std::map<std::string, std::optional<Value>> in_values;
  for (const graph::StepInput& in : step.inputs) {
    ResolvedInput v = ResolveInput(g_, in, plan, [&](uint32_t p, const std::string& output) {
      auto it = steps_[p].outputs.find(output);
      return it == steps_[p].outputs.end() ? nullptr : &it->second;
    });
    if (v.kind == ResolvedInput::Kind::kLiteral) {
      in_values[in.name] = Value{v.literal, false};
    } else if (v.object != nullptr) {
      in_values[in.name] = Value{parts_.store.DeliveryPath(*v.object), true};
    } else {
      in_values[in.name] = std::nullopt;
    }
  }
  if (plan.sweep) {  // the trial's hyperparameters, as its inputs and as ${{search_space.X}}
    for (const auto& [name, value] : steps_[i].trials[static_cast<size_t>(job)].values) {
      in_values[name] = Value{value.Render(), false};
    }
  }
  auto value_of = [&](spec::RefKind kind, const std::string& name) -> std::optional<Value> {
    if (kind == spec::RefKind::kOutputs) {
      auto it = out_paths.find(name);
      if (it == out_paths.end()) return std::nullopt;
      return Value{it->second, true};
    }
    auto it = in_values.find(name);
    return it == in_values.end() ? std::nullopt : it->second;
  };
  if (plan.parallel) {
    auto in = in_values.find(plan.parallel->input);
    std::string input_path = in != in_values.end() && in->second ? in->second->text : "";
    if (!r.batches_planned) s = PlanBatches(i, input_path);
    auto out = out_paths.find(plan.parallel->append_to);
    std::string output_dir = out != out_paths.end() && StatPath(out->second) == PathKind::kDirectory
                                 ? out->second
                                 : "";
    if (s.ok()) s = WriteFileAtomic(j.dir + "/parallel.json", WorkerConfig(i, input_path, output_dir));
    if (!s.ok()) return s;
  }
  spec->step = single(i) ? step.name : fmt::format("{} (job {})", step.name, job);
  spec->command = Substitute(plan.command->command.text, value_of);
  spec->cwd = work;
  spec->log_path = j.dir + "/log";
  spec->script_path = j.dir + "/command";
  spec->group = group_;
  spec->name = single(i) ? fmt::format("{}.{}", i, j.attempt) : fmt::format("{}-{}.{}", i, job, j.attempt);
  // The step may write its attempt folder (working folder, outputs, metrics) and nothing else of
  // the workspace: not the store, not the database, not other runs.
  std::vector<std::string> writable = {single(i) ? j.dir : StepDir(i)};
  if (plan.parallel && single(i)) writable.push_back(BatchesDir(i));
  // A server's step sees of the workspace only what it uses: not the database, other runs,
  // uploads or other projects' objects.
  std::vector<std::string> keep;
  if (options_.served) {
    keep = writable;
    keep.push_back(parts_.ws.envs_dir());
    if (!spec->code.empty()) keep.push_back(spec->code);
    for (const auto& [name, v] : in_values) {
      if (v && v->path) keep.push_back(v->text);
    }
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  }
  if (!plan.env->image.empty()) {  // in a container, which binds only these
    const spec::Resources& res = !step.node->resources.shm_size.empty() ? step.node->resources
                                                                         : plan.command->resources;
    exec::Container& c = spec->container.emplace();
    c.image = plan.env->image;
    c.conf = plan.env->containers_conf;
    c.network = plan.env->network;
    c.shm_size = res.shm_size;
    c.options = plan.container_options;
    c.read_only = options_.served ? keep : std::vector<std::string>{parts_.ws.dir};
    c.writable = writable;
  } else if (parts_.ws.config.sandbox) {
    spec->sandbox.emplace();
    spec->sandbox->read_only = {parts_.ws.dir};
    spec->sandbox->writable = writable;
    if (options_.served) {
      spec->sandbox->hide = parts_.ws.dir;
      spec->sandbox->keep = keep;
    }
  }
  spec->timeout_ms = plan.timeout_s * 1000;
  spec->needs = plan.needs;
  spec->distribution = plan.distribution;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  std::string python_path;  // the step's, else weft's own
  static const std::set<std::string> kKept = {"HOME", "USER",     "LOGNAME", "SHELL",
                                              "LANG", "LANGUAGE", "TZ",      "TMPDIR"};
  for (std::string& kv : parts_.os.Environment()) {
    std::string name = kv.substr(0, kv.find('='));
    if (kv.rfind("PATH=", 0) == 0) {
      path = kv.substr(5);
    } else if (options_.served && !kKept.count(name) && name.rfind("LC_", 0) != 0) {
      continue;
    } else if (kv.rfind("PYTHONPATH=", 0) == 0) {
      python_path = kv.substr(11);
    } else if (kv.rfind("WEFT_", 0) != 0 && kv.rfind("CUDA_VISIBLE_DEVICES=", 0) != 0) {
      spec->env.push_back(std::move(kv));
    }
  }
  spec->env.push_back("PATH=" + (plan.env->path_prefix.empty() ? path : plan.env->path_prefix + ":" + path));
  for (const auto& [k, v] : plan.env->variables) spec->env.push_back(k + "=" + v);
  for (const auto& [k, v] : plan.env_vars) {
    if (k == "PYTHONPATH") {
      python_path = v;
    } else {
      spec->env.push_back(k + "=" + v);
    }
  }
  // The MLflow shim comes first, so that `import mlflow` finds it.
  if (!plan.env->python_path.empty()) {
    python_path = plan.env->python_path + (python_path.empty() ? "" : ":" + python_path);
  }
  // weft's runtime comes last: a real `azureml_user` or `mltable` in the environment wins.
  if (!plan.env->runtime_path.empty()) {
    python_path += (python_path.empty() ? "" : ":") + plan.env->runtime_path;
  }
  if (plan.parallel) spec->env.push_back("WEFT_PARALLEL=" + j.dir + "/parallel.json");
  if (!python_path.empty()) spec->env.push_back("PYTHONPATH=" + python_path);
  spec->env.push_back("WEFT_RUN_ID=" + record_.id);
  spec->env.push_back("WEFT_STEP=" + step.name);
  spec->env.push_back("WEFT_EXPERIMENT=" + record_.experiment);
  spec->env.push_back("WEFT_METRICS=" + j.dir + "/metrics.jsonl");
  spec->env.push_back("WEFT_ARTIFACTS=" + ArtifactsDir(i) + "/outputs");  // the `artifacts` output
  if (!single(i)) {
    spec->env.push_back(fmt::format("WEFT_JOB={}", job));
    spec->env.push_back(fmt::format("WEFT_JOBS={}", r.jobs.size()));
  }
  j.secret = Redactor();
  if (engine_.job_environment_) {
    JobExtras extras = engine_.job_environment_(
        JobStart{record_.project, record_.id, record_.experiment, step.name, i, job,
                 static_cast<int64_t>(r.jobs.size()), j.attempt});
    for (const auto& [k, v] : extras.env) spec->env.push_back(k + "=" + v);
    j.secret.Add(extras.secret);
  }
  return Status::Ok();
}

void Run::StartAdmitted() {
  std::vector<std::pair<uint32_t, int>> admitted;
  admitted.swap(admitted_);
  struct Ready {
    uint32_t i;
    int job;
    exec::LaunchSpec spec;
  };
  std::vector<Ready> ready;
  for (auto [i, job] : admitted) {
    if (Interrupted() || canceled_) {  // nothing starts after Ctrl-C; the next pass records it
      start_failures_.emplace_back(i, job, Status(Code::kCanceled, "the run was canceled"));
      continue;
    }
    if (!steps_[i].adopt_job.empty() && Adopt(i)) continue;
    Ready r{i, job, {}};
    if (Status s = Launch(i, job, &r.spec); !s.ok()) {
      start_failures_.emplace_back(i, job, s);
      continue;
    }
    ready.push_back(std::move(r));
  }
  // The workers of a parallel step admitted together start together: a job array where the
  // target has them.
  for (size_t at = 0; at < ready.size();) {
    uint32_t i = ready[at].i;
    size_t end = at + 1;
    while (plans_[i].parallel && end < ready.size() && ready[end].i == i) ++end;
    exec::Executor& ex = parts_.targets.executor(steps_[i].target);
    std::vector<Result<uint64_t>> handles;
    if (end - at == 1) {
      handles.push_back(ex.Submit(ready[at].spec));
    } else {
      std::vector<exec::LaunchSpec> specs;
      for (size_t k = at; k < end; ++k) specs.push_back(std::move(ready[k].spec));
      handles = ex.SubmitArray(specs, static_cast<size_t>(plans_[i].parallel->per_instance));
    }
    for (size_t k = at; k < end; ++k) {
      int job = ready[k].job;
      const Result<uint64_t>& h = handles[k - at];
      if (!h.ok()) {
        start_failures_.emplace_back(i, job, h.status());
        continue;
      }
      JobRun& j = steps_[i].jobs[job];
      j.handle = *h;
      j.running = true;
      // Known now: a job may end before RecordStarted, and its step still names it.
      j.job_id = ex.JobId(*h);
      if (single(i)) steps_[i].rec.job = j.job_id;
      started_outliving_ = started_outliving_ || ex.JobsOutliveWeft();
      engine_.handles_[{steps_[i].target, *h}] = Engine::JobRef{this, i, job};
      started_.emplace_back(i, job);
    }
    at = end;
  }
}

void Run::RecordStarted() {
  for (auto [i, job] : started_) {
    JobRun& j = steps_[i].jobs[job];
    if (!j.running) continue;
    if (single(i)) {
      Save(i);
    } else {
      Status s = parts_.meta.PutJob({record_.id, i, job, j.status, j.attempt, steps_[i].target,
                                     j.job_id, j.started_ns, 0, -1, ""});
      if (!s.ok() && error_.ok()) error_ = s;
    }
  }
  started_.clear();
  started_outliving_ = false;
  std::vector<std::tuple<uint32_t, int, Status>> failures;
  failures.swap(start_failures_);
  for (auto& [i, job, st] : failures) {
    ReleaseSlot(i, job);
    steps_[i].jobs[job].exit_code = -1;
    JobEnded(i, job, st.code() == Code::kCanceled ? StepStatus::kCanceled : StepStatus::kFailed,
             st.message());
  }
}

void Run::Ended(uint32_t i, int job, const exec::JobEnd& end) {
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[job];
  j.running = false;
  ReleaseSlot(i, job);
  j.exit_code = end.exit_code;
  j.finished_ns = Now();
  if (single(i)) r.rec.exit_code = end.exit_code;
  if (engine_.wants_logs_) ReadLog(i, job, true);
  RecordMetrics(i, job, true);
  for (const char* file : {"/log", "/metrics.jsonl", "/command"}) {
    for (const Redactor* r : {&redact_, &j.secret}) {
      if (Status s = r->ApplyToFile(j.dir + file); !s.ok()) {
        Warn(fmt::format("step {}: {}", g_.steps[i].name, s.message()));
      }
    }
  }
  if (end.reason == exec::EndReason::kCanceled) {
    return JobEnded(i, job, StepStatus::kCanceled,
                    !j.stop_note.empty() ? j.stop_note
                    : canceled_          ? "canceled"
                                         : "stopped: an earlier step failed");
  }
  if (end.reason == exec::EndReason::kFailedToStart || end.reason == exec::EndReason::kFailed) {
    return JobEnded(i, job, StepStatus::kFailed, end.message);
  }
  if (end.reason == exec::EndReason::kTimedOut) {
    std::string why = !end.message.empty()
                          ? end.message
                          : fmt::format("stopped after its {} s limit ({})", plans_[i].timeout_s,
                                        plans_[i].sweep ? "limits.trial_timeout" : "limits.timeout");
    if (Retry(i, job, why)) return;
    return JobEnded(i, job, StepStatus::kTimedOut, why);
  }
  if (end.exit_code != 0) {
    std::string why = fmt::format("{}; see `weft logs {} {}`",
                                  end.message.empty() ? fmt::format("exit code {}", end.exit_code)
                                                      : end.message,
                                  record_.id, g_.steps[i].name);
    if (Retry(i, job, why)) return;
    return JobEnded(i, job, StepStatus::kFailed, why);
  }
  JobEnded(i, job, StepStatus::kSucceeded, single(i) ? r.rec.message : "");
}

// After a failed or timed-out attempt: schedules the next one when the step has retries left
// (resources.properties weft.retries) and the run goes on.
bool Run::Retry(uint32_t i, int job, const std::string& why) {
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[job];
  const StepPlan& plan = plans_[i];
  if (j.attempt > plan.retries || canceled_ || halted_) return false;
  int64_t delay_s = plan.retry_delay_s << std::min<int64_t>(j.attempt - 1, 20);
  j.retry_at_ns = Now() + delay_s * 1'000'000'000;
  j.status = StepStatus::kRetrying;
  j.message = fmt::format("attempt {} of {}: {}; next attempt in {} s", j.attempt, plan.retries + 1,
                          why, delay_s);
  if (single(i)) {
    r.st = StepStatus::kRetrying;
    r.rec.message = j.message;
    Record(i);
  } else {
    RecordJob(i, job);
  }
  retrying_.emplace_back(i, job);
  return true;
}

// Retries whose time has come go back to the scheduler; a halted or canceled run ends them.
void Run::DueRetries() {
  int64_t now = Now();
  for (auto it = retrying_.begin(); it != retrying_.end();) {
    auto [i, job] = *it;
    JobRun& j = steps_[i].jobs[job];
    const std::string& sweep_over = steps_[i].sweep_over;
    if (canceled_ || halted_) {
      it = retrying_.erase(it);
      JobEnded(i, job, canceled_ ? StepStatus::kCanceled : StepStatus::kFailed, j.message);
    } else if (!sweep_over.empty()) {  // its sweep's time is up: no next attempt
      it = retrying_.erase(it);
      j.stop_note = "not tried again: " + sweep_over;
      JobEnded(i, job, StepStatus::kCanceled, j.stop_note);
    } else if (j.retry_at_ns <= now) {
      j.retry_at_ns = 0;
      j.status = StepStatus::kPending;
      engine_.scheduler_->Enqueue(SlotOf(i, job));
      it = retrying_.erase(it);
    } else {
      ++it;
    }
  }
}

int64_t Run::NextWakeMs() const {
  int64_t now = Now();
  int64_t next = -1;
  for (auto [i, job] : retrying_) {
    int64_t ms = std::max<int64_t>(0, (steps_[i].jobs[job].retry_at_ns - now + 999'999) / 1'000'000);
    next = next < 0 ? ms : std::min(next, ms);
  }
  for (uint32_t i : timed_sweeps_) {
    const StepRun& r = steps_[i];
    if (!r.sweep_over.empty() || meta::Ended(r.st)) continue;
    int64_t ms = std::max<int64_t>(0, (r.sweep_deadline_ns - now + 999'999) / 1'000'000);
    next = next < 0 ? ms : std::min(next, ms);
  }
  return next;
}

void Run::Chores() {
  if (!waiting_.empty()) CheckWaiting();
  DueRetries();
  SweepDeadlines();
  // Running parallel steps keep what their workers finished, every half second; running jobs'
  // metrics are read as they grow, every second.
  int64_t now = Now();
  bool metrics = now - metrics_looked_ns_ >= 1'000'000'000;
  if (metrics) metrics_looked_ns_ = now;
  for (const auto& [handle, ref] : engine_.handles_) {
    if (ref.run != this) continue;
    StepRun& r = steps_[ref.step];
    if (metrics) {
      JobRun& j = r.jobs[ref.job];
      struct stat st {};
      int64_t size = ::stat((j.dir + "/metrics.jsonl").c_str(), &st) == 0 ? st.st_size : -1;
      if (size != j.metrics_size) RecordMetrics(ref.step, ref.job, false);
      j.metrics_size = size;
    }
    if (!plans_[ref.step].parallel || now - r.batches_looked_ns < 500'000'000) continue;
    r.batches_looked_ns = now;
    KeepBatches(ref.step);
  }
}

// What the attempt logged to $WEFT_METRICS so far (while it runs), or in all (`final`: whatever
// its end); lines that are not metrics are reported at the end, not fatal.
void Run::RecordMetrics(uint32_t i, int job, bool final) {
  std::string path = steps_[i].jobs[job].dir + "/metrics.jsonl";
  Result<MetricsFile> m = ReadMetrics(path, Now() / 1'000'000);
  if (!m.ok()) {
    if (final) Warn(fmt::format("step {}: {}", g_.steps[i].name, m.status().message()));
    return;
  }
  for (const std::string& p : final ? m->problems : std::vector<std::string>{}) {
    Warn(fmt::format("step {}: {}: {} (skipped)", g_.steps[i].name, path, p));
  }
  for (meta::MetricRecord& metric : m->metrics) metric.name = redact_.Apply(std::move(metric.name));
  if (plans_[i].sweep) {  // a trial's hyperparameters are its params (what it logs itself wins)
    std::vector<meta::ParamRecord> hyper;
    for (const auto& [name, value] : steps_[i].trials[static_cast<size_t>(job)].values) {
      hyper.push_back({"param", name, value.Render()});
    }
    m->params.insert(m->params.begin(), hyper.begin(), hyper.end());
  }
  const Redactor& own = steps_[i].jobs[job].secret;
  for (meta::ParamRecord& p : m->params) {
    p.name = own.Apply(redact_.Apply(std::move(p.name)));
    p.value = own.Apply(redact_.Apply(std::move(p.value)));
  }
  Status s = parts_.meta.PutMetrics(record_.id, i, job, m->metrics, m->params);
  if (!s.ok() && error_.ok()) error_ = s;
  if (plans_[i].sweep) TrialMetrics(i, job, m->metrics);
}

// New whole lines of a job's log go to the observers (with `all`, the last unfinished one too).
void Run::ReadLog(uint32_t i, int job, bool all) {
  JobRun& j = steps_[i].jobs[job];
  std::string chunk;
  if (!ReadFileFrom(j.dir + "/log", j.log_offset, 1 << 20, &chunk).ok()) return;
  j.log_offset += chunk.size();
  j.log_partial += chunk;
  size_t start = 0;
  for (size_t nl; (nl = j.log_partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    LogLine line{record_.id, g_.steps[i].name, job,
                 j.secret.Apply(redact_.Apply(j.log_partial.substr(start, nl - start)))};
    engine_.Emit([line](Observer& o) { o.OnLog(line); });
  }
  j.log_partial.erase(0, start);
  if (all && !j.log_partial.empty()) {
    LogLine line{record_.id, g_.steps[i].name, job, j.secret.Apply(redact_.Apply(j.log_partial))};
    engine_.Emit([line](Observer& o) { o.OnLog(line); });
    j.log_partial.clear();
  }
}

void Run::PollLogs() {
  for (uint32_t i = 0; i < steps_.size(); ++i) {
    for (size_t k = 0; k < steps_[i].jobs.size(); ++k) {
      if (steps_[i].jobs[k].running) ReadLog(i, static_cast<int>(k), false);
    }
  }
}

// `weft resume`: the job the run being resumed left running for step i, if its target keeps jobs
// running without weft and it computes the same thing (same fingerprint, same target).
void Run::FindAdoptable(uint32_t i) {
  StepRun& r = steps_[i];
  if (!single(i) || !parts_.targets.executor(r.target).JobsOutliveWeft()) return;
  Result<std::optional<meta::StepRecord>> before =
      parts_.meta.FindStep(options_.resumes, g_.steps[i].name);
  if (!before.ok() || !*before) return;
  const meta::StepRecord& b = **before;
  if (b.status != StepStatus::kInterrupted || b.fingerprint != r.fp.digest || b.job.empty() ||
      b.target != r.target || b.jobs > 1) {
    return;
  }
  r.adopt_job = b.job;
  r.adopt_dir = parts_.ws.attempt_dir(b.run_id, b.index, 1, 0, b.attempt);
}

// Re-attaches to the job found by FindAdoptable: its attempt folder stays where it is (this run's
// attempt folder links to it). False when the executor cannot (the job is gone): it runs anew.
bool Run::Adopt(uint32_t i) {
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[0];
  std::string job_id = std::exchange(r.adopt_job, "");
  exec::LaunchSpec spec;
  spec.step = g_.steps[i].name;
  spec.cwd = r.adopt_dir + "/work";
  spec.log_path = r.adopt_dir + "/log";
  spec.script_path = r.adopt_dir + "/command";
  spec.group = group_;
  spec.name = fmt::format("{}.{}", i, j.attempt);
  spec.timeout_ms = plans_[i].timeout_s * 1000;
  spec.needs = plans_[i].needs;
  spec.distribution = plans_[i].distribution;
  exec::Executor& ex = parts_.targets.executor(r.target);
  std::optional<uint64_t> h = ex.Adopt(job_id, spec);
  if (!h) return false;
  std::error_code ec;
  std::filesystem::create_symlink(r.adopt_dir, j.dir, ec);  // `weft logs` finds it here too
  j.dir = r.adopt_dir;
  j.handle = *h;
  j.running = true;
  j.job_id = ex.JobId(*h);
  r.rec.job = j.job_id;
  engine_.handles_[{r.target, *h}] = Engine::JobRef{this, i, 0};
  started_.emplace_back(i, 0);
  Warn(fmt::format("step {}: re-attached to the job run {} left running ({})", g_.steps[i].name,
                   options_.resumes, job_id));
  return true;
}

}  // namespace weft::engine
