// Pipelines submitted to a server arrive as a tar archive of the files the loader would read.
// They are unpacked once per content into `.weft/uploads/<digest>/`, refusing anything that could
// reach outside that folder or exhaust the disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "workspace/workspace.h"

namespace weft::app {

struct UploadLimits {
  int64_t max_files = 100'000;
  int64_t max_bytes = int64_t{4} << 30;  // unpacked
  size_t max_path = 1024;                // bytes of an entry's path
};

// Unpacks `archive`; returns the folder. Regular files and folders only: links, devices,
// absolute paths, `..` and entries past the limits are refused, naming the entry, and nothing is
// left behind. The same archive is unpacked once.
Result<std::string> Unpack(const ws::Workspace& ws, std::string_view archive,
                           const UploadLimits& limits = {});

}  // namespace weft::app
