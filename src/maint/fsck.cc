#include "maint/fsck.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "base/parallel.h"
#include "store/object.h"

namespace weft::maint {
namespace {

// The digests of the blobs found intact, by inode: an object's files are hard links to them.
class VerifiedContents : public store::HashCache {
 public:
  void Add(const struct stat& st, const Digest& d) {
    std::lock_guard<std::mutex> lock(mu_);
    by_inode_[{st.st_dev, st.st_ino}] = d;
  }
  std::optional<Digest> Lookup(const std::string&, const struct stat& st) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_inode_.find({st.st_dev, st.st_ino});
    if (it == by_inode_.end()) return std::nullopt;
    return it->second;
  }
  void Record(const std::string&, const struct stat&, const Digest&, int64_t) override {}

 private:
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, Digest> by_inode_;
};

// Whether object `d` holds what its name says: a folder whose tree has that digest, or a file
// object (a folder holding one content under one or more names) whose content has it.
bool ObjectIntact(const store::Store& store, const Digest& d, store::HashCache* known) {
  std::string path = store.ObjectPath(d);
  Result<store::ObjectRef> tree = store::HashPath(path, nullptr, known);
  if (!tree.ok()) return false;  // unreadable, or holding something a store object never holds
  if (tree->digest == d) return true;
  std::error_code ec;
  bool any = false;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) return false;
    Result<store::ObjectRef> file = store::HashPath(e.path().string(), nullptr, known);
    if (!file.ok() || file->digest != d) return false;
    any = true;
  }
  return any && !ec;
}

}  // namespace

Result<FsckReport> CheckStore(meta::MetaStore& meta, store::Store& store) {
  FsckReport report;
  Result<std::vector<Digest>> blobs = store.Blobs();
  if (!blobs.ok()) return blobs.status();
  VerifiedContents verified;
  std::vector<char> bad(blobs->size(), 0);
  std::vector<uint64_t> sizes(blobs->size(), 0);
  ParallelFor(blobs->size(), [&](size_t i) {
    std::string path = store.BlobPath((*blobs)[i]);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      bad[i] = 1;
      return;
    }
    sizes[i] = static_cast<uint64_t>(st.st_size);
    Result<Digest> d = store::HashFile(path, (st.st_mode & 0111) != 0);
    if (d.ok() && *d == (*blobs)[i]) {
      verified.Add(st, *d);
    } else {
      bad[i] = 1;
    }
  });
  for (size_t i = 0; i < blobs->size(); ++i) {
    ++report.blobs;
    report.bytes += sizes[i];
    if (!bad[i]) continue;
    report.bad_blobs.push_back(ToHex((*blobs)[i]));
    Status s = store.QuarantineBlob((*blobs)[i]);
    if (!s.ok()) return s;
  }
  Result<std::vector<Digest>> objects = store.Objects();
  if (!objects.ok()) return objects.status();
  std::set<std::string> present;
  for (const Digest& d : *objects) {
    ++report.objects;
    if (ObjectIntact(store, d, &verified)) {
      present.insert(ToHex(d));
      continue;
    }
    report.bad_objects.push_back(ToHex(d));
    Status s = store.Quarantine(d);
    if (!s.ok()) return s;
  }
  std::set<std::string> asset_digests;
  for (const char* kind : {"component", "environment", "data", "model"}) {
    Result<std::vector<meta::AssetRecord>> assets = meta.Assets(kind, "", true);
    if (!assets.ok()) return assets.status();
    for (const meta::AssetRecord& a : *assets) {
      asset_digests.insert(a.digest);
      if (present.count(a.digest)) continue;
      report.missing_assets.push_back(fmt::format("{} {}:{} (sha256:{})", a.kind, a.name, a.version,
                                                  a.digest.substr(0, 12)));
    }
  }
  Result<std::vector<std::string>> referenced = meta.ReferencedDigests(-1);
  if (!referenced.ok()) return referenced.status();
  for (const std::string& d : *referenced) {
    if (!present.count(d) && !asset_digests.count(d)) ++report.missing_run_objects;
  }
  return report;
}

}  // namespace weft::maint
