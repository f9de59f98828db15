#include "base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/interrupt.h"

namespace weft {

Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Invalid(fmt::format("{}: not a regular file", path));
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::Invalid(
        fmt::format("{}: file is {} bytes, larger than the limit of {}", path, st.st_size, max_bytes));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

Status ReadFileFrom(const std::string& path, uint64_t offset, size_t max_bytes, std::string* out) {
  out->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  out->resize(max_bytes);
  ssize_t n;
  do {
    n = ::pread(fd, out->data(), max_bytes, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  out->resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (n < 0) return Status::Io(fmt::format("{}: cannot read: {}", path, std::strerror(err)));
  return Status::Ok();
}

PathKind StatPath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PathKind::kMissing;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  return PathKind::kOther;
}

std::string ResolvePath(const std::string& base_dir, std::string_view rel) {
  std::filesystem::path p(rel);
  if (!p.is_absolute()) p = std::filesystem::path(base_dir) / p;
  std::string out = p.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string DirName(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace weft

namespace weft {

Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot open to sync: {}", path, std::strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Io(fmt::format("{}: fsync failed: {}", path, std::strerror(err)));
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Io(fmt::format("{}: write failed: {}", tmp, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::Io(fmt::format("{}: fsync failed: {}", tmp, std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::Io(fmt::format("{}: rename failed: {}", path, std::strerror(err)));
  }
  return FsyncPath(DirName(path));
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot create folder: {}", path, ec.message()));
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  return Status::Io(fmt::format("{}: cannot create folder: {}", path, std::strerror(errno)));
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return Status::Ok();
  // Store objects are read-only; make folders writable so their entries can be removed.
  for (auto it = std::filesystem::recursive_directory_iterator(
           path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
  }
  ::chmod(path.c_str(), 0755);
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot remove: {}", path, ec.message()));
  return Status::Ok();
}

Status CopyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::Io(fmt::format("{}: cannot open: {}", from, std::strerror(errno)));
  struct stat st {};
  ::fstat(in, &st);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   (st.st_mode & 0111) ? 0755 : 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return Status::Io(fmt::format("{}: cannot create: {}", to, std::strerror(err)));
  }
  char buf[1 << 16];
  Status status;
  while (true) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::Io(fmt::format("{}: read failed: {}", from, std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    if (Interrupted()) {
      status = InterruptedStatus(("while copying " + from).c_str());
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        status = Status::Io(fmt::format("{}: write failed: {}", to, std::strerror(errno)));
        break;
      }
      off += w;
    }
    if (!status.ok()) break;
  }
  if (status.ok() && ::fsync(out) != 0) {
    status = Status::Io(fmt::format("{}: fsync failed: {}", to, std::strerror(errno)));
  }
  ::close(in);
  ::close(out);
  if (!status.ok()) ::unlink(to.c_str());
  return status;
}

}  // namespace weft

namespace weft {

Status CopyTree(const std::string& from, const std::string& to) {
  std::error_code ec;
  namespace fs = std::filesystem;
  fs::create_directories(to, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot create: {}", to, ec.message()));
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::path rel = it->path().lexically_relative(from);
    fs::path dst = fs::path(to) / rel;
    if (it->is_symlink(ec)) {
      fs::copy_symlink(it->path(), dst, ec);
    } else if (it->is_directory(ec)) {
      fs::create_directories(dst, ec);
    } else {
      Status s = CopyFile(it->path().string(), dst.string());
      if (!s.ok()) return s;
    }
    if (ec) return Status::Io(fmt::format("{}: cannot copy: {}", dst.string(), ec.message()));
  }
  if (ec) return Status::Io(fmt::format("{}: cannot copy: {}", from, ec.message()));
  return Status::Ok();
}

bool IsWithin(const std::string& path, const std::string& root) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(path, ec);
  if (ec) return false;
  std::filesystem::path r = std::filesystem::weakly_canonical(root, ec);
  if (ec) return false;
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

}  // namespace weft
