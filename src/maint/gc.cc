#include "maint/gc.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::maint {
namespace {

namespace fs = std::filesystem;
using InodeKey = std::pair<dev_t, ino_t>;

// The space that removing whole trees frees: a folder's blocks always, a file's once all of its
// names are removed. `extra_names` counts names outside the trees that go too (a blob's name in
// the store, deleted by the sweep once nothing else links its content).
class Freed {
 public:
  void AddTree(const std::string& root) {
    Add(root);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      Add(it->path().string());
    }
  }
  // Bytes freed, counting `other_names[inode]` more names of a file as going too.
  uint64_t Bytes(const std::map<InodeKey, nlink_t>& other_names) const {
    uint64_t total = 0;
    for (const auto& [key, n] : inodes_) {
      auto other = other_names.find(key);
      nlink_t going = n.seen + (other == other_names.end() ? 0 : other->second);
      if (n.folder || going >= n.links) total += n.bytes;
    }
    return total;
  }

 private:
  struct Inode {
    nlink_t links = 0, seen = 0;
    uint64_t bytes = 0;
    bool folder = false;
  };
  void Add(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    Inode& n = inodes_[{st.st_dev, st.st_ino}];
    n.links = st.st_nlink;
    n.folder = S_ISDIR(st.st_mode);
    n.bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    ++n.seen;
  }
  std::map<InodeKey, Inode> inodes_;
};

// The runs whose objects and folders are kept: the newest `keep_runs` and every running one.
Result<std::set<std::string>> RetainedRuns(meta::MetaStore& meta, int64_t keep_runs,
                                           std::vector<meta::RunRecord>* all) {
  Result<std::vector<meta::RunRecord>> runs = meta.Runs(-1);
  if (!runs.ok()) return runs.status();
  std::set<std::string> kept;
  for (size_t i = 0; i < runs->size(); ++i) {
    const meta::RunRecord& r = (*runs)[i];
    if (keep_runs < 0 || static_cast<int64_t>(i) < keep_runs || r.status == meta::RunStatus::kRunning) {
      kept.insert(r.id);
    }
  }
  *all = std::move(*runs);
  return kept;
}

// In a run not retained: every attempt's working folder and staged outputs, and a step's shared
// ones (everything but `submitted/` and the small records).
void FoldersOfDroppedRun(const std::string& dir, int depth, std::vector<std::string>* out) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
    std::string name = e.path().filename().string();
    if (depth == 0 && name == "submitted") continue;
    if (name == "work" || name == "artifacts" || name.rfind("out.", 0) == 0) {
      out->push_back(e.path().string());
    } else if (depth < 2) {
      FoldersOfDroppedRun(e.path().string(), depth + 1, out);
    }
  }
}

// In a retained run: the working folders of succeeded attempts (their outputs are stored).
Status FoldersOfKeptRun(meta::MetaStore& meta, const ws::Workspace& ws, const std::string& run,
                        std::vector<std::string>* out) {
  Result<std::vector<meta::StepRecord>> steps = meta.Steps(run);
  if (!steps.ok()) return steps.status();
  for (const meta::StepRecord& s : *steps) {
    if (s.status != meta::StepStatus::kSucceeded) continue;
    if (s.jobs <= 1) {
      out->push_back(ws.attempt_dir(run, s.index, 1, 0, s.attempt) + "/work");
      continue;
    }
    Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(run, s.index);
    if (!jobs.ok()) return jobs.status();
    for (const meta::JobRecord& j : *jobs) {
      if (j.status == meta::StepStatus::kSucceeded) {
        out->push_back(ws.attempt_dir(run, s.index, s.jobs, j.job, j.attempt) + "/work");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<GcReport> CollectGarbage(meta::MetaStore& meta, store::Store& store, const ws::Workspace& ws,
                                const GcOptions& options) {
  GcReport report;
  Result<std::vector<std::string>> referenced = meta.ReferencedDigests(options.keep_runs);
  if (!referenced.ok()) return referenced.status();
  std::set<std::string> keep(referenced->begin(), referenced->end());
  Result<std::vector<Digest>> objects = store.Objects();
  if (!objects.ok()) return objects.status();
  report.objects = objects->size();
  std::vector<Digest> removed;
  Freed store_freed;
  for (const Digest& d : *objects) {
    std::string hex = ToHex(d);
    if (keep.count(hex)) continue;
    report.removed.push_back(hex);
    removed.push_back(d);
    store_freed.AddTree(store.ObjectPath(d));
  }
  Result<std::vector<std::string>> leftovers = store.Leftovers();
  if (!leftovers.ok()) return leftovers.status();
  for (const std::string& path : *leftovers) store_freed.AddTree(path);
  // Blob names: each content's one name in blobs/ goes with its last object; a blob no object
  // links any more goes as it is.
  Result<std::vector<Digest>> blobs = store.Blobs();
  if (!blobs.ok()) return blobs.status();
  std::map<InodeKey, nlink_t> blob_names;
  for (const Digest& d : *blobs) {
    struct stat st {};
    if (::lstat(store.BlobPath(d).c_str(), &st) != 0) continue;
    if (st.st_nlink == 1) {
      report.store_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    } else {
      blob_names[{st.st_dev, st.st_ino}] = 1;
    }
  }
  report.store_bytes += store_freed.Bytes(blob_names);

  std::vector<meta::RunRecord> runs;
  Result<std::set<std::string>> retained = RetainedRuns(meta, options.keep_runs, &runs);
  if (!retained.ok()) return retained.status();
  std::vector<std::string> candidates;
  for (const meta::RunRecord& r : runs) {
    if (StatPath(ws.run_dir(r.id)) != PathKind::kDirectory) continue;
    if (!retained->count(r.id)) {
      FoldersOfDroppedRun(ws.run_dir(r.id), 0, &candidates);
    } else {
      Status s = FoldersOfKeptRun(meta, ws, r.id, &candidates);
      if (!s.ok()) return s;
    }
  }
  Freed run_freed;
  for (const std::string& f : candidates) {
    if (StatPath(f) != PathKind::kDirectory) continue;  // freed by an earlier gc
    report.folders.push_back(f);
    run_freed.AddTree(f);
  }
  report.run_bytes = run_freed.Bytes(blob_names);
  // Kept mini-batch results (engine/parallel.h) that no retained run made or reused: written or
  // last reused before the oldest retained run was created.
  if (options.keep_runs >= 0) {
    int64_t oldest = INT64_MAX;
    for (const meta::RunRecord& r : runs) {
      if (retained->count(r.id)) oldest = std::min(oldest, r.created_ns);
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(ws.batches_dir(), ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      struct stat st {};
      if (!it->is_regular_file() || ::lstat(it->path().c_str(), &st) != 0) continue;
      if (st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec >= oldest) continue;
      report.batches.push_back(it->path().string());
      report.run_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  if (options.dry_run) return report;

  for (const Digest& d : removed) {
    Status s = store.Remove(d);
    if (!s.ok()) return s;
  }
  for (const std::string& f : report.folders) {
    Status s = RemoveTree(f);
    if (!s.ok()) return s;
  }
  for (const std::string& f : report.batches) {
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
      return Status::Io(fmt::format("{}: cannot remove: {}", f, std::strerror(errno)));
    }
  }
  Status s = store.Sweep();  // last: the contents that lost their last name above go too
  if (!s.ok()) return s;
  return report;
}

}  // namespace weft::maint
