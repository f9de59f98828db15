// Fair admission of jobs to compute targets.
//
// Ready jobs wait in their run's queue, in the order they became ready. Within each target's
// capacity (CPUs, memory, GPUs) the next job comes from the project with the fewest jobs running
// on that target, then, within it, the user with the fewest, then the run with the fewest (the
// longest unserved first among equals): two runs of 100 ready steps interleave, and neither waits
// for the other to finish. The hierarchy is there from the start so that a server adds projects,
// users and their quotas without changing it; locally there is one of each. A job that does not
// fit now (it needs more memory than is free, or more than its project's quota leaves) lets
// smaller ones of the same run pass it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "exec/executor.h"

namespace weft::engine {

// A job waiting for, or holding, capacity: which run (an opaque owner), step and job.
struct Slot {
  const void* run = nullptr;
  uint32_t step = 0;
  int job = 0;
  std::string target;
  exec::Needs needs;
};

class Scheduler {
 public:
  // A target and what it can run at once.
  void AddTarget(const std::string& name, const exec::Capacity& capacity);
  // A project's limits over all targets together (0: none), as a server's admins set them.
  struct Quota {
    double cpus = 0;
    int64_t gpus = 0;
    int64_t memory_mb = 0;
    int64_t running = 0;  // jobs
  };
  void SetQuota(const std::string& project, const Quota& quota);
  // A run and who it is for.
  void AddRun(const void* run, const std::string& project, const std::string& user);
  // Forgets a run (its queued jobs are dropped; it holds no capacity any more).
  void RemoveRun(const void* run);

  void Enqueue(const Slot& slot);
  // Drops a run's queued jobs (only those of `step` when given) and returns them (a canceled or
  // halted run; a sweep whose time is up).
  std::vector<Slot> Drain(const void* run, std::optional<uint32_t> step = std::nullopt);
  // The jobs to start now, in order; each holds its capacity until Release.
  std::vector<Slot> Admit();
  void Release(const Slot& slot);

  size_t queued(const void* run) const;
  // Why each step of `run` with a job waiting still waits, for people ("waiting: project quota
  // (8 of 8 CPUs in use)", "waiting: fair share, 3 ahead", "waiting: target `local` is full (4 of
  // 4 CPUs in use)"), by step, for its first waiting job.
  std::map<uint32_t, std::string> Waiting(const void* run) const;

 private:
  struct Use {
    exec::Needs used{0, 0, 0};
    std::map<std::string, int64_t> running;  // by "p:<project>", "u:<project>/<user>", "r:<ptr>"
  };
  struct RunQueues {
    std::string project, user;
    std::map<std::string, std::deque<Slot>> by_target;
    uint64_t served = 0;  // when it last had a job admitted (a tick)
    size_t size = 0;
  };
  bool Fits(const std::string& target, const exec::Needs& n) const;
  bool WithinQuota(const std::string& project, const exec::Needs& n) const;
  // The order Admit serves runs waiting on `target` in (smaller first).
  std::tuple<int64_t, int64_t, int64_t, uint64_t> Order(const std::string& target,
                                                        const RunQueues& q, const void* run) const;
  void Count(const Slot& slot, int64_t delta);

  std::map<std::string, exec::Capacity> capacity_;
  std::map<std::string, Use> use_;
  std::map<std::string, Quota> quotas_;
  struct ProjectUse {
    exec::Needs used{0, 0, 0};
    int64_t running = 0;
  };
  std::map<std::string, ProjectUse> projects_;  // over all targets
  std::map<const void*, RunQueues> runs_;
  uint64_t tick_ = 0;
};

}  // namespace weft::engine
