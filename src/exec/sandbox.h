// bubblewrap (Debian `bubblewrap`), the only user of it.
//
// Where weft may not make mount namespaces and cgroups itself (it is not root), a step runs under
// bubblewrap: in a mount namespace where the workspace is read-only and the attempt folder
// writable (the sandbox), and in its own PID namespace whose first process dies with weft
// (`--die-with-parent`), taking every process of the step with it.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "exec/spawn.h"

namespace weft::exec {

// The argv that runs `argv` under bubblewrap, with `sandbox`'s binds (none when null) and, with
// `pid_namespace`, in a new PID namespace.
std::vector<std::string> BubblewrapArgv(const Mounts* sandbox, bool pid_namespace,
                                        const std::vector<std::string>& argv);

// Checks (by running it once) that bubblewrap is installed and can do that here; the error says how to fix it.
Status CheckBubblewrap(bool sandbox, bool pid_namespace);

}  // namespace weft::exec
