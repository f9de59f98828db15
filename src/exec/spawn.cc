#include "exec/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::exec {
namespace {

// Everything the child uses, prepared by the parent: between clone and exec the child may only
// make system calls (it runs on weft's memory, in a vfork-like state).
struct Child {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  int out_fd = -1;
  pid_t pgid = 0;
  int cgroup_fd = -1;
  bool join_cgroup = false;  // not born in it: join by writing cgroup.procs
  bool new_namespace = false;
  std::vector<const char*> writable;
  std::vector<const char*> read_only;
  std::vector<unsigned long> read_only_flags;  // the flags each read-only mount keeps
  const char* overlay_on = nullptr;
  const char* overlay_options = nullptr;
  const char* hide = nullptr;
  std::vector<const char*> keep;
  std::vector<bool> keep_is_dir;
  std::vector<int> keep_fds;              // (the child's, while it hides)
  std::vector<const char*> hide_parents;  // folders to make in the hidden one, parents first
  uint64_t stack_bytes = 0;
  // Set by the child when it fails before exec.
  int error = 0;
  const char* failed = nullptr;
  const char* failed_path = nullptr;
};

[[noreturn]] void Fail(Child* c, const char* what, const char* path = nullptr) {
  c->error = errno;
  c->failed = what;
  c->failed_path = path;
  ::_exit(127);
}

int RunChild(void* arg) {
  Child* c = static_cast<Child*>(arg);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // KILL, STOP: refused
  if (::setpgid(0, c->pgid) != 0) Fail(c, "cannot set its process group");
  if (c->join_cgroup) {
    int procs = ::openat(c->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0 || ::write(procs, "0", 1) != 1) Fail(c, "cannot join its cgroup");
    ::close(procs);
  }
  if (c->new_namespace) {
    // Nothing mounted here reaches the host's namespace; then binds, the writable ones first so
    // that the recursive read-only binds above them carry them along, still writable.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      Fail(c, "cannot make its mounts private");
    }
    for (const char* w : c->writable) {
      if (::mount(w, w, nullptr, MS_BIND | MS_REC, nullptr) != 0) Fail(c, "cannot bind", w);
    }
    for (size_t i = 0; i < c->read_only.size(); ++i) {
      const char* r = c->read_only[i];
      if (::mount(r, r, nullptr, MS_BIND | MS_REC, nullptr) != 0) Fail(c, "cannot bind", r);
      unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | c->read_only_flags[i];
      if (::mount(nullptr, r, nullptr, flags, nullptr) != 0) Fail(c, "cannot make read-only", r);
    }
    if (c->overlay_on != nullptr &&
        ::mount("overlay", c->overlay_on, "overlay", 0, c->overlay_options) != 0) {
      Fail(c, "cannot mount its code over", c->overlay_on);
    }
    if (c->hide != nullptr) {
      // What stays visible is taken (as detached copies of its mounts) before the folder is
      // covered, then put back on mount points made in the cover.
      for (size_t i = 0; i < c->keep.size(); ++i) {
        c->keep_fds[i] = ::open_tree(AT_FDCWD, c->keep[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (c->keep_fds[i] < 0) Fail(c, "cannot keep", c->keep[i]);
      }
      if (::mount("tmpfs", c->hide, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") != 0) {
        Fail(c, "cannot hide", c->hide);
      }
      for (const char* d : c->hide_parents) {
        if (::mkdir(d, 0755) != 0 && errno != EEXIST) Fail(c, "cannot make", d);
      }
      for (size_t i = 0; i < c->keep.size(); ++i) {
        if (c->keep_is_dir[i]) {
          if (::mkdir(c->keep[i], 0755) != 0 && errno != EEXIST) Fail(c, "cannot make", c->keep[i]);
        } else {
          int fd = ::open(c->keep[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
          if (fd < 0) Fail(c, "cannot make", c->keep[i]);
          ::close(fd);
        }
        if (::move_mount(c->keep_fds[i], "", AT_FDCWD, c->keep[i], MOVE_MOUNT_F_EMPTY_PATH) != 0) {
          Fail(c, "cannot show", c->keep[i]);
        }
        ::close(c->keep_fds[i]);
      }
      if (::mount(nullptr, c->hide, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
        Fail(c, "cannot make read-only", c->hide);
      }
    }
  }
  if (c->stack_bytes > 0) {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < c->stack_bytes) {
      rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? c->stack_bytes
                                                 : std::min<rlim_t>(c->stack_bytes, rl.rlim_max);
      ::setrlimit(RLIMIT_STACK, &rl);
    }
  }
  if (::chdir(c->cwd) != 0) Fail(c, "cannot enter its folder", c->cwd);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(c->out_fd, 1) < 0 || ::dup2(c->out_fd, 2) < 0) {
    Fail(c, "cannot set up its standard streams");
  }
  if (null_fd > 2) ::close(null_fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(c->path, c->argv, c->envp);
  Fail(c, "cannot start", c->path);
}

unsigned long KeptFlags(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) return 0;
  unsigned long flags = 0;
  for (auto [st, ms] : {std::pair<unsigned long, unsigned long>{ST_NOSUID, MS_NOSUID},
                        {ST_NODEV, MS_NODEV},
                        {ST_NOEXEC, MS_NOEXEC},
                        {ST_NOATIME, MS_NOATIME},
                        {ST_NODIRATIME, MS_NODIRATIME},
                        {ST_RELATIME, MS_RELATIME}}) {
    if (vfs.f_flag & st) flags |= ms;
  }
  return flags;
}

// The overlay's mount options; in a path, `,` (between options) and `:` (between lower layers)
// are escaped.
std::string OverlayOptions(const Mounts& m) {
  std::string out;
  for (auto [key, path] : {std::pair<const char*, const std::string*>{"lowerdir=", &m.overlay_lower},
                           {",upperdir=", &m.overlay_on},
                           {",workdir=", &m.overlay_scratch}}) {
    out.append(key);
    for (char ch : *path) {
      if (ch == ',' || ch == ':' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
  }
  return out;
}

// What a hidden folder keeps: the kept paths below it (none inside another: that one's copy
// brings it along), and the folders to make for them in the cover, parents first.
struct Hidden {
  std::vector<std::string> keep;
  std::vector<std::string> parents;
};
Hidden HidePlan(const Mounts& m) {
  Hidden out;
  std::vector<std::string> keep;
  for (const std::string& k : m.keep) {
    if (k != m.hide && IsWithin(k, m.hide)) keep.push_back(k);
  }
  std::sort(keep.begin(), keep.end());
  std::set<std::string> parents;
  for (const std::string& k : keep) {
    if (!out.keep.empty() && IsWithin(k, out.keep.back())) continue;
    out.keep.push_back(k);
    for (size_t slash = k.find('/', m.hide.size() + 1); slash != std::string::npos;
         slash = k.find('/', slash + 1)) {
      parents.insert(k.substr(0, slash));
    }
  }
  out.parents.assign(parents.begin(), parents.end());  // (sorted: a parent before its children)
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

constexpr size_t kChildStack = 64 * 1024;

#if defined(__x86_64__)
// clone3(2), which glibc 2.36 does not export: `weft_clone3(args, size, fn, arg)` returns the
// child's pid (or -errno) in the parent; the child runs fn(arg) on the stack `args` gives, then
// exits with its result. As glibc's own __clone3: the syscall keeps rdx (fn) and r8 (arg) in
// the child, which starts at the instruction after it, on the new stack.
extern "C" long weft_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg);
asm(R"(
  .text
  .globl weft_clone3
  .type weft_clone3, @function
weft_clone3:
  mov %rcx, %r8
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  xor %ebp, %ebp
  mov %r8, %rdi
  call *%rdx
  mov %rax, %rdi
  mov $60, %eax
  syscall
  hlt
  .size weft_clone3, .-weft_clone3
)");

// Starts the child born in `c.cgroup_fd`; -ENOSYS (or another -errno) when clone3 cannot.
pid_t Clone3(Child& c, void* stack, int flags) {
  struct clone_args args {};
  args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack);
  args.stack_size = kChildStack;
  args.cgroup = static_cast<uint64_t>(c.cgroup_fd);
  return static_cast<pid_t>(weft_clone3(&args, sizeof args, RunChild, &c));
}
#else
pid_t Clone3(Child&, void*, int) { return -ENOSYS; }
#endif

}  // namespace

Result<pid_t> Spawn(const ProcessSpec& spec) {
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = spec.env;
  std::vector<char*> argv_p = Pointers(argv);
  std::vector<char*> env_p = Pointers(env);
  Child c;
  c.path = argv.empty() ? "" : argv[0].c_str();
  c.argv = argv_p.data();
  c.envp = env_p.data();
  c.cwd = spec.cwd.c_str();
  c.out_fd = spec.out_fd;
  c.pgid = spec.pgid;
  c.cgroup_fd = spec.cgroup_fd;
  c.stack_bytes = spec.stack_bytes;
  std::string overlay_options;
  Hidden hide_plan;
  if (spec.mounts != nullptr) {
    const Mounts& m = *spec.mounts;
    c.new_namespace = true;
    for (const std::string& w : m.writable) c.writable.push_back(w.c_str());
    for (const std::string& r : m.read_only) {
      c.read_only.push_back(r.c_str());
      c.read_only_flags.push_back(KeptFlags(r));
    }
    if (!m.overlay_lower.empty()) {
      overlay_options = OverlayOptions(m);
      c.overlay_on = m.overlay_on.c_str();
      c.overlay_options = overlay_options.c_str();
    }
    if (!m.hide.empty()) {
      c.hide = m.hide.c_str();
      hide_plan = HidePlan(m);
      for (const std::string& k : hide_plan.keep) {
        c.keep.push_back(k.c_str());
        c.keep_is_dir.push_back(StatPath(k) == PathKind::kDirectory);
      }
      c.keep_fds.assign(c.keep.size(), -1);
      for (const std::string& d : hide_plan.parents) c.hide_parents.push_back(d.c_str());
    }
  }
  void* stack = ::mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return Status::Io(fmt::format("cannot start a process: {}", std::strerror(errno)));
  // Signals wait until the child has reset their handlers (weft's must never run in it).
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  int flags = CLONE_VM | CLONE_VFORK | (c.new_namespace ? CLONE_NEWNS : 0);
  pid_t pid = c.cgroup_fd >= 0 ? Clone3(c, stack, flags) : -ENOSYS;
  int clone_errno = pid < 0 ? -pid : 0;
  if (pid == -ENOSYS || pid == -EINVAL || pid == -E2BIG) {  // no clone3 (or no CLONE_INTO_CGROUP)
    c.join_cgroup = c.cgroup_fd >= 0;
    pid = ::clone(RunChild, static_cast<char*>(stack) + kChildStack, flags | SIGCHLD, &c);
    clone_errno = errno;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stack, kChildStack);
  if (pid < 0) {
    return Status::Io(fmt::format("cannot start {}: {}", c.path, std::strerror(clone_errno)));
  }
  if (c.failed != nullptr) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string what = c.failed_path != nullptr ? fmt::format("{} {}", c.failed, c.failed_path)
                                                : std::string(c.failed);
    Status s(c.error == E2BIG ? Code::kInvalid : Code::kIo,
             fmt::format("{}: {}", what, std::strerror(c.error)));
    return s;
  }
  return pid;
}

bool CanMakeMountNamespaces() {
  static const bool can = [] {
    int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    Mounts none;
    ProcessSpec spec;
    spec.argv = {"/bin/true"};
    spec.cwd = std::string(1, '/');  // (a literal here trips GCC 12's -Wrestrict)
    spec.out_fd = null_fd;
    spec.mounts = &none;
    Result<pid_t> pid = Spawn(spec);
    ::close(null_fd);
    if (!pid.ok()) return false;
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }();
  return can;
}

}  // namespace weft::exec
