// Starting one process.
//
// Like posix_spawn, the child shares weft's memory until it execs (clone with CLONE_VM and
// CLONE_VFORK), so nothing is copied however large weft is. Unlike posix_spawn, the child is born
// in the attempt's cgroup (clone3 with CLONE_INTO_CGROUP: no migration, which costs a quarter of a
// millisecond; where clone3 is not available, it joins the cgroup before it execs), and it can
// do before it execs what weft needs of a step's process: enter a new mount namespace where the
// workspace is read-only and the attempt folder writable (the sandbox, without starting
// bubblewrap), raise its stack limit (the space Linux gives a program's arguments is a quarter
// of it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace weft::exec {

// Folders to bind in a new mount namespace: `writable` as they are, then `read_only` (which may
// hold writable ones) read-only. Everything else stays as weft sees it. With `overlay_lower`, an
// overlay then shows that folder's files in `overlay_on`, which keeps whatever the process writes
// (its upper layer) while the lower folder never changes; `overlay_scratch` is an empty folder on
// the same file system that overlayfs works in. Last, with `hide`, that folder shows as an empty
// read-only one, but for the paths in `keep` below it, which show as they were (read-only, or
// writable among `writable`).
struct Mounts {
  std::vector<std::string> read_only;
  std::vector<std::string> writable;
  std::string overlay_lower, overlay_on, overlay_scratch;
  std::string hide;
  std::vector<std::string> keep;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program's absolute path
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  std::string cwd;
  int out_fd = -1;                // stdout and stderr (stdin is /dev/null)
  pid_t pgid = 0;                 // the process group to join; 0: a new one, led by the process
  int cgroup_fd = -1;             // a cgroup v2 folder (open, O_DIRECTORY): the process starts in it
  const Mounts* mounts = nullptr;  // a new mount namespace with these binds
  uint64_t stack_bytes = 0;       // raise the soft stack limit to at least this (0: leave it)
};

// Starts the process; every signal has its default action in it and none is blocked. Fails
// (naming what failed: the cgroup, a mount, the folder, the program) without leaving a process.
Result<pid_t> Spawn(const ProcessSpec& spec);

// Whether this process may make mount namespaces (it is root, or has CAP_SYS_ADMIN), checked once
// by starting /bin/true in one.
bool CanMakeMountNamespaces();

}  // namespace weft::exec
