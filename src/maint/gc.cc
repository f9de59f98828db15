#include "maint/gc.h"

#include <filesystem>
#include <set>

namespace weft::maint {
namespace {

uint64_t FileBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

Result<GcReport> CollectGarbage(meta::MetaStore& meta, store::Store& store, const GcOptions& options) {
  Result<std::vector<std::string>> referenced = meta.ReferencedDigests(options.keep_runs);
  if (!referenced.ok()) return referenced.status();
  std::set<std::string> keep(referenced->begin(), referenced->end());
  Result<std::vector<Digest>> objects = store.Objects();
  if (!objects.ok()) return objects.status();
  GcReport report;
  report.objects = objects->size();
  for (const Digest& d : *objects) {
    std::string hex = ToHex(d);
    if (keep.count(hex)) continue;
    report.removed.push_back(hex);
    report.removed_bytes += FileBytes(store.ObjectPath(d));
    if (options.dry_run) continue;
    Status s = store.Remove(d);
    if (!s.ok()) return s;
  }
  if (options.dry_run) return report;
  Result<store::Store::Swept> swept = store.Sweep();
  if (!swept.ok()) return swept.status();
  report.blobs = swept->blobs;
  report.blob_bytes = swept->bytes;
  return report;
}

}  // namespace weft::maint
