#include "exec/sandbox.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/command.h"

namespace weft::exec {
namespace {

constexpr const char* kBwrap = "/usr/bin/bwrap";

}  // namespace

std::vector<std::string> BubblewrapArgv(const Mounts* sandbox, bool pid_namespace,
                                        const std::vector<std::string>& argv) {
  // The whole tree first (recursive: /dev, /proc and every other mount come along; --dev-bind, as
  // a plain --bind would forbid device files, /dev/zero and GPUs included), then the narrower
  // mounts on top; --die-with-parent: bubblewrap dies with weft, and with a PID namespace every
  // process in it dies with bubblewrap's first one.
  std::vector<std::string> out = {kBwrap, "--dev-bind", "/", "/"};
  if (sandbox != nullptr) {
    for (const std::string& p : sandbox->read_only) out.insert(out.end(), {"--ro-bind", p, p});
    for (const std::string& p : sandbox->writable) out.insert(out.end(), {"--bind", p, p});
    if (!sandbox->hide.empty()) {  // (bubblewrap binds from the host's tree: nothing is hidden there)
      out.insert(out.end(), {"--tmpfs", sandbox->hide});
      for (const std::string& k : sandbox->keep) {
        bool rw = std::find(sandbox->writable.begin(), sandbox->writable.end(), k) != sandbox->writable.end();
        out.insert(out.end(), {rw ? "--bind" : "--ro-bind", k, k});
      }
      out.insert(out.end(), {"--remount-ro", sandbox->hide});
    }
  }
  if (pid_namespace) out.push_back("--unshare-pid");
  out.insert(out.end(), {"--die-with-parent", "--"});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status CheckBubblewrap(bool sandbox, bool pid_namespace) {
  const char* hint = sandbox
      ? "steps run in a sandbox so that they cannot change the store, even as root; weft makes it "
        "itself when it runs as root, and otherwise with bubblewrap: install it (apt-get install "
        "bubblewrap), or opt out with `sandbox: off` in .weft/config.yaml"
      : "without cgroups (weft is not root), weft runs each step in its own PID namespace with "
        "bubblewrap, so that no process of a step outlives weft: install it (apt-get install "
        "bubblewrap)";
  Status result = Status::Ok();
  if (::access(kBwrap, X_OK) != 0) {
    result = Status::Invalid(fmt::format("{} is missing; {}", kBwrap, hint));
  } else {
    Mounts probe;
    probe.read_only = {"/"};
    std::vector<std::string> argv = BubblewrapArgv(sandbox ? &probe : nullptr, pid_namespace, {"/bin/true"});
    Result<CommandOutput> ran = RunCommand(argv);
    if (!ran.ok() || ran->exit_code != 0) {
      result = Status::Invalid(fmt::format(
          "bubblewrap cannot make namespaces on this machine (it needs root or unprivileged user "
          "namespaces); {}",
          hint));
    }
  }
  return result;
}

}  // namespace weft::exec
