#include "engine/run.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "assets/datastore.h"
#include "assets/registry.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "engine/resume.h"
#include "queries/explain.h"
#include "spec/checks.h"

namespace weft::engine {

const std::string& Run::StepName(uint32_t step) const { return g_.steps[step].name; }

Run::Run(Engine& engine, const RunRequest& request, std::vector<StepPlan> plans,
         std::string submission, std::vector<std::string> kept_objects)
    : engine_(engine),
      parts_(engine.parts_),
      pipeline_(*request.pipeline),
      g_(*request.graph),
      plans_(std::move(plans)),
      options_(request.options),
      steps_(request.graph->steps.size()),
      submission_(std::move(submission)),
      kept_objects_(std::move(kept_objects)) {
  std::vector<std::pair<std::string, std::string>> set;
  for (const StepPlan& plan : plans_) set.insert(set.end(), plan.env_vars.begin(), plan.env_vars.end());
  redact_ = Redactor::ForSecrets(parts_.ws.config.secrets, set);
  for (uint32_t i = 0; i < steps_.size(); ++i) {
    StepRun& r = steps_[i];
    r.jobs.resize(static_cast<size_t>(std::max(1, plans_[i].jobs)));
    if (plans_[i].sweep) {
      r.trials = plans_[i].sweep->trials;
      r.trial_values.resize(r.jobs.size());
      r.evaluated.resize(r.jobs.size());
    }
  }
}

int64_t Run::Now() const { return parts_.os.NowNs(); }

void Run::Warn(const std::string& message) {
  // Kept with the run (`weft show`, the server); failing to keep one does not stop the run.
  if (!id().empty()) parts_.meta.PutWarning(id(), message).ok();
  engine_.Emit([message, id = id()](Observer& o) { o.OnWarning(id, message); });
}

Status Run::Wire() {
  size_t n = g_.steps.size();
  for (uint32_t i = 0; i < n; ++i) steps_[i].producers = g_.steps[i].deps;
  // on_init runs before every other step; on_finalize after all of them, whatever they did.
  for (uint32_t i = 0; i < n; ++i) {
    if (g_.on_init != graph::kNoStep && i != g_.on_init) steps_[i].producers.push_back(g_.on_init);
    if (g_.on_finalize != graph::kNoStep && i != g_.on_finalize) {
      steps_[g_.on_finalize].producers.push_back(i);
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint32_t>& p = steps_[i].producers;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    steps_[i].waiting = static_cast<int>(p.size());
    for (uint32_t d : p) steps_[d].consumers.push_back(i);
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
  for (const std::string& s : options_.force_steps) {
    if (!find(s)) return unknown("--force-step", s);
  }
  if (!options_.only.empty() || !options_.until.empty()) {
    std::string target = options_.only.empty() ? options_.until : options_.only;
    std::optional<uint32_t> t = find(target);
    if (!t) return unknown(options_.only.empty() ? "--until" : "--only", target);
    for (StepRun& r : steps_) r.selected = false;
    std::vector<uint32_t> stack{*t};
    while (!stack.empty()) {
      uint32_t s = stack.back();
      stack.pop_back();
      if (steps_[s].selected) continue;
      steps_[s].selected = true;
      if (!options_.only.empty()) break;
      for (uint32_t d : g_.steps[s].deps) stack.push_back(d);
    }
  }
  return Status::Ok();
}

// ---- Records and events ------------------------------------------------------------------------

// Writes step i's row and its transition, and tells the observers (after the commit).
void Run::Record(uint32_t i, double seconds) {
  StepRun& r = steps_[i];
  r.rec.status = r.st;
  r.rec.message = redact_.Apply(std::move(r.rec.message));
  Status s = parts_.meta.PutStep(r.rec);
  if (s.ok()) s = parts_.meta.AddTransition(record_.id, i, r.rec.status, Now());
  if (!s.ok() && error_.ok()) error_ = s;
  // (why a step runs was said when it was queued; its running line says only that it started)
  StepEvent e{record_.id, g_.steps[i].name, -1, r.rec.status,
              r.st == StepStatus::kRunning ? "" : r.rec.message, seconds};
  engine_.Emit([e](Observer& o) { o.OnStep(e); });
}

// Writes step i's row without a transition (what is known of a running step changed).
void Run::Save(uint32_t i) {
  Status s = parts_.meta.PutStep(steps_[i].rec);
  if (!s.ok() && error_.ok()) error_ = s;
}

void Run::RecordJob(uint32_t i, int job) {
  const JobRun& j = steps_[i].jobs[job];
  meta::JobRecord rec{record_.id, i, job, j.status, j.attempt, steps_[i].target, j.job_id,
                      j.started_ns, j.finished_ns, j.exit_code, redact_.Apply(j.message)};
  Status s = parts_.meta.PutJob(rec);
  if (!s.ok() && error_.ok()) error_ = s;
  double secs = j.finished_ns && j.started_ns ? (j.finished_ns - j.started_ns) / 1e9 : 0;
  StepEvent e{record_.id, g_.steps[i].name, job, j.status, rec.message, secs};
  engine_.Emit([e](Observer& o) { o.OnStep(e); });
}

// The lineage edges: what each input of step i was.
void Run::RecordInputs(uint32_t i) {
  for (const graph::StepInput& in : g_.steps[i].inputs) {
    ResolvedInput v = ResolveInput(g_, in, plans_[i], [&](uint32_t step, const std::string& output) {
      auto it = steps_[step].outputs.find(output);
      return it == steps_[step].outputs.end() ? nullptr : &it->second;
    });
    meta::InputRecord rec{in.name, "none", "", ""};
    if (v.kind == ResolvedInput::Kind::kLiteral) {
      rec.kind = "literal";
      rec.value = v.literal;
    } else if (v.kind == ResolvedInput::Kind::kData) {
      rec.kind = v.from_step ? "step_output" : "data";
      rec.value = v.origin;
      if (v.object != nullptr) rec.digest = ToHex(v.object->digest);
    }
    rec.value = redact_.Apply(std::move(rec.value));
    parts_.meta.PutInput(record_.id, i, rec).ok();
  }
}

void Run::Fingerprinted(uint32_t i) {
  steps_[i].fp = StepFingerprint(g_, g_.steps[i], plans_[i], [&](uint32_t step, const std::string& output) {
    auto it = steps_[step].outputs.find(output);
    return it == steps_[step].outputs.end() ? nullptr : &it->second;
  });
}

// ---- Creating the run --------------------------------------------------------------------------

Status Run::Create() {
  Status s = Wire();
  if (!s.ok()) return s;
  // Each step's target, and what it asks for within what the target has (said once the run has
  // its id, so that those who follow the run hear it).
  std::vector<std::string> warnings;
  std::set<std::string> warned;
  for (uint32_t i = 0; i < g_.steps.size(); ++i) {
    std::string warning;
    StepRun& r = steps_[i];
    r.target = parts_.targets.Resolve(g_.steps[i].compute, &warning);
    if (!warning.empty() && warned.insert(warning).second) warnings.push_back(warning);
    Result<exec::Executor*> ex = engine_.UseTarget(r.target);
    if (!ex.ok()) return ex.status();
    exec::Capacity cap = (*ex)->capacity();
    exec::Needs& n = plans_[i].needs;
    auto clamp = [&](int64_t& need, int64_t have, const char* what) {
      if (need > have) {
        warnings.push_back(fmt::format("step {} asks for {} {}; {} has {}, so it gets {}", g_.steps[i].name, need,
                         what, r.target == "local" ? "this machine" : "compute " + r.target, have,
                         have));
        need = have;
      }
    };
    clamp(n.cpus, cap.cpus, "CPUs");
    if (cap.memory_mb > 0) clamp(n.memory_mb, cap.memory_mb, "MB of memory");
    clamp(n.gpus, cap.gpus, "GPUs");
  }
  meta::RunRecord rec;
  rec.pipeline_file = pipeline_.job.file;
  // Resumed: the file as submitted, not its mirror. Served: as named in what was uploaded (its
  // folder is the server's business).
  if (options_.replay != nullptr || options_.served) {
    std::string file = std::filesystem::absolute(rec.pipeline_file).lexically_normal().string();
    if (options_.replay != nullptr) {
      const std::string& root = options_.replay->replay_root;
      if (file.rfind(root + "/", 0) == 0) file = file.substr(root.size());
    }
    std::filesystem::path rel = std::filesystem::path(file).lexically_relative(options_.workdir);
    rec.pipeline_file = !rel.empty() && *rel.begin() != ".." ? rel.string() : file;
  }
  rec.name = g_.name;
  rec.experiment = options_.experiment;
  rec.status = meta::RunStatus::kRunning;
  rec.created_ns = Now();
  rec.seeds_reuse = !pipeline_.job.settings.force_rerun;
  rec.workdir = options_.workdir;
  rec.project = options_.project;
  rec.tags = options_.tags;
  for (auto& [key, value] : rec.tags) value = redact_.Apply(std::move(value));
  rec.owner = engine_.owner_;
  rec.submission = redact_.Apply(submission_);  // a secret in a tag or --set is not kept either
  rec.resumes = options_.resumes;
  Result<meta::RunRecord> created = parts_.meta.CreateRun(rec);
  if (!created.ok()) return created.status();
  record_ = *created;
  for (const std::string& w : warnings) Warn(w);
  // The processes of the run's jobs are tracked per target under one group, recorded with the run
  // so that a later weft can stop what this one leaves if it is killed.
  group_ = fmt::format("weft-{}-{}", ToHex(Sha256Of(parts_.ws.dir)).substr(0, 12), record_.id);
  for (const StepRun& r : steps_) {
    if (tracking_.count(r.target)) continue;
    std::string tracking = parts_.targets.executor(r.target).TrackRun(group_);
    tracking_[r.target] = tracking;
    if (!tracking.empty()) s = parts_.meta.PutRunTracking(record_.id, r.target, tracking);
    if (!s.ok()) return s;
  }
  s = parts_.meta.PutRunObjects(record_.id, kept_objects_);
  if (s.ok()) s = MakeDirs(parts_.ws.run_dir(record_.id));
  if (!s.ok()) return s;
  std::string id = record_.id, dir = parts_.ws.dir;
  engine_.Emit([id, dir](Observer& o) { o.OnRunStarted(id, dir); });
  for (const auto& [target, tracking] : tracking_) {
    for (const std::string& w : parts_.targets.executor(target).warnings()) Warn(w);
  }
  for (uint32_t i = 0; i < g_.steps.size(); ++i) {
    StepRun& r = steps_[i];
    r.rec.run_id = record_.id;
    r.rec.index = i;
    r.rec.name = g_.steps[i].name;
    r.rec.component = g_.steps[i].ComponentLabel();
    r.rec.deterministic = plans_[i].command->is_deterministic;
    r.rec.target = r.target;
    r.rec.jobs = static_cast<int64_t>(r.jobs.size());
  }
  // Collect the roots first: Ready() of one root may already make others ready.
  std::vector<uint32_t> roots;
  for (uint32_t i = 0; i < g_.steps.size(); ++i) {
    if (steps_[i].producers.empty()) roots.push_back(i);
  }
  for (uint32_t i : roots) {
    ready_.push_back(i);
  }
  Drain();
  // What is still pending gets its row now, so that `weft show` of a running run lists every
  // step (a run reused whole writes none here).
  for (uint32_t i = 0; i < steps_.size() && error_.ok(); ++i) {
    if (steps_[i].st != StepStatus::kPending) continue;
    steps_[i].rec.status = StepStatus::kPending;
    Save(i);
  }
  return error_;
}

// ---- Readiness, reuse, the end of a step -------------------------------------------------------

// Called when every producer of step i has finished.
void Run::Ready(uint32_t i) {
  StepRun& r = steps_[i];
  const graph::Step& step = g_.steps[i];
  if (canceled_ || (halted_ && i != g_.on_finalize)) {
    return Finish(i, canceled_ ? StepStatus::kCanceled : StepStatus::kSkipped,
                  canceled_ ? "the run was canceled" : "an earlier step failed");
  }
  // A producer that did not produce: skip, unless only optional inputs came from it and the
  // pipeline continues on failure (or this is on_finalize).
  for (uint32_t p : r.producers) {
    if (meta::Produced(steps_[p].st) || i == g_.on_finalize) continue;
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
  parts_.meta.PutFingerprint(r.fp.digest, fields).ok();
  RecordInputs(i);
  if (!r.selected) {
    return Finish(i, StepStatus::kSkipped, fmt::format("not selected (--{}) and no reusable result",
                                                       options_.only.empty() ? "until" : "only"));
  }
  if (!options_.resumes.empty()) FindAdoptable(i);
  if (r.shareable && !Claim(i)) {
    waiting_.push_back(i);
    r.st = StepStatus::kWaiting;
    Record(i);
    return;
  }
  Queue(i);
}

Slot Run::SlotOf(uint32_t i, int job) const {
  return Slot{this, i, job, steps_[i].target, plans_[i].needs};
}

void Run::ReleaseSlot(uint32_t i, int job) { engine_.scheduler_->Release(SlotOf(i, job)); }

// Every job of step i waits for capacity on its target.
void Run::Queue(uint32_t i) {
  if (plans_[i].sweep) return ReleaseTrials(i);  // as its limits allow
  for (size_t k = 0; k < steps_[i].jobs.size(); ++k) {
    engine_.scheduler_->Enqueue(SlotOf(i, static_cast<int>(k)));
  }
}

void Run::Finish(uint32_t i, StepStatus st, std::string message) {
  StepRun& r = steps_[i];
  if (r.claimed) {  // in the same commit as the step's outputs: waiters then find them
    parts_.meta.ReleaseClaims(record_.id, ClaimKey(i)).ok();
    r.claimed = false;
  }
  r.st = st;
  ++finished_[st];
  ++done_;
  r.rec.finished_ns = Now();
  if (!message.empty()) r.rec.message = std::move(message);
  Record(i, r.rec.started_ns ? (r.rec.finished_ns - r.rec.started_ns) / 1e9 : 0);
  if (st == StepStatus::kFailed || st == StepStatus::kTimedOut) {
    failed_ = true;
    if (!pipeline_.job.settings.continue_on_step_failure) Halt("an earlier step failed");
  }
  for (uint32_t c : r.consumers) {
    if (--steps_[c].waiting == 0) ready_.push_back(c);
  }
  Drain();
}

// Drains iteratively: a chain of reused steps must not become a chain of nested calls.
void Run::Drain() {
  if (draining_) return;
  draining_ = true;
  while (!ready_.empty()) {
    uint32_t next = ready_.front();
    ready_.pop_front();
    Ready(next);
  }
  draining_ = false;
}

// Stops starting steps; running ones are stopped (canceled), waiting and queued ones skipped (or
// canceled, when the run is). on_finalize still runs.
void Run::Halt(const std::string& why) {
  if (halted_) return;
  halted_ = true;
  StepStatus st = canceled_ ? StepStatus::kCanceled : StepStatus::kSkipped;
  for (uint32_t i = 0; i < steps_.size(); ++i) {
    if (i != g_.on_finalize) StopJobs(i);
  }
  std::vector<uint32_t> waiting;
  waiting.swap(waiting_);
  for (uint32_t i : waiting) Finish(i, st, why);
  for (const Slot& slot : engine_.scheduler_->Drain(this)) {
    if (slot.step == g_.on_finalize && !canceled_) {
      engine_.scheduler_->Enqueue(slot);
    } else {
      JobEnded(slot.step, slot.job, st, why);
    }
  }
}

// Stops the run: everything running now is stopped (at once with `now`), nothing else starts.
void Run::Cancel(bool now, bool interrupted) {
  if (ended()) return;
  killed_ = killed_ || now;
  if (!canceled_) {
    canceled_ = true;
    interrupted_ = interrupted;
    bool was_halted = halted_;
    Halt(interrupted ? "the run was interrupted" : "the run was canceled");
    if (was_halted) {  // halted by a failure: what it let through (on_finalize) goes too
      for (const Slot& slot : engine_.scheduler_->Drain(this)) {
        JobEnded(slot.step, slot.job, StepStatus::kCanceled, "the run was canceled");
      }
    }
  }
  for (uint32_t i = 0; i < steps_.size(); ++i) StopJobs(i);
}

// Asks the executor to stop step i's running jobs (once; again only to kill them at once).
void Run::StopJobs(uint32_t i) {
  for (JobRun& j : steps_[i].jobs) {
    if (!j.running || (j.stopping && (j.killed || !killed_))) continue;
    parts_.targets.executor(steps_[i].target).Cancel(j.handle, killed_);
    j.stopping = true;
    j.killed = killed_;
  }
}

// One job of step i has ended for good (not to be retried).
void Run::JobEnded(uint32_t i, int job, StepStatus st, std::string message) {
  StepRun& r = steps_[i];
  JobRun& j = r.jobs[job];
  j.status = st;
  j.message = plans_[i].sweep ? TrialNote(i, job, message) : std::move(message);
  if (j.finished_ns == 0) j.finished_ns = Now();
  if (!single(i)) RecordJob(i, job);
  if (plans_[i].sweep) {
    ReleaseTrials(i);
    NoteTrials(i);
  }
  for (const JobRun& other : r.jobs) {
    if (other.running || !meta::Ended(other.status)) return;
  }
  StepJobsEnded(i);
}

// Every job of step i has ended: the step's status is derived from theirs (the worst of them;
// succeeded only when all did, and then its outputs are committed).
void Run::StepJobsEnded(uint32_t i) {
  StepRun& r = steps_[i];
  const JobRun* worst = nullptr;
  auto rank = [](StepStatus s) {
    switch (s) {
      case StepStatus::kFailed: return 5;
      case StepStatus::kTimedOut: return 4;
      case StepStatus::kCanceled: return 3;
      case StepStatus::kSkipped: return 2;
      default: return 1;
    }
  };
  for (const JobRun& j : r.jobs) {
    if (worst == nullptr || rank(j.status) > rank(worst->status)) worst = &j;
  }
  if (!single(i)) {  // the first job's non-zero exit, else 0 once one exited
    r.rec.exit_code = -1;
    for (const JobRun& j : r.jobs) {
      if (j.exit_code > 0) {
        r.rec.exit_code = j.exit_code;
        break;
      }
      if (j.exit_code == 0) r.rec.exit_code = 0;
    }
  }
  StepStatus st = worst->status;
  // Trials may fail: the sweep succeeds with its best trial, unless the run stopped some of them
  // (a failure elsewhere): a sweep cut short that way is not a result to keep or reuse.
  bool cut = std::any_of(r.jobs.begin(), r.jobs.end(), [](const JobRun& j) {
    return j.status == StepStatus::kSkipped || (j.status == StepStatus::kCanceled && j.stop_note.empty());
  });
  if (plans_[i].sweep && !canceled_ && !cut) {
    std::string why = ChooseTrial(i);
    if (!why.empty()) return Finish(i, StepStatus::kFailed, std::move(why));
    st = StepStatus::kSucceeded;
  }
  if (st != StepStatus::kSucceeded) {
    std::string message = worst->message;
    if (!single(i)) message = fmt::format("job {}: {}", worst - r.jobs.data(), message);
    return Finish(i, st, std::move(message));
  }
  if (plans_[i].parallel) {
    std::string why = GatherBatches(i);
    if (!why.empty()) return Finish(i, StepStatus::kFailed, std::move(why));
  }
  Status s = CommitOutputs(i);
  if (s.ok()) s = PublishOutputs(i);
  if (s.ok()) {
    s = assets::RegisterStepOutputs(parts_.meta, record_.id, record_.project, g_.steps[i], r.outputs);
  }
  if (!s.ok()) return Finish(i, StepStatus::kFailed, s.message());
  for (const auto& [name, ref] : r.outputs) {
    Result<store::Seal> seal = parts_.store.SealOf(ref.digest);
    meta::OutputRecord o{name, ToHex(ref.digest), ref.type, ref.name, static_cast<int64_t>(ref.bytes),
                         seal.ok() ? *seal : store::Seal{}};
    parts_.meta.PutOutput(record_.id, i, o).ok();
  }
  Finish(i, StepStatus::kSucceeded, r.rec.message);
}

// ---- Outputs -----------------------------------------------------------------------------------

Status Run::CommitOutputs(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  StepRun& r = steps_[i];
  // Check every output before committing any: a failed step's outputs never enter the store.
  // The implicit `artifacts` output is the working folder's outputs/ and logs/, as in Azure ML.
  const std::vector<std::string> kArtifacts = {"outputs", "logs"};
  std::vector<std::string> staged_paths;
  for (const graph::StepOutput& o : step.outputs) {
    bool artifacts = o.name == "artifacts";
    std::string staged = artifacts ? ArtifactsDir(i) : OutputsDir(i) + "/out." + o.name;
    if (o.type == spec::PortType::kUriFile && !artifacts) {
      staged += "/" + o.FileName();
      if (StatPath(staged) != PathKind::kFile) {
        return Status::Invalid(fmt::format("output {} is a uri_file, but the step wrote no file at "
                                           "{}",
                                           o.name, staged));
      }
    }
    Status check = parts_.store.Check(staged, artifacts ? kArtifacts : std::vector<std::string>{});
    if (!check.ok()) return Status(check.code(), fmt::format("output {}: {}", o.name, check.message()));
    staged_paths.push_back(staged);
  }
  for (size_t k = 0; k < step.outputs.size(); ++k) {
    const graph::StepOutput& o = step.outputs[k];
    Result<store::ObjectRef> ref = parts_.store.Commit(
        staged_paths[k], o.name == "artifacts" ? kArtifacts : std::vector<std::string>{});
    if (!ref.ok()) {
      return Status(ref.status().code(), fmt::format("output {}: {}", o.name, ref.status().message()));
    }
    r.outputs[o.name] = *ref;
  }
  return Status::Ok();
}

// Outputs whose settings name a datastore path get a link there to their stored object.
Status Run::PublishOutputs(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  std::string ds = pipeline_.job.settings.default_datastore;
  if (ds.rfind("azureml:", 0) == 0) ds = ds.substr(8);
  for (const graph::StepOutput& o : step.outputs) {
    if (o.PublishPath().empty()) continue;
    assets::OutputPlace place{step.node->name, o.name, ds.empty() ? "workspaceblobstore" : ds};
    Status s = assets::PublishToDatastore(parts_.ws, o.PublishPath(), place,
                                          parts_.store.DeliveryPath(steps_[i].outputs.at(o.name)));
    if (!s.ok()) return Status(s.code(), fmt::format("output {}: {}", o.name, s.message()));
  }
  return Status::Ok();
}

// ---- Reuse: of an earlier success, of the run being resumed, of what a concurrent run computes --

// The object an earlier attempt recorded as an output, if it is still in the store as it was
// sealed: reuse checks metadata cheaply; only a changed seal makes the store read the content.
std::optional<store::ObjectRef> Run::SealedOutput(const std::string& run, int64_t index,
                                                  const meta::OutputRecord& o) {
  std::optional<store::ObjectRef> ref = o.Ref();
  std::optional<store::Seal> seal = ref ? parts_.store.Verify(*ref, o.seal) : std::nullopt;
  if (!seal) return std::nullopt;
  if (*seal != o.seal) {  // verified by content (a copied workspace): keep the new seal
    meta::OutputRecord resealed = o;
    resealed.seal = *seal;
    parts_.meta.PutOutput(run, index, resealed).ok();  // failing to keep it costs one more check
  }
  return ref;
}

// `weft resume`: a step that succeeded in the run being resumed, with the same fingerprint, is not
// run again, whatever forces reruns otherwise (--force, force_rerun, non-deterministic).
bool Run::ReuseResumed(uint32_t i) {
  StepRun& r = steps_[i];
  Result<std::optional<meta::StepRecord>> before =
      parts_.meta.FindStep(options_.resumes, g_.steps[i].name);
  if (!before.ok() || !*before || (*before)->fingerprint != r.fp.digest ||
      !meta::Produced((*before)->status)) {
    return false;
  }
  auto [src_run, src_idx] = (*before)->ResultAttempt();
  Result<std::vector<meta::OutputRecord>> outs = parts_.meta.Outputs(src_run, src_idx);
  if (!outs.ok()) return false;
  std::map<std::string, store::ObjectRef> refs;
  for (const meta::OutputRecord& o : *outs) {
    std::optional<store::ObjectRef> ref = SealedOutput(src_run, src_idx, o);
    if (!ref) return false;
    refs[o.name] = *ref;
  }
  r.outputs = std::move(refs);
  r.rec.reused_run = src_run;
  r.rec.reused_index = src_idx;
  r.rec.message = fmt::format("succeeded in {}, which this run resumes", options_.resumes);
  return true;
}

bool Run::TryReuse(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  StepRun& r = steps_[i];
  if (!options_.resumes.empty() && ReuseResumed(i)) return true;
  bool allowed = plans_[i].command->is_deterministic && !pipeline_.job.settings.force_rerun &&
                 !options_.force && options_.force_steps.count(step.name) == 0;
  r.shareable = allowed;
  if (!allowed) {
    r.rec.message = !plans_[i].command->is_deterministic ? "the component is not deterministic"
                    : pipeline_.job.settings.force_rerun ? "settings.force_rerun is set"
                    : options_.force                     ? "forced by --force"
                                                         : "forced by --force-step";
    return false;
  }
  Result<std::vector<meta::ReuseCandidate>> cands =
      parts_.meta.ReuseCandidates(r.fp.digest, options_.project);
  if (!cands.ok()) return false;
  for (const meta::ReuseCandidate& c : *cands) {
    bool intact = true;
    std::map<std::string, store::ObjectRef> refs;
    for (const meta::OutputRecord& o : c.outputs) {
      std::optional<store::ObjectRef> ref = SealedOutput(c.run_id, c.index, o);
      intact = ref.has_value();
      if (!intact) break;
      refs[o.name] = *ref;
    }
    if (!intact) continue;
    r.outputs = std::move(refs);
    r.rec.reused_run = c.run_id;
    r.rec.reused_index = c.index;
    r.rec.message = fmt::format("reused from {} step {}", c.run_id, c.name);
    return true;
  }
  r.rec.message = cands->empty() ? "no earlier success with this fingerprint"
                                 : "earlier results with this fingerprint are no longer intact";
  return false;
}

void Run::FinishReused(uint32_t i) {
  Status registered = assets::RegisterStepOutputs(parts_.meta, record_.id, record_.project,
                                                  g_.steps[i], steps_[i].outputs);
  if (!registered.ok()) return Finish(i, StepStatus::kFailed, registered.message());
  Finish(i, StepStatus::kReused, steps_[i].rec.message);
}

std::string Run::ClaimKey(uint32_t i) const {
  const std::string& fp = steps_[i].fp.digest;
  return options_.project == "local" ? fp : options_.project + "/" + fp;
}

// Claims step i's fingerprint for this run; false when another live run holds it (the step then
// waits for it). A holder whose process died, or whose heartbeat stopped, is taken over.
bool Run::Claim(uint32_t i) {
  StepRun& r = steps_[i];
  meta::Claim mine{ClaimKey(i), record_.id, i, record_.owner, Now()};
  Result<meta::Claim> holder = parts_.meta.Claim(mine);
  if (!holder.ok()) {
    if (error_.ok()) error_ = holder.status();
    return true;
  }
  if (holder->run_id != record_.id && HolderGone(*holder)) {
    Status s = parts_.meta.TakeOverClaim(mine, holder->owner);
    Result<std::optional<meta::Claim>> now = parts_.meta.ClaimOn(ClaimKey(i));
    if (s.ok() && now.ok() && *now) holder = **now;
  }
  r.claimed = holder->run_id == record_.id;
  if (!r.claimed) {
    r.rec.message = fmt::format("waiting for run {}, which is computing the same step", holder->run_id);
  }
  return r.claimed;
}

bool Run::HolderGone(const meta::Claim& c) const {
  if (c.owner == record_.owner) return !engine_.Hosts(c.run_id);  // this engine's own runs
  constexpr int64_t kSilentNs = 60'000'000'000;  // heartbeats come every 10 s
  return SameBoot(parts_.os, c.owner) ? !OwnerAlive(parts_.os, c.owner)
                                      : Now() - c.heartbeat_ns > kSilentNs;
}

// Steps waiting for another run's claim: once it is gone, reuse what that run made, or (it failed,
// or died) claim the step and run it here.
void Run::CheckWaiting() {
  // Steps that become ready meanwhile (a reused one's consumers) may join waiting_ as this goes.
  std::vector<uint32_t> waiting;
  waiting.swap(waiting_);
  for (uint32_t i : waiting) {
    Result<std::optional<meta::Claim>> c = parts_.meta.ClaimOn(ClaimKey(i));
    if (c.ok() && *c && (*c)->run_id != record_.id && !HolderGone(**c)) {
      waiting_.push_back(i);
      continue;
    }
    if (TryReuse(i)) {
      FinishReused(i);
    } else if (Claim(i)) {
      steps_[i].st = StepStatus::kPending;
      Queue(i);
    } else {
      waiting_.push_back(i);
    }
  }
}

// ---- The run's end, progress, dry runs ---------------------------------------------------------

Status Run::Finish(RunResult* result) {
  int code = canceled_ ? kExitCanceled : failed_ ? kExitStepFailed : kExitOk;
  meta::RunStatus status = interrupted_ ? meta::RunStatus::kInterrupted
                           : canceled_  ? meta::RunStatus::kCanceled
                           : failed_ ? meta::RunStatus::kFailed
                                     : meta::RunStatus::kSucceeded;
  Status s = parts_.meta.ReleaseClaims(record_.id);
  if (s.ok()) s = parts_.meta.FinishRun(record_.id, status, code, Now());
  if (!s.ok()) return s;
  for (const auto& [target, tracking] : tracking_) {
    parts_.targets.executor(target).ReleaseRun(tracking);
  }
  *result = RunResult{record_.id, status, code};
  return error_;
}

Progress Run::progress() const {
  Progress p;
  p.run_id = record_.id;
  p.total = g_.steps.size();
  auto count = [&](StepStatus s) {
    auto it = finished_.find(s);
    return it == finished_.end() ? size_t{0} : it->second;
  };
  p.succeeded = count(StepStatus::kSucceeded);
  p.reused = count(StepStatus::kReused);
  p.failed = count(StepStatus::kFailed) + count(StepStatus::kTimedOut);
  p.other = count(StepStatus::kSkipped) + count(StepStatus::kCanceled);
  p.queued = engine_.scheduler_->queued(this);
  // The steps with a job running, found among the engine's running jobs (not by walking every
  // step: this is computed at every pass).
  std::vector<uint32_t> running;
  for (const auto& [handle, ref] : engine_.handles_) {
    if (ref.run == this) running.push_back(ref.step);
  }
  std::sort(running.begin(), running.end());
  running.erase(std::unique(running.begin(), running.end()), running.end());
  int64_t now = Now();
  for (uint32_t i : running) {
    p.running.push_back({g_.steps[i].name, (now - steps_[i].rec.started_ns) / 1e9, steps_[i].progress_note});
  }
  return p;
}

Status Run::DryRun() {
  Status s = Wire();
  if (!s.ok()) return s;
  std::vector<uint32_t> order = graph::TopologicalOrder(g_);
  for (uint32_t i : order) {
    StepRun& r = steps_[i];
    std::string upstream;
    for (uint32_t p : g_.steps[i].deps) {
      if (steps_[p].st != StepStatus::kReused) upstream = g_.steps[p].name;
    }
    PlannedStep planned{g_.steps[i].name, false, ""};
    if (!upstream.empty()) {
      planned.why = fmt::format("upstream {} runs first", upstream);
    } else {
      Fingerprinted(i);
      if (TryReuse(i)) {
        r.st = StepStatus::kReused;
        planned.reuse = true;
        planned.why = r.rec.message;
      } else {
        planned.why = r.rec.message;
        Result<std::optional<meta::StepRecord>> prev = parts_.meta.PreviousStep(
            options_.project, options_.experiment, g_.steps[i].name, g_.steps[i].ComponentLabel(),
            INT64_MAX);
        if (prev.ok() && *prev) {
          Result<queries::Fields> before = parts_.meta.FingerprintFields((*prev)->fingerprint);
          if (before.ok()) {
            std::vector<std::string> diff =
                queries::DiffFields(r.fp.fields, *before, parts_.store, parts_.meta);
            if (!diff.empty()) {
              planned.why.clear();
              for (const std::string& d : diff) planned.why += (planned.why.empty() ? "" : "; ") + d;
            }
          }
        }
      }
    }
    engine_.Emit([planned](Observer& o) { o.OnPlanned(planned); });
  }
  return Status::Ok();
}

}  // namespace weft::engine
