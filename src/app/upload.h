// Pipelines submitted to a server arrive as a tar archive of the files the loader would read.
// They are unpacked once per content into `.weft/uploads/<digest>/`, refusing anything that could
// reach outside that folder or exhaust the disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "workspace/workspace.h"

namespace weft::app {

struct UploadLimits {
  int64_t max_files = 100'000;
  int64_t max_bytes = int64_t{4} << 30;  // unpacked
  size_t max_path = 1024;                // bytes of an entry's path
};

// Unpacks `archive` into `dest`, a new folder: regular files and folders only (links, devices,
// absolute paths, `..` and entries past the limits are refused, naming the entry); on an error
// nothing of it is left.
Status Extract(std::string_view archive, const std::string& dest, const UploadLimits& limits = {});

// Unpacks `archive`; returns the folder. Regular files and folders only: links, devices,
// absolute paths, `..` and entries past the limits are refused, naming the entry, and nothing is
// left behind. The same archive is unpacked once.
Result<std::string> Unpack(const ws::Workspace& ws, std::string_view archive,
                           const UploadLimits& limits = {});

// Uploads deduplicated by content: the client sends its files' manifest first; the server
// answers which contents it lacks (KeepContent takes those, each named by its digest), then
// assembles the folder from contents it keeps (hard links, nothing copied). An unchanged folder is
// sent as its manifest alone. Contents are kept per project: another project's files are never
// used, nor their presence revealed.
struct ManifestFile {
  std::string path;    // relative, as in an archive
  std::string digest;  // hex SHA-256 of its bytes
  int64_t size = 0;
  bool executable = false;
  bool folder = false;  // an empty folder (no digest, no size): made as it is
};
// The manifest's files checked (the limits and path rules of Unpack; digests of 64 hex digits;
// no path twice) and sorted by path.
Result<std::vector<ManifestFile>> CheckManifest(std::vector<ManifestFile> files,
                                                const UploadLimits& limits = {});
// The digests among `files` whose content `project` has not sent yet, once each.
std::vector<std::string> MissingContent(const ws::Workspace& ws, const std::string& project,
                                        const std::vector<ManifestFile>& files);
// Keeps contents sent for `project`: an archive of files each named by its SHA-256 (hex); one
// whose bytes have another digest is refused, and nothing of the archive is kept. Returns how
// many were new.
Result<int64_t> KeepContent(const ws::Workspace& ws, const std::string& project,
                            std::string_view archive, const UploadLimits& limits = {});
// The upload folder of a checked manifest, assembled once from the project's kept contents;
// returns its id (for UploadFolder). NotFound when a content is missing.
Result<std::string> Assemble(const ws::Workspace& ws, const std::string& project,
                             const std::vector<ManifestFile>& files);
// The folder of an assembled upload of `project`, by its id.
Result<std::string> UploadFolder(const ws::Workspace& ws, const std::string& project,
                                 const std::string& id);

}  // namespace weft::app
