// Reading and writing tar archives: libarchive behind this adapter (archive.cc is the only file
// that includes it). Read entries are given as they are written; what to accept is the caller's
// decision.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace weft {

struct ArchiveEntry {
  enum class Kind { kFile, kFolder, kSymlink, kHardLink, kOther };
  std::string path;  // as written in the archive
  Kind kind = Kind::kOther;
  int64_t size = 0;  // as the header says
  bool executable = false;
};

// Calls `on_entry` for each entry of the archive in `bytes`, in order; `read` gives an entry's
// data a chunk at a time (it returns the chunk, empty at the end, or an error). A Status from
// `on_entry` stops the walk and is returned; a damaged archive is Invalid.
using ArchiveRead = std::function<Result<std::string_view>()>;
Status ReadArchive(std::string_view bytes,
                   const std::function<Status(const ArchiveEntry&, const ArchiveRead&)>& on_entry);

// Writes a tar archive (POSIX pax) of the file or folder at `path` to `out` as it is made, its
// entries named under `name` (`name/...`, or `name` for a file; with `name` empty, a folder's
// entries by their paths inside it), in name order, owned by nobody in particular (uid and gid
// 0, no names), mode 0755 for folders and executables, else 0644. Symbolic links are written as
// links. `keep`, when given, is asked of each entry inside a folder (its path inside it): a folder
// it refuses is left out whole. `out` returning false (the reader went away) stops it with
// Canceled.
Status WriteTar(const std::string& path, const std::string& name,
                const std::function<bool(std::string_view)>& out,
                const std::function<bool(const std::string&)>& keep = nullptr);

// Writes a tar archive as WriteTar does of the files, folders and links at the given paths, each
// entry named as given (entry name, path), in the order given.
Status WriteTarOf(const std::vector<std::pair<std::string, std::string>>& entries,
                  const std::function<bool(std::string_view)>& out);

}  // namespace weft
