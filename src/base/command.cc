#include "base/command.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

extern char** environ;

namespace weft {

std::string FailureText(const Result<CommandOutput>& r) {
  if (!r.ok()) return r.status().message();
  std::string text = r->err.empty() ? r->out : r->err;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  text.erase(0, std::min(text.size(), text.find_first_not_of(" \n")));
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text.empty() ? fmt::format("exit code {}", r->exit_code) : text;
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env, const std::string& input) {
  if (argv.empty()) return Status::Invalid("no program to run");
  // The input, whole, in a memory file: no writer thread, and the program may read it at leisure.
  int in = -1;
  if (!input.empty()) {
    in = ::memfd_create("weft-input", MFD_CLOEXEC);
    if (in < 0) return Status::Io(fmt::format("memfd_create: {}", std::strerror(errno)));
    for (size_t off = 0; off < input.size();) {
      ssize_t n = ::write(in, input.data() + off, input.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(in);
        return Status::Io(fmt::format("cannot write a program's input: {}", std::strerror(errno)));
      }
      off += static_cast<size_t>(n);
    }
    ::lseek(in, 0, SEEK_SET);
  }
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    for (int fd : {in, out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return Status::Io(fmt::format("pipe: {}", std::strerror(e)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& kv : extra_env) envp.push_back(const_cast<char*>(kv.c_str()));
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('=') + 1);
    bool replaced = std::any_of(extra_env.begin(), extra_env.end(),
                                [&](const std::string& x) { return x.rfind(name, 0) == 0; });
    if (!replaced) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (in >= 0) ::close(in);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return Status::Io(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  }
  CommandOutput result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0) continue;
      ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[k]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open;
      }
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace weft
