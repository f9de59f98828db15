#include "base/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <fmt/format.h>

#include "base/status.h"

namespace weft {
namespace {

std::atomic<int> g_count{0};
int g_pipe[2] = {-1, -1};

extern "C" void OnInterrupt(int) {
  int saved = errno;
  g_count.fetch_add(1, std::memory_order_relaxed);
  char b = 1;
  // Non-blocking: if the pipe is full the readers already know.
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &b, 1);
  errno = saved;
}

}  // namespace

void InstallInterruptHandlers() {
  if (g_pipe[0] >= 0) return;
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) {
    struct sigaction old {};
    ::sigaction(sig, nullptr, &old);
    if (sig == SIGHUP && old.sa_handler == SIG_IGN) continue;  // nohup: keep going
    ::sigaction(sig, &sa, nullptr);
  }
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

int InterruptCount() { return g_count.load(std::memory_order_relaxed); }

int InterruptFd() { return g_pipe[0]; }

bool DrainInterruptFd() {
  bool any = false;
  char buf[64];
  while (g_pipe[0] >= 0 && ::read(g_pipe[0], buf, sizeof buf) > 0) any = true;
  return any;
}

Status InterruptedStatus(const char* during) {
  return Status(Code::kCanceled, fmt::format("interrupted {}", during));
}

}  // namespace weft
