#include "exec/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace weft::exec {
namespace {

// Where the cgroup v2 hierarchy is mounted ("" when it is not).
std::string V2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type;
  std::string rest;
  while (mounts >> device >> dir >> type) {
    std::getline(mounts, rest);
    if (type == "cgroup2") return dir;
  }
  return {};
}

// This process's cgroup in the v2 hierarchy ("0::/path" in /proc/self/cgroup).
std::string OwnV2Cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

bool WriteText(const std::string& path, const char* text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
  ::close(fd);
  return ok;
}

// The cgroups below `path` (folders), deepest first.
void Below(const std::string& path, std::vector<std::string>& out) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return;
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      children.push_back(path + "/" + e->d_name);
    }
  }
  ::closedir(d);
  for (const std::string& c : children) {
    Below(c, out);
    out.push_back(c);
  }
}

}  // namespace

std::optional<Cgroups> Cgroups::Open() {
  std::string mount = V2Mount();
  std::string own = OwnV2Cgroup();
  if (mount.empty() || own.empty()) return std::nullopt;
  std::string base = own == "/" ? mount : mount + own;
  // Can we make cgroups here? Try once.
  std::string probe = fmt::format("{}/weft-probe-{}", base, ::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0) return std::nullopt;
  struct stat st {};
  bool usable = ::stat((probe + "/cgroup.procs").c_str(), &st) == 0;
  ::rmdir(probe.c_str());
  if (!usable) return std::nullopt;
  return Cgroups(base);
}

Result<int> Cgroups::Create(const std::string& name) {
  std::string path = PathOf(name);
  size_t slash = name.find('/');
  if (slash != std::string::npos && name.compare(0, slash, made_parent_) != 0) {
    std::string parent = PathOf(name.substr(0, slash));
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::Io(fmt::format("{}: cannot create the cgroup: {}", parent, std::strerror(errno)));
    }
    made_parent_ = name.substr(0, slash);
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::Io(fmt::format("{}: cannot create the cgroup: {}", path, std::strerror(errno)));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  return fd;
}

bool Cgroups::Populated(const std::string& path) {
  std::ifstream in(path + "/cgroup.events");
  std::string key, value;
  while (in >> key >> value) {
    if (key == "populated") return value == "1";
  }
  return false;
}

std::vector<int64_t> Cgroups::Processes(const std::string& path) {
  std::ifstream in(path + "/cgroup.procs");
  std::vector<int64_t> pids;
  for (int64_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

void Cgroups::Signal(const std::string& path, int sig) {
  if (sig == SIGKILL && WriteText(path + "/cgroup.kill", "1")) return;
  // Without cgroup.kill (Linux before 5.14): signal each; a fork in between is caught by the
  // caller's next look.
  for (int64_t pid : Processes(path)) ::kill(static_cast<pid_t>(pid), sig);
}

void Cgroups::Remove(const std::string& path, bool children) {
  if (children) {
    std::vector<std::string> below;
    Below(path, below);
    for (const std::string& c : below) ::rmdir(c.c_str());
  }
  ::rmdir(path.c_str());
}

Stopped Cgroups::Stop(const std::string& path, int64_t grace_ms) {
  struct stat st {};
  Stopped out;
  if (::stat(path.c_str(), &st) != 0) return out;
  std::vector<std::string> groups;
  Below(path, groups);
  groups.push_back(path);
  for (const std::string& g : groups) out.processes += Processes(g).size();
  auto any = [&] {
    for (const std::string& g : groups) {
      if (Populated(g)) return true;
    }
    return false;
  };
  auto wait = [&](int64_t ms) {
    for (int64_t waited = 0; waited < ms && any(); waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  if (grace_ms > 0 && any()) {
    for (const std::string& g : groups) Signal(g, SIGTERM);
    wait(grace_ms);
  }
  for (int round = 0; round < 5 && any(); ++round) {
    for (const std::string& g : groups) Signal(g, SIGKILL);
    wait(1000);
  }
  out.all_gone = !any();
  if (out.all_gone) Remove(path, true);
  return out;
}

}  // namespace weft::exec
