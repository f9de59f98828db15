// Small filesystem helpers used by the loader. Everything returns Status instead of throwing.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace weft {

// Reads a whole regular file. Refuses files larger than `max_bytes` and anything that is not a
// regular file (a device, a fifo), so that a hostile path cannot hang or exhaust memory.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

enum class PathKind { kMissing, kFile, kDirectory, kOther };
PathKind StatPath(const std::string& path);

// Joins `rel` onto the folder `base_dir` unless `rel` is absolute; normalises the result lexically.
std::string ResolvePath(const std::string& base_dir, std::string_view rel);

// The folder part of a file path ("." for a bare name).
std::string DirName(const std::string& path);

}  // namespace weft
