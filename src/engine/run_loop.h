// The run loop behind Engine::Run, shared by engine.cc (scheduling, launching, recording) and
// reuse.cc (reuse, resume and claims). Internal to the engine.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/fingerprint.h"
#include "engine/plan.h"
#include "engine/secrets.h"
#include "engine/substitute.h"
#include "exec/executor.h"
#include "meta/meta.h"

namespace weft::engine {

using meta::StepStatus;

struct StepRun {
  StepStatus st = StepStatus::kPending;
  int waiting = 0;
  std::vector<uint32_t> producers;  // graph dependencies plus on_init / on_finalize ordering
  std::vector<uint32_t> consumers;
  bool selected = true;
  bool queued = false;
  std::map<std::string, store::ObjectRef> outputs;
  Fingerprint fp;
  uint64_t handle = 0;
  std::string dir;  // attempt folder
  std::vector<int64_t> gpu_ids;
  int64_t retry_at_ns = 0;  // waiting to be tried again (weft.retries) at this time
  bool shareable = false;   // its result may be reused, so concurrent runs compute it once
  bool claimed = false;     // this run holds the claim on its fingerprint
  meta::StepRecord rec;
};

class RunLoop {
 public:
  RunLoop(const ws::Workspace& ws, meta::MetaStore& meta, store::Store& store, exec::Executor& ex,
          Observer& obs, const spec::LoadedPipeline& p, const graph::Graph& g,
          std::vector<StepPlan> plans, const RunOptions& o, Capacity cap, std::string submission,
          std::vector<std::string> kept_objects)
      : ws_(ws), meta_(meta), store_(store), ex_(ex), obs_(obs), pipeline_(p), g_(g),
        plans_(std::move(plans)), opts_(o), cap_(cap), runs_(g.steps.size()),
        submission_(std::move(submission)), kept_objects_(std::move(kept_objects)) {
    std::vector<std::pair<std::string, std::string>> set;
    for (const StepPlan& plan : plans_) set.insert(set.end(), plan.env_vars.begin(), plan.env_vars.end());
    redact_ = Redactor::ForSecrets(ws.config.secrets, set);
  }

  ~RunLoop() {
    if (!group_.empty()) ex_.ReleaseGroup(group_);
  }

  Result<RunResult> Go();
  // Says, step by step, what a run would reuse and what it would run, and why; runs nothing and
  // writes no run.
  Result<RunResult> DryRun();

 private:
  Status Wire();
  void Ready(uint32_t i);
  bool Fingerprinted(uint32_t i);
  std::optional<Value> InputValue(uint32_t i, const graph::StepInput& in) const;
  void Launch(std::vector<uint32_t>& started);
  Status Start(uint32_t i);
  void End(const exec::JobEnd& end);
  Status CommitOutputs(uint32_t i);
  Status PublishOutputs(uint32_t i);
  bool Retry(uint32_t i, const std::string& why);
  int64_t DueRetries();
  void RecordMetrics(uint32_t i);
  void Finish(uint32_t i, StepStatus st, std::string message);
  void Halt(const std::string& why);
  void Record(uint32_t i);
  void RecordInputs(uint32_t i);
  void ReportProgress();
  void Release(uint32_t i);
  bool TryReuse(uint32_t i);
  bool ReuseResumed(uint32_t i);
  // The stored object of output `o` of attempt (run, index) if it is intact: its seal (inode and
  // mtime) as recorded, or else its content still hashing to its name (then resealed).
  std::optional<store::ObjectRef> SealedOutput(const std::string& run, int64_t index,
                                               const meta::OutputRecord& o);
  void FinishReused(uint32_t i);
  bool Claim(uint32_t i);
  bool HolderGone(const meta::Claim& c) const;
  void CheckWaiting();
  void Heartbeat();

  const ws::Workspace& ws_;
  meta::MetaStore& meta_;
  store::Store& store_;
  exec::Executor& ex_;
  Observer& obs_;
  const spec::LoadedPipeline& pipeline_;
  const graph::Graph& g_;
  std::vector<StepPlan> plans_;
  const RunOptions& opts_;
  Redactor redact_;  // applied to everything written about a step: logs, fields, values, messages
  Capacity cap_;
  std::vector<StepRun> runs_;
  std::string submission_;  // recorded with the run, for `weft resume`
  std::vector<std::string> kept_objects_;  // code snapshots and submitted paths (hex digests)
  std::deque<uint32_t> queue_;    // fingerprinted, waiting for capacity
  std::deque<uint32_t> ready_;    // producers finished, not yet looked at
  std::vector<uint32_t> retrying_;  // failed attempts waiting for their next try
  std::vector<uint32_t> waiting_;   // waiting for another run computing the same fingerprint
  int64_t next_heartbeat_ns_ = 0;
  bool draining_ = false;
  std::map<uint64_t, uint32_t> by_handle_;
  Capacity used_{0, 0, 0};
  std::vector<bool> gpu_busy_;
  meta::RunRecord run_;
  std::string group_;  // where the executor tracks the processes of the run's jobs
  std::map<StepStatus, size_t> finished_;  // how many steps ended in each state
  bool halted_ = false;
  bool failed_ = false;
  bool canceled_ = false;
  bool killed_ = false;  // a second interrupt: running steps were killed without a grace period
  Status error_;
};

}  // namespace weft::engine
