#include "app/upload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>

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

// Writes an archive entry's data to `fd` (the file at `path`) and fsyncs it, counting it into
// `bytes`: past `max_bytes` it stops, TooLarge ("<what> more than N MB"). `seen`, when given, is
// shown each piece.
Status WriteEntry(int fd, const std::string& path, const ArchiveRead& read, int64_t& bytes,
                  int64_t max_bytes, const char* what,
                  const std::function<void(std::string_view)>& seen = nullptr) {
  while (true) {
    Result<std::string_view> chunk = read();
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) break;
    bytes += static_cast<int64_t>(chunk->size());
    if (bytes > max_bytes) {
      return Status::TooLarge(fmt::format("{} more than {} MB", what, max_bytes >> 20));
    }
    if (seen) seen(*chunk);
    for (size_t done = 0; done < chunk->size();) {
      ssize_t n = ::write(fd, chunk->data() + done, chunk->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Io(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
      done += static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) return Status::Io(fmt::format("cannot write {}", path));
  return Status::Ok();
}

}  // namespace

Status Extract(std::string_view archive, const std::string& dest, const UploadLimits& limits) {
  Status s = MakeDir(dest);
  if (!s.ok()) return s;
  int64_t files = 0;
  int64_t bytes = 0;
  s = ReadArchive(archive, [&](const ArchiveEntry& e, const ArchiveRead& read) -> Status {
    // `tar -c .` writes the folder itself first, as `./`: nothing to make.
    if (e.kind == ArchiveEntry::Kind::kFolder &&
        e.path.find_first_not_of("./") == std::string::npos && e.path.find("..") == std::string::npos &&
        !e.path.empty() && e.path.front() == '.') {
      return Status::Ok();
    }
    Result<std::string> rel = SafePath(e.path, limits);
    if (!rel.ok()) return rel.status();
    std::string path = dest + "/" + *rel;
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
    Status out = WriteEntry(fd, path, read, bytes, limits.max_bytes, "the upload unpacks to");
    ::close(fd);
    return out;
  });
  if (!s.ok()) RemoveTree(dest).ok();
  return s;
}

Result<std::string> Unpack(const ws::Workspace& ws, std::string_view archive,
                           const UploadLimits& limits) {
  std::string uploads = ws.dir + "/uploads";
  std::string final_dir = uploads + "/" + ToHex(Sha256Of(archive));
  if (StatPath(final_dir) == PathKind::kDirectory) return final_dir;
  Status s = MakeDirs(uploads);
  if (!s.ok()) return s;
  std::string tmp = fmt::format("{}/.tmp-{}", uploads, RandomHex(8));
  s = Extract(archive, tmp, limits);
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

namespace {

bool IsHexDigest(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string ProjectUploads(const ws::Workspace& ws, const std::string& project) {
  return ws.dir + "/uploads/" + project;
}

std::string ContentPath(const ws::Workspace& ws, const std::string& project,
                        const std::string& digest) {
  return ProjectUploads(ws, project) + "/files/" + digest;
}

// The kept content as an executable file (an inode of its own: the mode is the inode's).
Result<std::string> ExecutableContent(const std::string& content) {
  std::string x = content + ".x";
  if (StatPath(x) == PathKind::kFile) return x;
  std::string tmp = fmt::format("{}.tmp-{}", x, RandomHex(8));
  Status s = CopyFile(content, tmp);
  if (s.ok() && ::chmod(tmp.c_str(), 0555) != 0) s = Status::Io(fmt::format("cannot chmod {}", tmp));
  if (s.ok() && ::rename(tmp.c_str(), x.c_str()) != 0) {
    s = Status::Io(fmt::format("cannot keep {}: {}", x, std::strerror(errno)));
  }
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  return x;
}

}  // namespace

Result<std::vector<ManifestFile>> CheckManifest(std::vector<ManifestFile> files,
                                                const UploadLimits& limits) {
  if (static_cast<int64_t>(files.size()) > limits.max_files) {
    return Status::TooLarge(fmt::format("the upload holds more than {} files", limits.max_files));
  }
  int64_t bytes = 0;
  std::set<std::string> seen;
  for (ManifestFile& f : files) {
    Result<std::string> rel = SafePath(f.path, limits);
    if (!rel.ok()) return rel.status();
    if (f.folder && (!f.digest.empty() || f.size != 0 || f.executable)) {
      return Status::Invalid(fmt::format("upload entry `{}`: a folder has no digest or size", f.path));
    }
    if (!f.folder && !IsHexDigest(f.digest)) {
      return Status::Invalid(fmt::format("upload entry `{}`: its digest is 64 hex digits", f.path));
    }
    if (f.size < 0) return Status::Invalid(fmt::format("upload entry `{}`: a size is not negative", f.path));
    bytes += f.size;
    if (bytes > limits.max_bytes) {
      return Status::TooLarge(fmt::format("the upload unpacks to more than {} MB", limits.max_bytes >> 20));
    }
    f.path = *rel;
    if (!seen.insert(f.path).second) return Status::Invalid(fmt::format("upload entry `{}` appears twice", f.path));
  }
  // A file's path must not also be a folder of another's.
  for (const std::string& p : seen) {
    for (size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      if (seen.count(p.substr(0, slash))) {
        return Status::Invalid(fmt::format("upload entry `{}` is both a file and a folder", p.substr(0, slash)));
      }
    }
  }
  std::sort(files.begin(), files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });
  return files;
}

std::vector<std::string> MissingContent(const ws::Workspace& ws, const std::string& project,
                                        const std::vector<ManifestFile>& files) {
  std::set<std::string> missing;
  for (const ManifestFile& f : files) {
    if (!f.folder && StatPath(ContentPath(ws, project, f.digest)) != PathKind::kFile) {
      missing.insert(f.digest);
    }
  }
  return {missing.begin(), missing.end()};
}

Result<int64_t> KeepContent(const ws::Workspace& ws, const std::string& project,
                            std::string_view archive, const UploadLimits& limits) {
  std::string dir = ProjectUploads(ws, project) + "/files";
  Status s = MakeDirs(dir);
  if (!s.ok()) return s;
  int64_t files = 0, kept = 0, bytes = 0;
  s = ReadArchive(archive, [&](const ArchiveEntry& e, const ArchiveRead& read) -> Status {
    if (e.kind != ArchiveEntry::Kind::kFile || !IsHexDigest(e.path)) {
      return Status::Invalid(fmt::format(
          "content entry `{}`: contents are regular files named by their SHA-256 (64 hex digits)", e.path));
    }
    if (++files > limits.max_files) {
      return Status::TooLarge(fmt::format("more than {} contents at once", limits.max_files));
    }
    std::string final_path = dir + "/" + e.path;
    std::string tmp = fmt::format("{}/.tmp-{}", dir, RandomHex(8));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0) return Status::Io(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
    Sha256 hash;
    Status out = WriteEntry(fd, tmp, read, bytes, limits.max_bytes, "the contents hold",
                            [&](std::string_view chunk) { hash.Update(chunk); });
    ::close(fd);
    if (out.ok() && ToHex(hash.Finish()) != e.path) {
      out = Status::Invalid(fmt::format("content entry `{}`: its bytes have another SHA-256", e.path));
    }
    if (out.ok() && StatPath(final_path) != PathKind::kFile) {
      if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        out = Status::Io(fmt::format("cannot keep {}: {}", final_path, std::strerror(errno)));
      } else {
        ++kept;
      }
    }
    std::remove(tmp.c_str());  // (kept already, or refused)
    return out;
  });
  if (!s.ok()) return s;
  return kept;
}

Result<std::string> Assemble(const ws::Workspace& ws, const std::string& project,
                             const std::vector<ManifestFile>& files) {
  std::string canonical = project + '\0';
  for (const ManifestFile& f : files) {
    canonical += f.path + '\0' + f.digest + '\0' + (f.folder ? "/\n" : f.executable ? "x\n" : "-\n");
  }
  std::string id = ToHex(Sha256Of(canonical));
  std::string final_dir = ProjectUploads(ws, project) + "/" + id;
  if (StatPath(final_dir) == PathKind::kDirectory) return id;
  std::vector<std::string> missing = MissingContent(ws, project, files);
  if (!missing.empty()) {
    return Status::NotFound(fmt::format("the server has no content {} (of {} missing): send it first",
                                        missing.front(), missing.size()));
  }
  std::string tmp = fmt::format("{}/.tmp-{}", ProjectUploads(ws, project), RandomHex(8));
  Status s = MakeDir(tmp);
  for (const ManifestFile& f : files) {
    if (!s.ok()) break;
    std::string path = tmp + "/" + f.path;
    s = MakeDirs(f.folder ? path : DirName(path));
    if (!s.ok() || f.folder) continue;
    Result<std::string> from = ContentPath(ws, project, f.digest);
    if (f.executable) from = ExecutableContent(*from);
    if (!from.ok()) {
      s = from.status();
      break;
    }
    // A link (nothing copied) unless the content has as many links as the file system allows.
    if (::link(from->c_str(), path.c_str()) != 0) {
      s = errno == EMLINK ? CopyFile(*from, path)
                          : Status::Io(fmt::format("cannot link {}: {}", path, std::strerror(errno)));
    }
  }
  if (s.ok() && ::rename(tmp.c_str(), final_dir.c_str()) != 0 &&
      StatPath(final_dir) != PathKind::kDirectory) {
    s = Status::Io(fmt::format("cannot move the upload into {}: {}", final_dir, std::strerror(errno)));
  }
  if (StatPath(tmp) == PathKind::kDirectory) RemoveTree(tmp).ok();
  if (!s.ok()) return s;
  return id;
}

Result<std::string> UploadFolder(const ws::Workspace& ws, const std::string& project,
                                 const std::string& id) {
  std::string dir = ProjectUploads(ws, project) + "/" + id;
  if (!IsHexDigest(id) || StatPath(dir) != PathKind::kDirectory) {
    return Status::NotFound(fmt::format("no upload `{}`: send its manifest first", id));
  }
  return dir;
}

}  // namespace weft::app
