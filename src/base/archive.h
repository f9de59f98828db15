// Reading tar archives (plain or compressed): libarchive behind this adapter (archive.cc is the
// only file that includes it). Entries are given as they are written; what to accept is the
// caller's decision.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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

}  // namespace weft
