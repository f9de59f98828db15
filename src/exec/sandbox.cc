#include "exec/sandbox.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

extern char** environ;

namespace weft::exec {
namespace {

constexpr const char* kBwrap = "/usr/bin/bwrap";

}  // namespace

std::vector<std::string> SandboxedArgv(const Sandbox& sandbox, const std::vector<std::string>& argv) {
  // The whole tree first (recursive: /dev, /proc and every other mount come along; --dev-bind, as
  // a plain --bind would forbid device files, /dev/zero and GPUs included), then the narrower
  // mounts on top; --die-with-parent: the step dies with bubblewrap, never outlives it.
  std::vector<std::string> out = {kBwrap, "--dev-bind", "/", "/"};
  for (const std::string& p : sandbox.read_only) {
    out.insert(out.end(), {"--ro-bind", p, p});
  }
  for (const std::string& p : sandbox.writable) {
    out.insert(out.end(), {"--bind", p, p});
  }
  out.insert(out.end(), {"--die-with-parent", "--"});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status CheckSandbox() {
  const char* hint =
      "steps run under bubblewrap so that they cannot change the store, even as root: install it "
      "(apt-get install bubblewrap), or opt out with `sandbox: off` in .weft/config.yaml";
  if (::access(kBwrap, X_OK) != 0) {
    return Status::Invalid(fmt::format("{} is missing; {}", kBwrap, hint));
  }
  std::vector<std::string> argv = SandboxedArgv(Sandbox{{"/"}, {}}, {"/bin/true"});
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, kBwrap, &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  if (rc == 0) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Invalid(fmt::format(
        "bubblewrap cannot make a sandbox on this machine (it needs mount namespaces); {}", hint));
  }
  return Status::Ok();
}

}  // namespace weft::exec
