// Small filesystem helpers used by the loader. Everything returns Status instead of throwing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace weft {

// Reads a whole regular file. Refuses files larger than `max_bytes` and anything that is not a
// regular file (a device, a fifo), so that a hostile path cannot hang or exhaust memory.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

// Reads up to `max_bytes` of a file from `offset` on into `out` (what a growing log gained since
// it was last read); a missing file reads as empty.
Status ReadFileFrom(const std::string& path, uint64_t offset, size_t max_bytes, std::string* out);

enum class PathKind { kMissing, kFile, kDirectory, kOther };
PathKind StatPath(const std::string& path);

// Joins `rel` onto the folder `base_dir` unless `rel` is absolute; normalises the result lexically.
std::string ResolvePath(const std::string& base_dir, std::string_view rel);

// The folder part of a file path ("." for a bare name).
std::string DirName(const std::string& path);

// Whether `path`, with every symbolic link resolved (as far as it exists), is `root` or inside
// it (also resolved). A path that names something outside by `..` or a link is not.
bool IsWithin(const std::string& path, const std::string& root);

}  // namespace weft

namespace weft {

// fsyncs a file or folder by path.
Status FsyncPath(const std::string& path);
// Writes `data` to `path` atomically: a temporary file beside it (created with `mode`), fsync,
// rename, fsync the folder.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// Creates `path` and its parents (like mkdir -p).
Status MakeDirs(const std::string& path);
// Creates one folder whose parent exists (an existing folder is fine).
Status MakeDir(const std::string& path);
// Removes `path` and everything below it, making read-only folders writable first. Missing is ok.
Status RemoveTree(const std::string& path);
// Copies a regular file's bytes and executable bit, then fsyncs the copy.
Status CopyFile(const std::string& from, const std::string& to);

}  // namespace weft

namespace weft {

// Copies a folder tree (files with their executable bit, folders, symbolic links as links), with
// every copy writable by its owner. `to` must not exist.
Status CopyTree(const std::string& from, const std::string& to);

}  // namespace weft
