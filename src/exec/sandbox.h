// The sandbox a step runs in: bubblewrap (Debian `bubblewrap`), the only user of it.
//
// Read-only permission bits do not stop root, so a step runs in a mount namespace where the whole
// filesystem is as before except the folders it must not change (the workspace: store, database,
// other runs), which are mounted read-only, and the folders it must write (its attempt folder),
// which stay writable. Nothing else changes: same users, same network, same devices, same PIDs.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace weft::exec {

struct Sandbox {
  std::vector<std::string> read_only;  // mounted read-only, in this order
  std::vector<std::string> writable;   // then these, writable again (inside read-only ones)
};

// The argv that runs `argv` inside `sandbox`.
std::vector<std::string> SandboxedArgv(const Sandbox& sandbox, const std::vector<std::string>& argv);

// Checks once that bubblewrap is installed and can make a sandbox here (it needs mount
// namespaces: root, or unprivileged user namespaces); the error says how to fix or opt out.
Status CheckSandbox();

}  // namespace weft::exec
