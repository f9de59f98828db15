#include "base/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include <fmt/format.h>

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

}  // namespace weft
