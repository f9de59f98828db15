// Cgroups that hold every process of a step attempt, however deep.
//
// A process cannot leave its cgroup by forking, daemonising, changing its session or process
// group, or outliving its parent; so weft (or a later weft, after this one was killed) finds and
// stops every process a step started by looking at the attempt's cgroup, and knows the attempt
// has ended when the cgroup is empty.
//
// weft uses the cgroup v2 hierarchy for this alone: no controller is needed (cgroup.procs,
// cgroup.events and cgroup.kill exist in every v2 cgroup; hybrid layouts mount the hierarchy at
// /sys/fs/cgroup/unified). The folders go below the cgroup weft itself is in, so the limits that
// apply to weft apply to its steps:
//   <weft's cgroup>/<run group>/<job>     e.g. .../weft-1a2b3c4d5e6f-r12/3.1
// Creating them needs root or a delegated subtree; where that fails, the local executor falls back
// to a PID namespace (exec/local.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/executor.h"

namespace weft::exec {

class Cgroups {
 public:
  // The cgroup v2 folder of this process, when cgroups can be made below it (the hierarchy is
  // mounted and writable here); nullopt otherwise.
  static std::optional<Cgroups> Open();
  explicit Cgroups(std::string base) : base_(std::move(base)) {}

  // Where the cgroup `name` (one or two levels: "run-group" or "run-group/job") is.
  std::string PathOf(const std::string& name) const { return base_ + "/" + name; }

  // Creates the cgroup (and, the first time, its parent folder); returns an open descriptor of
  // its folder, for a new process to be born in it (exec/spawn.h). The caller closes it.
  Result<int> Create(const std::string& name);

  // Whether any process is in the cgroup at `path` (false when there is no such cgroup).
  static bool Populated(const std::string& path);
  // The processes in it now.
  static std::vector<int64_t> Processes(const std::string& path);
  // Sends `sig` to every process in it; SIGKILL goes through cgroup.kill, which no fork escapes.
  static void Signal(const std::string& path, int sig);
  // Removes an empty cgroup (and, with `children`, the empty cgroups below it first). Missing is
  // fine.
  static void Remove(const std::string& path, bool children = false);

  // Stops every process in the cgroup at `path` and in every cgroup below it: SIGTERM, then after
  // `grace_ms` (or at once when 0) SIGKILL; waits up to 5 s more for them to go, then removes the
  // cgroups. For a run whose weft is gone, and for `weft cancel`.
  static Stopped Stop(const std::string& path, int64_t grace_ms);

 private:
  std::string base_;
  std::string made_parent_;  // the last parent folder made, not made again
};

}  // namespace weft::exec
