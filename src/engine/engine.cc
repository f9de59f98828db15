#include "engine/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <set>
#include <filesystem>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/interrupt.h"
#include "base/sha256.h"
#include "assets/datastore.h"
#include "engine/run_loop.h"
#include "queries/explain.h"
#include "engine/fingerprint.h"
#include "engine/metrics.h"
#include "engine/plan.h"
#include "assets/registry.h"
#include "engine/resume.h"
#include "engine/secrets.h"
#include "engine/substitute.h"
#include "spec/checks.h"
#include "exec/local.h"

extern char** environ;

namespace weft::engine {

Status RunLoop::Wire() {
  size_t n = g_.steps.size();
  for (uint32_t i = 0; i < n; ++i) runs_[i].producers = g_.steps[i].deps;
  // on_init runs before every other step; on_finalize after all of them, whatever they did.
  for (uint32_t i = 0; i < n; ++i) {
    if (g_.on_init != graph::kNoStep && i != g_.on_init) runs_[i].producers.push_back(g_.on_init);
    if (g_.on_finalize != graph::kNoStep && i != g_.on_finalize) {
      runs_[g_.on_finalize].producers.push_back(i);
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint32_t>& p = runs_[i].producers;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    runs_[i].waiting = static_cast<int>(p.size());
    for (uint32_t d : p) runs_[d].consumers.push_back(i);
  }
  // --until S: S and what it needs; --only S: S alone. The rest may only be reused.
  auto find = [&](const std::string& name) -> std::optional<uint32_t> {
    for (uint32_t i = 0; i < n; ++i) {
      if (g_.steps[i].name == name) return i;
    }
    return std::nullopt;
  };
  auto unknown = [&](const char* option, const std::string& name) {
    std::vector<std::string> names;
    for (const graph::Step& step : g_.steps) names.push_back(step.name);
    std::string near = spec::Closest(name, names);
    return Status::Invalid(fmt::format("{} {}: the pipeline has no step `{}`{}", option, name, name,
                                       near.empty() ? "; `weft graph FILE` lists them"
                                                    : fmt::format("; did you mean `{}`?", near)));
  };
  for (const std::string& s : opts_.force_steps) {
    if (!find(s)) return unknown("--force-step", s);
  }
  if (!opts_.only.empty() || !opts_.until.empty()) {
    std::string target = opts_.only.empty() ? opts_.until : opts_.only;
    std::optional<uint32_t> t = find(target);
    if (!t) return unknown(opts_.only.empty() ? "--until" : "--only", target);
    for (StepRun& r : runs_) r.selected = false;
    std::vector<uint32_t> stack{*t};
    while (!stack.empty()) {
      uint32_t s = stack.back();
      stack.pop_back();
      if (runs_[s].selected) continue;
      runs_[s].selected = true;
      if (!opts_.only.empty()) break;
      for (uint32_t d : g_.steps[s].deps) stack.push_back(d);
    }
  }
  return Status::Ok();
}

std::optional<Value> RunLoop::InputValue(uint32_t i, const graph::StepInput& in) const {
  const graph::ValueSource& s = in.source;
  switch (s.kind) {
    case graph::ValueSource::Kind::kLiteral:
      return Value{s.literal.Render(), false};
    case graph::ValueSource::Kind::kData: {
      auto it = plans_[i].data.find(in.name);
      if (it == plans_[i].data.end()) return std::nullopt;
      return Value{store_.DeliveryPath(it->second), true};
    }
    case graph::ValueSource::Kind::kStepOutput: {
      const auto& outs = runs_[s.step].outputs;
      auto it = outs.find(s.output);
      if (it == outs.end()) return std::nullopt;
      return Value{store_.DeliveryPath(it->second), true};
    }
    default:
      return std::nullopt;
  }
}

// Builds the fingerprint from what the step is; false when it cannot be known (an input is
// missing).
bool RunLoop::Fingerprinted(uint32_t i) {
  runs_[i].fp = StepFingerprint(g_.steps[i], plans_[i], [&](uint32_t step, const std::string& output) {
    auto it = runs_[step].outputs.find(output);
    return it == runs_[step].outputs.end() ? nullptr : &it->second;
  });
  return true;
}

void RunLoop::Record(uint32_t i) {
  StepRun& r = runs_[i];
  r.rec.status = r.st;
  r.rec.message = redact_.Apply(std::move(r.rec.message));
  Status s = meta_.PutStep(r.rec);
  if (s.ok()) s = meta_.AddTransition(run_.id, i, r.rec.status, NowNs());
  if (!s.ok() && error_.ok()) error_ = s;
}

// The lineage edges: what each input of step i was.
void RunLoop::RecordInputs(uint32_t i) {
  for (const graph::StepInput& in : g_.steps[i].inputs) {
    const graph::ValueSource& s = in.source;
    meta::InputRecord rec{in.name, "none", "", ""};
    if (s.kind == graph::ValueSource::Kind::kLiteral) {
      rec.kind = "literal";
      rec.value = s.literal.Render();
    } else if (s.kind == graph::ValueSource::Kind::kData) {
      rec.kind = "data";
      rec.value = spec::IsUri(s.uri) || s.local_path.empty() ? s.uri : s.local_path;  // which file
      rec.digest = ToHex(plans_[i].data.at(in.name).digest);
    } else if (s.kind == graph::ValueSource::Kind::kStepOutput) {
      rec.kind = "step_output";
      rec.value = g_.steps[s.step].name + "." + s.output;
      auto it = runs_[s.step].outputs.find(s.output);
      if (it != runs_[s.step].outputs.end()) rec.digest = ToHex(it->second.digest);
    }
    rec.value = redact_.Apply(std::move(rec.value));
    meta_.PutInput(run_.id, i, rec).ok();
  }
}

// Called when every producer of step i has finished.
void RunLoop::Ready(uint32_t i) {
  StepRun& r = runs_[i];
  const graph::Step& step = g_.steps[i];
  if (canceled_ || (halted_ && i != g_.on_finalize)) {
    return Finish(i, canceled_ ? StepStatus::kCanceled : StepStatus::kSkipped,
                  canceled_ ? "the run was canceled" : "an earlier step failed");
  }
  // A producer that did not produce: skip, unless only optional inputs came from it and the
  // pipeline continues on failure (or this is on_finalize).
  for (uint32_t p : r.producers) {
    if (Produced(runs_[p].st) || i == g_.on_finalize) continue;
    bool needed = p == g_.on_init;
    for (const graph::StepInput& in : step.inputs) {
      if (in.source.kind == graph::ValueSource::Kind::kStepOutput && in.source.step == p &&
          !in.port->optional) {
        needed = true;
      }
    }
    if (needed || !pipeline_.job.settings.continue_on_step_failure) {
      return Finish(i, StepStatus::kSkipped, fmt::format("{} did not succeed", g_.steps[p].name));
    }
  }
  Fingerprinted(i);
  r.rec.fingerprint = r.fp.digest;
  // A reused step's inputs are, by its fingerprint, those of the attempt it reuses: its lineage
  // edges and its fingerprint's fields are that attempt's, already recorded.
  if (TryReuse(i)) return FinishReused(i);
  std::vector<std::pair<std::string, std::string>> fields = r.fp.fields;
  for (auto& [label, value] : fields) value = redact_.Apply(std::move(value));
  meta_.PutFingerprint(r.fp.digest, fields).ok();
  RecordInputs(i);
  if (!r.selected) {
    return Finish(i, StepStatus::kSkipped, fmt::format("not selected (--{}) and no reusable result",
                                               opts_.only.empty() ? "until" : "only"));
  }
  if (r.shareable && !Claim(i)) {
    waiting_.push_back(i);
    obs_.OnStep({g_.steps[i].name, StepStatus::kWaiting, r.rec.message, 0});
    return;
  }
  r.queued = true;
  queue_.push_back(i);
}

void RunLoop::Finish(uint32_t i, StepStatus st, std::string message) {
  StepRun& r = runs_[i];
  if (r.claimed) {  // in the same commit as the step's outputs: waiters then find them
    meta_.ReleaseClaims(run_.owner, r.fp.digest).ok();
    r.claimed = false;
  }
  r.st = st;
  ++finished_[st];
  r.rec.finished_ns = NowNs();
  if (!message.empty()) r.rec.message = std::move(message);
  Record(i);
  double secs = r.rec.started_ns ? (r.rec.finished_ns - r.rec.started_ns) / 1e9 : 0;
  obs_.OnStep({g_.steps[i].name, st, r.rec.message, secs});
  if (st == StepStatus::kFailed || st == StepStatus::kTimedOut) {
    failed_ = true;
    if (!pipeline_.job.settings.continue_on_step_failure) Halt("an earlier step failed");
  }
  for (uint32_t c : r.consumers) {
    if (--runs_[c].waiting == 0) ready_.push_back(c);
  }
  // Drain iteratively: a chain of reused steps must not become a chain of nested calls.
  if (draining_) return;
  draining_ = true;
  while (!ready_.empty()) {
    uint32_t next = ready_.front();
    ready_.pop_front();
    Ready(next);
  }
  draining_ = false;
}

void RunLoop::ReportProgress() {
  Progress p;
  p.total = g_.steps.size();
  p.succeeded = finished_[StepStatus::kSucceeded];
  p.reused = finished_[StepStatus::kReused];
  p.failed = finished_[StepStatus::kFailed] + finished_[StepStatus::kTimedOut];
  p.other = finished_[StepStatus::kSkipped] + finished_[StepStatus::kCanceled];
  p.queued = queue_.size();
  int64_t now = NowNs();
  for (const auto& [handle, i] : by_handle_) {
    p.running.emplace_back(g_.steps[i].name, (now - runs_[i].rec.started_ns) / 1e9);
  }
  obs_.OnProgress(p);
}

// Stops starting steps; running ones are stopped (canceled), waiting ones will be skipped.
void RunLoop::Halt(const std::string& why) {
  if (halted_) return;
  halted_ = true;
  for (const auto& [handle, i] : by_handle_) {
    if (i != g_.on_finalize) ex_.Cancel(handle);
  }
  std::vector<uint32_t> waiting;
  waiting.swap(waiting_);
  for (uint32_t i : waiting) Finish(i, canceled_ ? StepStatus::kCanceled : StepStatus::kSkipped, why);
  std::deque<uint32_t> queued;
  queued.swap(queue_);
  for (uint32_t i : queued) {
    runs_[i].queued = false;
    if (i == g_.on_finalize) {
      queue_.push_back(i);
    } else {
      Finish(i, canceled_ ? StepStatus::kCanceled : StepStatus::kSkipped, why);
    }
  }
}

Status RunLoop::Start(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  const StepPlan& plan = plans_[i];
  StepRun& r = runs_[i];
  r.dir = fmt::format("{}/{}/{}.{}", ws_.runs_dir(), run_.id, i, r.rec.attempt);
  std::string work = r.dir + "/work";
  // One mkdir per folder (the run's folder exists): folders cost real time on some disks.
  Status s = MakeDir(r.dir);
  if (s.ok()) s = plan.code && plan.code->type == store::ObjectType::kFolder
                     ? CopyTree(store_.DeliveryPath(*plan.code), work)
                     : MakeDir(work);
  if (s.ok() && plan.code && plan.code->type == store::ObjectType::kFile) {  // `code: ./train.py`
    s = CopyFile(store_.DeliveryPath(*plan.code), work + "/" + plan.code->name);
  }
  if (s.ok()) s = MakeDir(work + "/outputs");
  if (s.ok()) s = MakeDir(work + "/logs");
  if (!s.ok()) return s;
  std::map<std::string, std::string> out_paths;
  for (const graph::StepOutput& o : step.outputs) {
    if (o.name == "artifacts") continue;
    std::string folder = r.dir + "/out." + o.name;
    s = MakeDir(folder);
    if (!s.ok()) return s;
    out_paths[o.name] = o.type == spec::PortType::kUriFile ? folder + "/" + o.FileName() : folder;
  }
  std::map<std::string, std::optional<Value>> in_values;
  for (const graph::StepInput& in : step.inputs) in_values[in.name] = InputValue(i, in);
  auto value_of = [&](spec::RefKind kind, const std::string& name) -> std::optional<Value> {
    if (kind == spec::RefKind::kOutputs) {
      auto it = out_paths.find(name);
      if (it == out_paths.end()) return std::nullopt;
      return Value{it->second, true};
    }
    auto it = in_values.find(name);
    return it == in_values.end() ? std::nullopt : it->second;
  };
  std::string command = Substitute(plan.command->command.text, value_of);
  exec::LaunchSpec spec;
  spec.step = step.name;
  spec.command = command;
  spec.cwd = work;
  spec.log_path = r.dir + "/log";
  spec.script_path = r.dir + "/command";
  spec.group = group_;
  spec.name = fmt::format("{}.{}", i, r.rec.attempt);
  // The step may write its attempt folder (working folder, outputs, metrics) and nothing else of
  // the workspace: not the store, not the database, not other runs.
  if (ws_.config.sandbox) spec.sandbox = exec::Mounts{{ws_.dir}, {r.dir}};
  spec.timeout_ms = plan.timeout_s * 1000;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  std::string python_path;  // the step's, else weft's own
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("PATH=", 0) == 0) {
      path = kv.substr(5);
      continue;
    }
    if (kv.rfind("PYTHONPATH=", 0) == 0) {
      python_path = kv.substr(11);
      continue;
    }
    if (kv.rfind("WEFT_", 0) == 0 || kv.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0) continue;
    spec.env.push_back(kv);
  }
  spec.env.push_back("PATH=" + plan.env.path_prefix + ":" + path);
  for (const auto& [k, v] : plan.env.variables) spec.env.push_back(k + "=" + v);
  for (const auto& [k, v] : plan.env_vars) {
    if (k == "PYTHONPATH") {
      python_path = v;
    } else {
      spec.env.push_back(k + "=" + v);
    }
  }
  // The MLflow shim comes first, so that `import mlflow` finds it.
  if (!plan.env.python_path.empty()) {
    python_path = plan.env.python_path + (python_path.empty() ? "" : ":" + python_path);
  }
  if (!python_path.empty()) spec.env.push_back("PYTHONPATH=" + python_path);
  spec.env.push_back("WEFT_RUN_ID=" + run_.id);
  spec.env.push_back("WEFT_STEP=" + step.name);
  spec.env.push_back("WEFT_EXPERIMENT=" + run_.experiment);
  spec.env.push_back("WEFT_METRICS=" + r.dir + "/metrics.jsonl");
  spec.env.push_back("WEFT_ARTIFACTS=" + work + "/outputs");  // the `artifacts` output
  if (cap_.gpus > 0) {
    std::string ids;
    for (int64_t g : r.gpu_ids) ids += (ids.empty() ? "" : ",") + std::to_string(g);
    spec.env.push_back("CUDA_VISIBLE_DEVICES=" + ids);
  }
  spec.per_process_env = DistributedEnv(plan, i);
  Result<uint64_t> h = ex_.Submit(spec);
  if (!h.ok()) return h.status();
  r.handle = *h;
  by_handle_[*h] = i;
  exec::JobInfo info = ex_.Info(*h);
  r.rec.job = exec::FormatJob(info);
  return Status::Ok();
}

void RunLoop::Launch(std::vector<uint32_t>& started) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    uint32_t i = *it;
    const Needs& n = plans_[i].needs;
    bool fits = used_.cpus + n.cpus <= cap_.cpus && used_.gpus + n.gpus <= cap_.gpus &&
                (cap_.memory_mb == 0 || used_.memory_mb + n.memory_mb <= cap_.memory_mb);
    if (!fits) {
      if (used_.cpus >= cap_.cpus) break;
      ++it;
      continue;
    }
    used_.cpus += n.cpus;
    used_.gpus += n.gpus;
    used_.memory_mb += n.memory_mb;
    StepRun& r = runs_[i];
    for (int64_t g = 0; g < cap_.gpus && static_cast<int64_t>(r.gpu_ids.size()) < n.gpus; ++g) {
      if (!gpu_busy_[g]) {
        gpu_busy_[g] = true;
        r.gpu_ids.push_back(g);
      }
    }
    r.queued = false;
    r.st = StepStatus::kRunning;
    ++r.rec.attempt;
    r.rec.started_ns = NowNs();
    Record(i);
    started.push_back(i);
    it = queue_.erase(it);
  }
}

void RunLoop::Release(uint32_t i) {
  const Needs& n = plans_[i].needs;
  used_.cpus -= n.cpus;
  used_.gpus -= n.gpus;
  used_.memory_mb -= n.memory_mb;
  for (int64_t g : runs_[i].gpu_ids) gpu_busy_[g] = false;
  runs_[i].gpu_ids.clear();
}

Status RunLoop::CommitOutputs(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  StepRun& r = runs_[i];
  // Check every output before committing any: a failed step's outputs never enter the store.
  // The implicit `artifacts` output is the working folder's outputs/ and logs/, as in Azure ML.
  const std::vector<std::string> kArtifacts = {"outputs", "logs"};
  std::vector<std::string> staged_paths;
  for (const graph::StepOutput& o : step.outputs) {
    bool artifacts = o.name == "artifacts";
    std::string staged = artifacts ? r.dir + "/work" : r.dir + "/out." + o.name;
    if (o.type == spec::PortType::kUriFile && !artifacts) {
      staged += "/" + o.FileName();
      if (StatPath(staged) != PathKind::kFile) {
        return Status::Invalid(fmt::format("output {} is a uri_file, but the step wrote no file at "
                                           "{}",
                                           o.name, staged));
      }
    }
    Status check = store_.Check(staged, artifacts ? kArtifacts : std::vector<std::string>{});
    if (!check.ok()) return Status(check.code(), fmt::format("output {}: {}", o.name, check.message()));
    staged_paths.push_back(staged);
  }
  for (size_t k = 0; k < step.outputs.size(); ++k) {
    const graph::StepOutput& o = step.outputs[k];
    Result<store::ObjectRef> ref =
        store_.Commit(staged_paths[k], o.name == "artifacts" ? kArtifacts : std::vector<std::string>{});
    if (!ref.ok()) {
      return Status(ref.status().code(), fmt::format("output {}: {}", o.name, ref.status().message()));
    }
    r.outputs[o.name] = *ref;
  }
  return Status::Ok();
}

// Outputs whose settings name a datastore path get a link there to their stored object.
Status RunLoop::PublishOutputs(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  std::string ds = pipeline_.job.settings.default_datastore;
  if (ds.rfind("azureml:", 0) == 0) ds = ds.substr(8);
  for (const graph::StepOutput& o : step.outputs) {
    if (o.PublishPath().empty()) continue;
    assets::OutputPlace place{step.node->name, o.name, ds.empty() ? "workspaceblobstore" : ds};
    Status s = assets::PublishToDatastore(ws_, o.PublishPath(), place,
                                  store_.DeliveryPath(runs_[i].outputs.at(o.name)));
    if (!s.ok()) return Status(s.code(), fmt::format("output {}: {}", o.name, s.message()));
  }
  return Status::Ok();
}

// What the attempt logged to $WEFT_METRICS, whatever its end; lines that are not metrics are
// reported, not fatal.
void RunLoop::RecordMetrics(uint32_t i) {
  std::string path = runs_[i].dir + "/metrics.jsonl";
  Result<MetricsFile> m = ReadMetrics(path, NowNs() / 1'000'000);
  if (!m.ok()) {
    obs_.OnWarning(fmt::format("step {}: {}", g_.steps[i].name, m.status().message()));
    return;
  }
  for (const std::string& p : m->problems) {
    obs_.OnWarning(fmt::format("step {}: {}: {} (skipped)", g_.steps[i].name, path, p));
  }
  for (meta::MetricRecord& metric : m->metrics) metric.name = redact_.Apply(std::move(metric.name));
  for (meta::ParamRecord& p : m->params) {
    p.name = redact_.Apply(std::move(p.name));
    p.value = redact_.Apply(std::move(p.value));
  }
  Status s = meta_.PutMetrics(run_.id, i, m->metrics, m->params);
  if (!s.ok() && error_.ok()) error_ = s;
}

// After a failed or timed-out attempt: schedules the next one when the step has retries left
// (resources.properties weft.retries) and the run goes on.
bool RunLoop::Retry(uint32_t i, const std::string& why) {
  StepRun& r = runs_[i];
  const StepPlan& plan = plans_[i];
  if (r.rec.attempt > plan.retries || canceled_ || halted_) return false;
  int64_t delay_s = plan.retry_delay_s << std::min<int64_t>(r.rec.attempt - 1, 20);
  r.retry_at_ns = NowNs() + delay_s * 1'000'000'000;
  r.st = StepStatus::kPending;
  r.rec.message = fmt::format("attempt {} of {}: {}; next attempt in {} s", r.rec.attempt,
                              plan.retries + 1, why, delay_s);
  r.rec.status = StepStatus::kRetrying;
  Status s = meta_.PutStep(r.rec);
  if (s.ok()) s = meta_.AddTransition(run_.id, i, StepStatus::kRetrying, NowNs());
  if (!s.ok() && error_.ok()) error_ = s;
  obs_.OnStep({g_.steps[i].name, StepStatus::kRetrying, r.rec.message, 0});
  retrying_.push_back(i);
  return true;
}

// Steps whose retry time has come go back to the queue; returns how long until the next one
// (milliseconds; -1 when none waits).
int64_t RunLoop::DueRetries() {
  int64_t now = NowNs();
  int64_t next = -1;
  for (auto it = retrying_.begin(); it != retrying_.end();) {
    StepRun& r = runs_[*it];
    if (canceled_ || halted_) {
      Finish(*it, canceled_ ? StepStatus::kCanceled : StepStatus::kFailed, r.rec.message);
      it = retrying_.erase(it);
    } else if (r.retry_at_ns <= now) {
      r.retry_at_ns = 0;
      r.queued = true;
      queue_.push_back(*it);
      it = retrying_.erase(it);
    } else {
      int64_t ms = (r.retry_at_ns - now) / 1'000'000 + 1;
      next = next < 0 ? ms : std::min(next, ms);
      ++it;
    }
  }
  return next;
}

void RunLoop::End(const exec::JobEnd& end) {
  auto it = by_handle_.find(end.handle);
  if (it == by_handle_.end()) return;
  uint32_t i = it->second;
  by_handle_.erase(it);
  Release(i);
  StepRun& r = runs_[i];
  r.rec.exit_code = end.exit_code;
  RecordMetrics(i);
  for (const char* file : {"/log", "/metrics.jsonl", "/command"}) {
    if (Status s = redact_.ApplyToFile(r.dir + file); !s.ok()) {
      obs_.OnWarning(fmt::format("step {}: {}", g_.steps[i].name, s.message()));
    }
  }
  if (end.reason == exec::EndReason::kCanceled) {
    return Finish(i, StepStatus::kCanceled, canceled_ ? "canceled" : "stopped: an earlier step failed");
  }
  if (end.reason == exec::EndReason::kTimedOut) {
    std::string why = fmt::format("stopped after its {} s limit (limits.timeout)", plans_[i].timeout_s);
    if (Retry(i, why)) return;
    return Finish(i, StepStatus::kTimedOut, why);
  }
  if (end.exit_code != 0) {
    std::string why = fmt::format("exit code {}; see `weft logs {} {}`", end.exit_code, run_.id,
                                  g_.steps[i].name);
    if (Retry(i, why)) return;
    return Finish(i, StepStatus::kFailed, why);
  }
  Status s = CommitOutputs(i);
  if (s.ok()) s = PublishOutputs(i);
  if (s.ok()) s = assets::RegisterStepOutputs(meta_, run_.id, g_.steps[i], runs_[i].outputs);
  if (!s.ok()) return Finish(i, StepStatus::kFailed, s.message());
  for (const auto& [name, ref] : r.outputs) {
    Result<store::Seal> seal = store_.SealOf(ref.digest);
    meta::OutputRecord o{name, ToHex(ref.digest), ref.type, ref.name, static_cast<int64_t>(ref.bytes),
                         seal.ok() ? *seal : store::Seal{}};
    meta_.PutOutput(run_.id, i, o).ok();
  }
  Finish(i, StepStatus::kSucceeded, r.rec.message);
}

Result<RunResult> RunLoop::Go() {
  Status s = Wire();
  if (!s.ok()) return s;
  gpu_busy_.assign(static_cast<size_t>(std::max<int64_t>(0, cap_.gpus)), false);
  s = meta_.Begin();
  if (!s.ok()) return s;
  meta::RunRecord rec;
  rec.pipeline_file = pipeline_.job.file;
  if (opts_.replay != nullptr) {  // resumed: the file as submitted, not its mirror
    std::string root = opts_.replay->replay_root;
    std::string file = std::filesystem::absolute(rec.pipeline_file).lexically_normal().string();
    if (file.rfind(root + "/", 0) == 0) file = file.substr(root.size());
    std::filesystem::path rel = std::filesystem::path(file).lexically_relative(opts_.workdir);
    rec.pipeline_file = !rel.empty() && *rel.begin() != ".." ? rel.string() : file;
  }
  rec.name = g_.name;
  rec.experiment = opts_.experiment;
  rec.status = meta::RunStatus::kRunning;
  rec.created_ns = NowNs();
  rec.seeds_reuse = !pipeline_.job.settings.force_rerun;
  rec.workdir = opts_.workdir;
  rec.tags = opts_.tags;
  for (auto& [key, value] : rec.tags) value = redact_.Apply(std::move(value));
  rec.owner = fmt::format("pid={} start={} boot={}", ::getpid(), exec::ProcessStartTime(::getpid()),
                          exec::BootId());
  rec.submission = redact_.Apply(submission_);  // a secret in a tag or --set is not kept either
  rec.resumes = opts_.resumes;
  Result<meta::RunRecord> created = meta_.CreateRun(rec);
  if (!created.ok()) {
    meta_.Rollback();
    return created.status();
  }
  run_ = *created;
  // Every process of the run's steps is tracked under one group, recorded with the run so that a
  // later weft can stop what this one leaves if it is killed.
  group_ = fmt::format("weft-{}-{}", ToHex(Sha256Of(ws_.dir)).substr(0, 12), run_.id);
  if (std::string path = ex_.GroupPath(group_); !path.empty()) {
    run_.owner += " group=" + path;
    s = meta_.SetRunOwner(run_.id, run_.owner);
  }
  if (s.ok()) s = meta_.PutRunObjects(run_.id, kept_objects_);
  if (s.ok()) s = MakeDirs(ws_.runs_dir() + "/" + run_.id);
  if (!s.ok()) {
    meta_.Rollback();
    return s;
  }
  obs_.OnRunStarted(run_.id, ws_.dir);
  for (const std::string& w : ex_.warnings()) obs_.OnWarning(w);
  for (uint32_t i = 0; i < g_.steps.size(); ++i) {
    StepRun& r = runs_[i];
    r.rec.run_id = run_.id;
    r.rec.index = i;
    r.rec.name = g_.steps[i].name;
    r.rec.component = g_.steps[i].ComponentLabel();
    r.rec.deterministic = plans_[i].command->is_deterministic;
    // A step's row is written at its first transition; until then it is pending by absence.
  }
  // Collect the roots first: Ready() of one root may already make others ready.
  std::vector<uint32_t> roots;
  for (uint32_t i = 0; i < g_.steps.size(); ++i) {
    if (runs_[i].producers.empty()) roots.push_back(i);
  }
  for (uint32_t i : roots) Ready(i);
  s = meta_.Commit();
  if (!s.ok()) return s;
  // One pass: record what happened (ends of jobs, the job ids of steps started last pass),
  // decide what starts, commit (so every transition is durable before it is acted on), then start
  // the steps and wait for the next event.
  std::vector<uint32_t> started;
  std::vector<exec::JobEnd> ends;
  std::vector<std::pair<uint32_t, Status>> failures;
  while (true) {
    // A run this one waits for may have died: stop what it left before taking its steps over.
    if (!waiting_.empty()) {
      Result<std::vector<std::string>> settled = SettleDeadRuns(meta_);
      if (!settled.ok()) obs_.OnWarning(settled.status().message());
    }
    s = meta_.Begin();
    if (!s.ok()) return s;
    for (uint32_t i : started) Record(i);  // the job id, now that it is known
    for (auto& [i, st] : failures) {
      Release(i);
      Finish(i, st.code() == Code::kCanceled ? StepStatus::kCanceled : StepStatus::kFailed, st.message());
    }
    // Ctrl-C, SIGTERM (weft cancel), SIGHUP (the terminal closed), SIGQUIT: stop every step,
    // with the grace period; a second one: kill them now.
    if (Interrupted() && !canceled_) {
      canceled_ = true;
      obs_.OnWarning("interrupted: stopping every running step (again to stop them at once)");
      Halt("the run was canceled");
      for (const auto& [handle, i] : by_handle_) ex_.Cancel(handle);
      std::deque<uint32_t> q;
      q.swap(queue_);
      for (uint32_t i : q) Finish(i, StepStatus::kCanceled, "the run was canceled");
    }
    if (InterruptCount() >= 2 && !killed_) {
      killed_ = true;
      for (const auto& [handle, i] : by_handle_) ex_.Cancel(handle, true);
    }
    for (const exec::JobEnd& e : ends) End(e);
    if (!waiting_.empty()) CheckWaiting();
    Heartbeat();
    int64_t retry_wait_ms = DueRetries();
    started.clear();
    failures.clear();
    if (!halted_ || !queue_.empty()) Launch(started);
    s = meta_.Commit();
    if (!s.ok()) return s;
    if (!error_.ok()) return error_;
    for (uint32_t i : started) {
      if (Interrupted()) {  // nothing starts after Ctrl-C; the next pass records it canceled
        failures.emplace_back(i, Status(Code::kCanceled, "the run was canceled"));
        continue;
      }
      obs_.OnStep({g_.steps[i].name, StepStatus::kRunning, "", 0});
      Status st = Start(i);
      if (!st.ok()) failures.emplace_back(i, st);
    }
    if (ex_.running() == 0 && queue_.empty() && failures.empty() && started.empty() &&
        retrying_.empty() && waiting_.empty()) {
      break;
    }
    ReportProgress();
    int64_t wait_ms = retry_wait_ms >= 0 ? std::min<int64_t>(retry_wait_ms, 1000) : 1000;
    if (!waiting_.empty()) wait_ms = std::min<int64_t>(wait_ms, 200);
    ends = failures.empty() ? ex_.Wait(wait_ms) : std::vector<exec::JobEnd>{};
  }
  int code = canceled_ ? kExitCanceled : failed_ ? kExitStepFailed : kExitOk;
  s = meta_.Begin();
  if (s.ok()) s = meta_.ReleaseClaims(run_.owner);
  if (s.ok()) s = meta_.FinishRun(run_.id, canceled_ ? meta::RunStatus::kCanceled
                                            : failed_ ? meta::RunStatus::kFailed
                                                      : meta::RunStatus::kSucceeded,
                                  code, NowNs());
  if (s.ok()) s = meta_.Commit();
  if (!s.ok()) return s;
  if (!error_.ok()) return error_;
  return RunResult{run_.id, code};
}

Result<RunResult> RunLoop::DryRun() {
  Status s = Wire();
  if (!s.ok()) return s;
  std::vector<uint32_t> order = graph::TopologicalOrder(g_);
  std::vector<std::string> runs_because(g_.steps.size());
  for (uint32_t i : order) {
    StepRun& r = runs_[i];
    std::string upstream;
    for (uint32_t p : g_.steps[i].deps) {
      if (runs_[p].st != StepStatus::kReused) upstream = g_.steps[p].name;
    }
    if (!upstream.empty()) {
      obs_.OnPlanned({g_.steps[i].name, false, fmt::format("upstream {} runs first", upstream)});
      continue;
    }
    Fingerprinted(i);
    if (TryReuse(i)) {
      r.st = StepStatus::kReused;
      obs_.OnPlanned({g_.steps[i].name, true, r.rec.message});
      continue;
    }
    std::string why = r.rec.message;
    Result<std::optional<meta::StepRecord>> prev = meta_.PreviousStep(
        opts_.experiment, g_.steps[i].name, g_.steps[i].ComponentLabel(), INT64_MAX);
    if (prev.ok() && *prev) {
      Result<queries::Fields> before = meta_.FingerprintFields((*prev)->fingerprint);
      if (before.ok()) {
        std::vector<std::string> diff = queries::DiffFields(r.fp.fields, *before, store_, meta_);
        if (!diff.empty()) {
          why.clear();
          for (const std::string& d : diff) why += (why.empty() ? "" : "; ") + d;
        }
      }
    }
    obs_.OnPlanned({g_.steps[i].name, false, why});
  }
  return RunResult{"", 0};
}


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

}  // namespace

Result<RunResult> Engine::Run(const spec::LoadedPipeline& pipeline, const graph::Graph& graph,
                              const RunOptions& options) {
  Capacity cap = DetectCapacity(ws_, options.jobs);
  env::Environments envs(ws_);
  std::vector<std::string> warnings;
  Status s = meta_.Begin();
  if (!s.ok()) return s;
  Snapshots snapshots = options.replay != nullptr ? *options.replay : Snapshots{};
  Result<std::vector<StepPlan>> plans =
      PlanSteps(graph, ws_, cap, store_, meta_, envs, snapshots, &warnings);
  // The pipeline's own files too, so that `weft resume` can replay it as it was submitted.
  if (plans.ok() && options.replay == nullptr && !options.dry_run) {
    for (const auto& file : pipeline.files) {
      std::string path = std::filesystem::absolute(*file).lexically_normal().string();
      if (snapshots.by_path.count(path)) continue;
      Result<store::ObjectRef> ref = store_.Snapshot(path, &meta_, nullptr);
      if (ref.ok()) snapshots.by_path[path] = *ref;  // unreadable now: resume reports it
    }
  }
  s = meta_.Commit();
  if (!plans.ok() && plans.status().code() == Code::kCanceled) {
    return Status(Code::kCanceled, plans.status().message() + "; nothing ran and no run was recorded");
  }
  if (!plans.ok()) return plans.status();
  if (!s.ok()) return s;
  if (Interrupted()) {
    return Status(Code::kCanceled, "interrupted before the run started; nothing ran and no run was recorded");
  }
  for (const std::string& w : warnings) observer_.OnWarning(w);
  std::string file = std::filesystem::absolute(pipeline.job.file).lexically_normal().string();
  if (options.replay != nullptr && file.rfind(options.replay->replay_root + "/", 0) == 0) {
    file = file.substr(options.replay->replay_root.size());
  }
  RunLoop loop(ws_, meta_, store_, executor_, observer_, pipeline, graph, std::move(*plans),
               options, cap, SubmissionJson(file, options, snapshots), KeptObjects(*plans, snapshots));
  return options.dry_run ? loop.DryRun() : loop.Go();
}

}  // namespace weft::engine
