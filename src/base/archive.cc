#include "base/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "base/fs.h"


namespace weft {

Status ReadArchive(std::string_view bytes,
                   const std::function<Status(const ArchiveEntry&, const ArchiveRead&)>& on_entry) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Status::Invalid(fmt::format("not a tar archive: {}", archive_error_string(a.get())));
  }
  int64_t index = 0;
  while (true) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return Status::Invalid(fmt::format("the archive is damaged after entry {}: {}", index,
                                         archive_error_string(a.get())));
    }
    ++index;
    ArchiveEntry entry;
    const char* path = archive_entry_pathname(e);
    entry.path = path ? path : "";
    entry.size = archive_entry_size(e);
    entry.executable = (archive_entry_perm(e) & 0111) != 0;
    if (archive_entry_hardlink(e) != nullptr) {
      entry.kind = ArchiveEntry::Kind::kHardLink;
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          entry.kind = ArchiveEntry::Kind::kFile;
          break;
        case AE_IFDIR:
          entry.kind = ArchiveEntry::Kind::kFolder;
          break;
        case AE_IFLNK:
          entry.kind = ArchiveEntry::Kind::kSymlink;
          break;
        default:
          entry.kind = ArchiveEntry::Kind::kOther;
      }
    }
    char buf[1 << 16];
    ArchiveRead read = [&]() -> Result<std::string_view> {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) {
        return Status::Invalid(
            fmt::format("entry `{}` is damaged: {}", entry.path, archive_error_string(a.get())));
      }
      return std::string_view(buf, static_cast<size_t>(n));
    };
    Status s = on_entry(entry, read);
    if (!s.ok()) return s;
  }
}

namespace {

struct TarSink {
  const std::function<bool(std::string_view)>* out;
  bool gone = false;  // the reader went away
};

la_ssize_t WriteBlock(struct archive*, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<TarSink*>(client);
  if (!(*sink->out)(std::string_view(static_cast<const char*>(buf), n))) {
    sink->gone = true;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

}  // namespace

Status WriteTar(const std::string& path, const std::string& name,
                const std::function<bool(std::string_view)>& out,
                const std::function<bool(const std::string&)>& keep) {
  namespace fs = std::filesystem;
  // What to write, in name order: the root (unless unnamed), then (for a folder) everything
  // under it.
  std::vector<std::string> rels;
  if (!name.empty()) rels.push_back("");
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    size_t first = rels.size();
    for (fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end;
         !ec && it != end; it.increment(ec)) {
      std::string rel = it->path().lexically_relative(path).string();  // (links not followed)
      if (keep && !keep(rel)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
        continue;
      }
      rels.push_back(std::move(rel));
    }
    if (ec) return Status::Io(fmt::format("{}: {}", path, ec.message()));
    std::sort(rels.begin() + static_cast<std::ptrdiff_t>(first), rels.end());
  } else if (name.empty()) {
    return Status::Invalid(fmt::format("{}: a file is written under a name", path));
  }

  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& rel : rels) {
    entries.emplace_back(rel.empty() ? name : name.empty() ? rel : name + "/" + rel,
                         rel.empty() ? path : path + "/" + rel);
  }
  return WriteTarOf(entries, out);
}

Status WriteTarOf(const std::vector<std::pair<std::string, std::string>>& entries,
                  const std::function<bool(std::string_view)>& out) {
  namespace fs = std::filesystem;
  TarSink sink{&out};
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  auto failed = [&](const std::string& what) {
    if (sink.gone) return Status(Code::kCanceled, "the reader went away");
    return Status::Io(fmt::format("{}: {}", what, archive_error_string(a.get())));
  };
  if (archive_write_open(a.get(), &sink, nullptr, WriteBlock, nullptr) != ARCHIVE_OK) {
    return failed("starting the archive");
  }
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                           archive_entry_free);
  for (const auto& [entry, from] : entries) {
    struct stat st {};
    if (::lstat(from.c_str(), &st) != 0) {
      return Status::Io(fmt::format("{}: {}", from, std::strerror(errno)));
    }
    archive_entry_clear(e.get());
    archive_entry_set_pathname(e.get(), entry.c_str());
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
    bool exec = (st.st_mode & 0111) != 0;
    if (S_ISDIR(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      archive_entry_set_perm(e.get(), 0755);
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code lec;
      std::string target = fs::read_symlink(from, lec).string();
      if (lec) return Status::Io(fmt::format("{}: {}", from, lec.message()));
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_perm(e.get(), 0777);
      archive_entry_set_symlink(e.get(), target.c_str());
    } else if (S_ISREG(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_perm(e.get(), exec ? 0755 : 0644);
      archive_entry_set_size(e.get(), st.st_size);
    } else {
      continue;  // (a store object holds no devices, FIFOs or sockets)
    }
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return failed(from);
    if (!S_ISREG(st.st_mode)) continue;
    // The header's size is what is written, whatever the file does meanwhile.
    std::string chunk;
    for (int64_t at = 0; at < st.st_size; at += static_cast<int64_t>(chunk.size())) {
      size_t want = static_cast<size_t>(std::min<int64_t>(st.st_size - at, 1 << 20));
      Status s = ReadFileFrom(from, static_cast<uint64_t>(at), want, &chunk);
      if (!s.ok()) return s;
      if (chunk.empty()) return Status::Io(fmt::format("{}: shorter than when it was listed", from));
      if (archive_write_data(a.get(), chunk.data(), chunk.size()) < 0) return failed(from);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return failed("ending the archive");
  return Status::Ok();
}

}  // namespace weft
