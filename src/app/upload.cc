#include "app/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "base/archive.h"
#include "base/fs.h"
#include "base/os.h"
#include "base/sha256.h"

namespace weft::app {
namespace {

// The entry's path made relative and checked: no absolute path, no `..`, no empty or overlong
// part. "./a//b/" is "a/b".
Result<std::string> SafePath(const std::string& written, const UploadLimits& limits) {
  auto refuse = [&](const char* why) {
    return Status::Invalid(fmt::format("upload entry `{}`: {}", written, why));
  };
  if (written.size() > limits.max_path) return refuse("its path is too long");
  if (written.empty()) return refuse("it has no name");
  if (written.front() == '/') return refuse("absolute paths are refused");
  std::string out;
  size_t i = 0;
  while (i <= written.size()) {
    size_t end = written.find('/', i);
    if (end == std::string::npos) end = written.size();
    std::string part = written.substr(i, end - i);
    i = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return refuse("`..` is refused");
    if (part.size() > 255) return refuse("a part of its path is longer than 255 bytes");
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) return refuse("it names the archive's root");
  return out;
}

}  // namespace

Result<std::string> Unpack(const ws::Workspace& ws, std::string_view archive,
                           const UploadLimits& limits) {
  std::string uploads = ws.dir + "/uploads";
  std::string final_dir = uploads + "/" + ToHex(Sha256Of(archive));
  if (StatPath(final_dir) == PathKind::kDirectory) return final_dir;
  Status s = MakeDirs(uploads);
  if (!s.ok()) return s;
  std::string tmp = fmt::format("{}/.tmp-{}", uploads, RandomHex(8));
  s = MakeDir(tmp);
  if (!s.ok()) return s;
  int64_t files = 0;
  int64_t bytes = 0;
  s = ReadArchive(archive, [&](const ArchiveEntry& e, const ArchiveRead& read) -> Status {
    Result<std::string> rel = SafePath(e.path, limits);
    if (!rel.ok()) return rel.status();
    std::string path = tmp + "/" + *rel;
    switch (e.kind) {
      case ArchiveEntry::Kind::kFolder:
        return MakeDirs(path);
      case ArchiveEntry::Kind::kSymlink:
        return Status::Invalid(
            fmt::format("upload entry `{}`: symbolic links are refused", e.path));
      case ArchiveEntry::Kind::kHardLink:
        return Status::Invalid(fmt::format("upload entry `{}`: hard links are refused", e.path));
      case ArchiveEntry::Kind::kOther:
        return Status::Invalid(fmt::format(
            "upload entry `{}`: only regular files and folders are accepted (not devices, FIFOs)",
            e.path));
      case ArchiveEntry::Kind::kFile:
        break;
    }
    if (++files > limits.max_files) {
      return Status::TooLarge(fmt::format("the upload holds more than {} files", limits.max_files));
    }
    Status made = MakeDirs(DirName(path));
    if (!made.ok()) return made;
    // O_EXCL: an entry written twice is refused; O_NOFOLLOW: nothing here is a link anyway.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    e.executable ? 0755 : 0644);
    if (fd < 0) {
      return errno == EEXIST
                 ? Status::Invalid(fmt::format("upload entry `{}` appears twice", e.path))
                 : Status::Io(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    Status out = Status::Ok();
    while (out.ok()) {
      Result<std::string_view> chunk = read();
      if (!chunk.ok()) {
        out = chunk.status();
        break;
      }
      if (chunk->empty()) break;
      bytes += static_cast<int64_t>(chunk->size());
      if (bytes > limits.max_bytes) {
        out = Status::TooLarge(
            fmt::format("the upload unpacks to more than {} MB", limits.max_bytes >> 20));
        break;
      }
      for (size_t done = 0; done < chunk->size();) {
        ssize_t n = ::write(fd, chunk->data() + done, chunk->size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          out = Status::Io(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
          break;
        }
        done += static_cast<size_t>(n);
      }
    }
    if (out.ok() && ::fsync(fd) != 0) out = Status::Io(fmt::format("cannot write {}", path));
    ::close(fd);
    return out;
  });
  if (s.ok() && ::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    // Another request unpacked the same archive meanwhile: theirs is as good.
    if (StatPath(final_dir) != PathKind::kDirectory) {
      s = Status::Io(
          fmt::format("cannot move the upload into {}: {}", final_dir, std::strerror(errno)));
    }
  }
  if (!s.ok() || StatPath(tmp) == PathKind::kDirectory) RemoveTree(tmp).ok();
  if (!s.ok()) return s;
  return final_dir;
}

}  // namespace weft::app
