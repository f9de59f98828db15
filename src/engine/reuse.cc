// Reuse: of an earlier success with the same fingerprint, of the run being resumed, and of what
// a concurrent run computes for the same fingerprint (claims).
#include <fmt/format.h>

#include "base/clock.h"
#include "assets/registry.h"
#include "engine/resume.h"
#include "engine/run_loop.h"

namespace weft::engine {

// The object an earlier attempt recorded as an output, if it is still in the store as it was
// sealed (same inode and modification time): reuse checks metadata cheaply; only fsck reads
// contents.
std::optional<store::ObjectRef> RunLoop::SealedOutput(const std::string& run, int64_t index,
                                                      const meta::OutputRecord& o) {
  std::optional<store::ObjectRef> ref = o.Ref();
  std::optional<store::Seal> seal = ref ? store_.Verify(*ref, o.seal) : std::nullopt;
  if (!seal) return std::nullopt;
  if (*seal != o.seal) {  // verified by content (a copied workspace): keep the new seal
    meta::OutputRecord resealed = o;
    resealed.seal = *seal;
    meta_.PutOutput(run, index, resealed).ok();  // failing to keep it costs one more check
  }
  return ref;
}

// `weft resume`: a step that succeeded in the run being resumed, with the same fingerprint, is not
// run again, whatever forces reruns otherwise (--force, force_rerun, non-deterministic).
bool RunLoop::ReuseResumed(uint32_t i) {
  StepRun& r = runs_[i];
  Result<std::optional<meta::StepRecord>> before = meta_.FindStep(opts_.resumes, g_.steps[i].name);
  if (!before.ok() || !*before || (*before)->fingerprint != r.fp.digest ||
      !meta::Produced((*before)->status)) {
    return false;
  }
  auto [src_run, src_idx] = (*before)->ResultAttempt();
  Result<std::vector<meta::OutputRecord>> outs = meta_.Outputs(src_run, src_idx);
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
  r.rec.message = fmt::format("succeeded in {}, which this run resumes", opts_.resumes);
  return true;
}

bool RunLoop::TryReuse(uint32_t i) {
  const graph::Step& step = g_.steps[i];
  StepRun& r = runs_[i];
  if (!opts_.resumes.empty() && ReuseResumed(i)) return true;
  bool allowed = plans_[i].command->is_deterministic && !pipeline_.job.settings.force_rerun &&
                 !opts_.force && opts_.force_steps.count(step.name) == 0;
  r.shareable = allowed;
  if (!allowed) {
    r.rec.message = !plans_[i].command->is_deterministic ? "the component is not deterministic"
                    : pipeline_.job.settings.force_rerun ? "settings.force_rerun is set"
                    : opts_.force                        ? "forced by --force"
                                                         : "forced by --force-step";
    return false;
  }
  Result<std::vector<meta::ReuseCandidate>> cands = meta_.ReuseCandidates(r.fp.digest);
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

void RunLoop::FinishReused(uint32_t i) {
  Status registered = assets::RegisterStepOutputs(meta_, run_.id, g_.steps[i], runs_[i].outputs);
  if (!registered.ok()) return Finish(i, StepStatus::kFailed, registered.message());
  Finish(i, StepStatus::kReused, runs_[i].rec.message);
}

// Claims step i's fingerprint for this run; false when another live run holds it (the step then
// waits for it). A holder whose process died, or whose heartbeat stopped, is taken over.
bool RunLoop::Claim(uint32_t i) {
  StepRun& r = runs_[i];
  meta::Claim mine{r.fp.digest, run_.id, i, run_.owner, NowNs()};
  Result<meta::Claim> holder = meta_.Claim(mine);
  if (!holder.ok()) {
    if (error_.ok()) error_ = holder.status();
    return true;
  }
  if (holder->owner != run_.owner && HolderGone(*holder)) {
    Status s = meta_.TakeOverClaim(mine, holder->owner);
    Result<std::optional<meta::Claim>> now = meta_.ClaimOn(r.fp.digest);
    if (s.ok() && now.ok() && *now) holder = **now;
  }
  r.claimed = holder->owner == run_.owner;
  if (!r.claimed) {
    r.rec.message = fmt::format("waiting for run {}, which is computing the same step", holder->run_id);
  }
  return r.claimed;
}

bool RunLoop::HolderGone(const meta::Claim& c) const {
  constexpr int64_t kSilentNs = 60'000'000'000;  // heartbeats come every 10 s
  return SameBoot(c.owner) ? !OwnerAlive(c.owner) : NowNs() - c.heartbeat_ns > kSilentNs;
}

// Steps waiting for another run's claim: once it is gone, reuse what that run made, or (it failed,
// or died) claim the step and run it here.
void RunLoop::CheckWaiting() {
  std::vector<uint32_t> still;
  for (uint32_t i : waiting_) {
    Result<std::optional<meta::Claim>> c = meta_.ClaimOn(runs_[i].fp.digest);
    if (c.ok() && *c && (*c)->owner != run_.owner && !HolderGone(**c)) {
      still.push_back(i);
      continue;
    }
    if (TryReuse(i)) {
      FinishReused(i);
    } else if (Claim(i)) {
      runs_[i].queued = true;
      queue_.push_back(i);
    } else {
      still.push_back(i);
    }
  }
  waiting_ = std::move(still);
}

// Every 10 s, so that runs on another machine (another boot) can tell this run still holds its
// claims.
void RunLoop::Heartbeat() {
  if (NowNs() < next_heartbeat_ns_) return;
  meta_.Heartbeat(run_.owner, NowNs()).ok();
  next_heartbeat_ns_ = NowNs() + 10'000'000'000;
}

}  // namespace weft::engine
