#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/interrupt.h"
#include "base/parallel.h"

namespace weft::store {
namespace {

std::string TmpName() {
  // The pid and a count make it unique here; the salt, across processes that had the same pid.
  static std::atomic<uint64_t> counter{0};
  static const unsigned salt = std::random_device()();
  return fmt::format("{}-{}-{:x}", ::getpid(), counter++, salt);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Item {
  std::string rel;  // "" for the root of a folder
  EntryKind kind = EntryKind::kFile;
  struct stat st {};
  std::string target;  // links
  Digest digest{};
  bool cached = false;
};

Status Walk(const std::string& root, const std::string& rel, const IgnoreRules* ignore,
            std::vector<Item>& items) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::Io(fmt::format("{}: cannot read folder: {}", dir, std::strerror(errno)));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    if (Interrupted()) return InterruptedStatus(("while reading " + root).c_str());
    Item item;
    item.rel = rel.empty() ? n : rel + "/" + n;
    std::string full = root + "/" + item.rel;
    if (::lstat(full.c_str(), &item.st) != 0) {
      return Status::Io(fmt::format("{}: cannot stat: {}", full, std::strerror(errno)));
    }
    bool is_dir = S_ISDIR(item.st.st_mode);
    if (ignore != nullptr && ignore->Ignored(item.rel, is_dir)) continue;
    if (is_dir) {
      item.kind = EntryKind::kFolder;
      items.push_back(item);
      Status s = Walk(root, item.rel, ignore, items);
      if (!s.ok()) return s;
      continue;
    }
    if (S_ISLNK(item.st.st_mode)) {
      std::vector<char> buf(static_cast<size_t>(item.st.st_size) + 1 + 4096);
      ssize_t n_read = ::readlink(full.c_str(), buf.data(), buf.size());
      if (n_read < 0) return Status::Io(fmt::format("{}: cannot read link", full));
      item.kind = EntryKind::kLink;
      item.target.assign(buf.data(), static_cast<size_t>(n_read));
      if (!LinkStaysInside(item.rel, item.target)) {
        return Status::Invalid(fmt::format("symbolic link `{}` points outside its folder (to `{}`)",
                                           item.rel, item.target));
      }
      item.digest = LinkDigest(item.target);
    } else if (S_ISREG(item.st.st_mode)) {
      item.kind = (item.st.st_mode & 0111) ? EntryKind::kExecutable : EntryKind::kFile;
    } else {
      return Status::Invalid(fmt::format("`{}` is not a regular file, folder or link", item.rel));
    }
    items.push_back(std::move(item));
  }
  return Status::Ok();
}

// The entries of `root` (a folder) to store: all of them, or with `only`, just those top-level
// entries (missing ones are left out) and everything under them.
Status Gather(const std::string& root, const std::vector<std::string>& only,
              const IgnoreRules* ignore, std::vector<Item>& items) {
  if (only.empty()) return Walk(root, "", ignore, items);
  std::vector<std::string> names = only;
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    Item item;
    item.rel = n;
    if (::lstat((root + "/" + n).c_str(), &item.st) != 0) continue;
    if (!S_ISDIR(item.st.st_mode)) {
      return Status::Invalid(fmt::format("`{}` is not a folder", n));
    }
    item.kind = EntryKind::kFolder;
    items.push_back(item);
    Status s = Walk(root, n, ignore, items);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Hashes every file that the cache does not vouch for, on all cores.
// Reports a snapshot's progress (store.h, SnapshotProgress); safe to call from several threads.
class Reporter {
 public:
  Reporter(const ProgressFn& fn, const Os& os, std::string path)
      : fn_(fn), os_(os), started_(os.NowNs()), phase_started_(started_), last_(started_) {
    p_.path = std::move(path);
  }
  void Phase(std::string_view phase, uint64_t files, uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    p_.phase = phase;
    p_.files = p_.bytes = 0;
    p_.total_files = files;
    p_.total_bytes = bytes;
    phase_started_ = os_.NowNs();
  }
  void Done(uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    ++p_.files;
    p_.bytes += bytes;
    int64_t now = os_.NowNs();
    bool due = now - started_ >= 1'000'000'000 && now - last_ >= 500'000'000;
    if (due || (reported_ && p_.files == p_.total_files)) Report(now);
  }

 private:
  void Report(int64_t now) {  // (mu_ held)
    p_.seconds = (now - phase_started_) / 1e9;
    last_ = now;
    reported_ = true;
    fn_(p_);
  }
  const ProgressFn& fn_;
  const Os& os_;
  const int64_t started_;
  int64_t phase_started_;
  int64_t last_;
  bool reported_ = false;
  std::mutex mu_;
  SnapshotProgress p_;
};

Status HashAll(const std::string& root, std::vector<Item>& items, HashCache* cache,
               Reporter* reporter) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& it = items[i];
    if (it.kind != EntryKind::kFile && it.kind != EntryKind::kExecutable) continue;
    std::string full = it.rel.empty() ? root : root + "/" + it.rel;
    if (cache != nullptr) {
      if (std::optional<Digest> d = cache->Lookup(full, it.st)) {
        it.digest = *d;
        it.cached = true;
        continue;
      }
    }
    todo.push_back(i);
  }
  if (reporter != nullptr) {
    uint64_t bytes = 0;
    for (size_t i : todo) bytes += static_cast<uint64_t>(items[i].st.st_size);
    reporter->Phase("hashing", todo.size(), bytes);
  }
  int64_t hashed_at = NowNs();
  std::vector<Status> errors(todo.size());
  ParallelFor(todo.size(), [&](size_t k) {
    if (Interrupted()) {
      errors[k] = InterruptedStatus(("while hashing " + root).c_str());
      return;
    }
    Item& it = items[todo[k]];
    std::string full = it.rel.empty() ? root : root + "/" + it.rel;
    Result<Digest> d = HashFile(full, it.kind == EntryKind::kExecutable);
    if (d.ok()) {
      it.digest = *d;
    } else {
      errors[k] = d.status();
    }
    if (reporter != nullptr) reporter->Done(static_cast<uint64_t>(it.st.st_size));
  });
  for (const Status& s : errors) {
    if (!s.ok()) return s;
  }
  if (cache != nullptr) {
    for (size_t i : todo) {
      std::string full = items[i].rel.empty() ? root : root + "/" + items[i].rel;
      cache->Record(full, items[i].st, items[i].digest, hashed_at);
    }
  }
  return Status::Ok();
}

std::string Parent(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string Leaf(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// The digest of a walked folder, bottom-up: walking the items backwards meets every entry of a
// folder before the folder itself.
Digest FolderDigest(const std::vector<Item>& items) {
  std::map<std::string, std::vector<TreeEntry>> children;
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    Digest d = it->digest;
    if (it->kind == EntryKind::kFolder) {
      d = TreeDigest(std::move(children[it->rel]));
      children.erase(it->rel);
    }
    children[Parent(it->rel)].push_back({Leaf(it->rel), it->kind, d});
  }
  return TreeDigest(std::move(children[""]));
}

// A path walked and hashed: what Ingest stores and HashPath reports.
struct Scanned {
  ObjectRef ref;
  std::vector<Item> items;
};

Result<Scanned> Scan(const std::string& path, const std::vector<std::string>& only,
                     HashCache* cache, const IgnoreRules* ignore, Reporter* reporter = nullptr) {
  struct stat root_st {};
  if (::lstat(path.c_str(), &root_st) != 0) {
    return Status::NotFound(fmt::format("{}: does not exist", path));
  }
  Scanned out;
  ObjectRef& ref = out.ref;
  if (S_ISREG(root_st.st_mode)) {
    Item it;
    it.st = root_st;
    it.kind = (root_st.st_mode & 0111) ? EntryKind::kExecutable : EntryKind::kFile;
    out.items.push_back(it);
    ref.type = ObjectType::kFile;
    ref.name = BaseName(path);
  } else if (S_ISDIR(root_st.st_mode)) {
    Status s = Gather(path, only, ignore, out.items);
    if (!s.ok()) return s;
  } else {
    return Status::Invalid(fmt::format("{}: not a regular file or folder", path));
  }
  Status s = HashAll(path, out.items, cache, reporter);
  if (!s.ok()) return s;
  for (const Item& it : out.items) {
    if (it.kind != EntryKind::kFile && it.kind != EntryKind::kExecutable) continue;
    ref.bytes += static_cast<uint64_t>(it.st.st_size);
    ++ref.files;
  }
  ref.digest = ref.type == ObjectType::kFile ? out.items[0].digest : FolderDigest(out.items);
  return out;
}

}  // namespace

Result<ObjectRef> HashPath(const std::string& path, const IgnoreRules* ignore, HashCache* cache) {
  Result<Scanned> scanned = Scan(path, {}, cache, ignore);
  if (!scanned.ok()) return scanned.status();
  return scanned->ref;
}

Status Store::Init() const {
  for (const char* sub : {"blobs", "objects", "tmp"}) {
    Status s = MakeDirs(root_ + "/" + sub);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::string_view TypeName(ObjectType t) { return t == ObjectType::kFile ? "file" : "folder"; }

std::optional<ObjectType> ParseObjectType(std::string_view name) {
  if (name == "file") return ObjectType::kFile;
  if (name == "folder") return ObjectType::kFolder;
  return std::nullopt;
}

std::string Store::ObjectPath(const Digest& d) const { return root_ + "/objects/" + ToHex(d); }

Result<Seal> Store::SealOf(const Digest& d) const {
  struct stat st {};
  if (::stat(ObjectPath(d).c_str(), &st) != 0) {
    return Status::NotFound(fmt::format("sha256:{} is not in the store", ToHex(d)));
  }
  return Seal{static_cast<int64_t>(st.st_ino),
              static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::optional<Seal> Store::Verify(const ObjectRef& ref, const Seal& recorded) const {
  Result<Seal> now = SealOf(ref.digest);
  if (!now.ok()) return std::nullopt;
  if (*now == recorded) return *now;
  // New inodes (a copied or restored workspace), or a touched folder: the content decides.
  Result<ObjectRef> hashed = HashPath(DeliveryPath(ref));
  if (!hashed.ok() || hashed->digest != ref.digest) return std::nullopt;
  return *now;
}

Result<TreeDiff> Store::CompareTrees(const Digest& before, const Digest& now) const {
  // Every copy of a content is a link to one blob: the same inode is the same content.
  auto files = [&](const Digest& d) -> Result<std::map<std::string, ino_t>> {
    std::vector<Item> items;
    std::string root = ObjectPath(d);
    Status s = Walk(root, "", nullptr, items);
    if (!s.ok()) return s;
    std::map<std::string, ino_t> out;
    for (const Item& it : items) {
      if (it.kind == EntryKind::kFile || it.kind == EntryKind::kExecutable) out[it.rel] = it.st.st_ino;
    }
    return out;
  };
  Result<std::map<std::string, ino_t>> a = files(before);
  if (!a.ok()) return a.status();
  Result<std::map<std::string, ino_t>> b = files(now);
  if (!b.ok()) return b.status();
  TreeDiff diff;
  for (const auto& [path, inode] : *b) {
    auto it = a->find(path);
    if (it == a->end()) {
      diff.added.push_back(path);
    } else if (it->second != inode) {
      diff.changed.push_back(path);
    }
  }
  for (const auto& [path, inode] : *a) {
    if (!b->count(path)) diff.removed.push_back(path);
  }
  return diff;
}

std::string Store::DeliveryPath(const ObjectRef& ref) const {
  std::string dir = ObjectPath(ref.digest);
  return ref.type == ObjectType::kFile ? dir + "/" + ref.name : dir;
}

bool Store::Has(const Digest& d) const {
  struct stat st {};
  return ::stat(ObjectPath(d).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

// Puts the content of `src` (already hashed as `digest`) into blobs/, moving when allowed. Sets
// `placed` when blobs/ gained an entry (and so needs an fsync).
Status PlaceBlob(const Os& os, const std::string& root, const std::string& src, const Digest& digest,
                 bool executable, bool move, const struct stat& st, bool& placed) {
  std::string blob = root + "/blobs/" + ToHex(digest);
  struct stat existing {};
  if (::stat(blob.c_str(), &existing) == 0) {
    if (move) ::unlink(src.c_str());
    return Status::Ok();
  }
  placed = true;
  mode_t mode = executable ? 0555 : 0444;
  if (move && st.st_nlink == 1) {
    Status s = FsyncPath(src);
    if (!s.ok()) return s;
    ::chmod(src.c_str(), mode);
    if (::rename(src.c_str(), blob.c_str()) == 0) return Status::Ok();
    if (errno != EXDEV) {
      return Status::Io(fmt::format("{}: cannot move into the store: {}", src, std::strerror(errno)));
    }
  }
  // Another filesystem, other hard links, or a user's file: copy, then publish by rename.
  std::string tmp = root + "/tmp/blob-" + TmpName();
  Status s = os.CopyFile(src, tmp);
  if (!s.ok()) return s;
  ::chmod(tmp.c_str(), mode);
  if (::rename(tmp.c_str(), blob.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::Io(fmt::format("{}: cannot publish blob: {}", blob, std::strerror(err)));
  }
  if (move) ::unlink(src.c_str());
  return Status::Ok();
}

thread_local SyncBatch* current_batch = nullptr;

// The fsync that keeps a publication (a new name in one of the store's own folders): now, or at
// the end of the thread's SyncBatch.
Status SyncPublished(const std::string& dir) {
  if (current_batch == nullptr) return FsyncPath(dir);
  current_batch->Add(dir);
  return Status::Ok();
}

// Links a blob into an object under construction (copies when the blob has too many links).
Status LinkBlob(const Os& os, const std::string& root, const Digest& digest, const std::string& dst) {
  std::string blob = root + "/blobs/" + ToHex(digest);
  if (::link(blob.c_str(), dst.c_str()) == 0) return Status::Ok();
  if (errno == EMLINK) {
    Status s = os.CopyFile(blob, dst);
    if (s.ok()) ::chmod(dst.c_str(), 0444);
    return s;
  }
  return Status::Io(fmt::format("{}: cannot link into the store: {}", dst, std::strerror(errno)));
}

}  // namespace

SyncBatch::SyncBatch() { current_batch = this; }

SyncBatch::~SyncBatch() {
  Flush().ok();  // (whoever needed to know flushed before)
  current_batch = nullptr;
}

void SyncBatch::Add(const std::string& dir) {
  if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) dirs_.push_back(dir);
}

Status SyncBatch::Flush() {
  Status first = Status::Ok();
  for (const std::string& dir : dirs_) {
    Status s = FsyncPath(dir);
    if (first.ok() && !s.ok()) first = s;
  }
  dirs_.clear();
  return first;
}

Status Store::Publish(const std::string& tmp, const Digest& d) {
  std::string dst = ObjectPath(d);
  if (Has(d)) return RemoveTree(tmp);
  Status s = FsyncPath(tmp);
  if (!s.ok()) return s;
  // Read-only once published: a folder that cannot be written cannot move (its `..` changes),
  // unless weft runs as root.
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    int err = errno;
    if (Has(d)) return RemoveTree(tmp);  // another process published it first
    RemoveTree(tmp).ok();
    return Status::Io(fmt::format("{}: cannot publish object: {}", dst, std::strerror(err)));
  }
  ::chmod(dst.c_str(), 0555);
  return SyncPublished(root_ + "/objects");
}

Status Store::AddName(const Digest& d, const std::string& name) {
  std::string dir = ObjectPath(d);
  std::string path = dir + "/" + name;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return Status::Ok();
  // Any existing name of a file object links to the same blob.
  DIR* dh = ::opendir(dir.c_str());
  if (dh == nullptr) return Status::Io(fmt::format("{}: missing object", dir));
  std::string existing;
  while (dirent* e = ::readdir(dh)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      existing = e->d_name;
      break;
    }
  }
  ::closedir(dh);
  ::chmod(dir.c_str(), 0755);
  int rc = ::link((dir + "/" + existing).c_str(), path.c_str());
  int err = errno;
  ::chmod(dir.c_str(), 0555);
  if (rc != 0 && err != EEXIST) {
    return Status::Io(fmt::format("{}: cannot add a name: {}", path, std::strerror(err)));
  }
  return SyncPublished(dir);
}

namespace {
// Whether the folder `path` (walked as `items`) can become an object as it is: on the store's
// filesystem, and every folder of it ours and writable by us (its files come back into it as
// links; then it is made read-only).
bool Adoptable(const std::string& store_root, const std::string& path, const std::vector<Item>& items) {
  struct stat root {}, store {};
  if (::lstat(path.c_str(), &root) != 0 || ::stat((store_root + "/objects").c_str(), &store) != 0 ||
      root.st_dev != store.st_dev) {
    return false;
  }
  uid_t me = ::geteuid();
  auto ours = [me](const struct stat& st) { return st.st_uid == me && (st.st_mode & 0700) == 0700; };
  if (!ours(root)) return false;
  return std::all_of(items.begin(), items.end(),
                     [&](const Item& it) { return it.kind != EntryKind::kFolder || ours(it.st); });
}
}  // namespace

Result<ObjectRef> Store::Ingest(const std::string& path, const std::vector<std::string>& only,
                                bool move, HashCache* cache, const IgnoreRules* ignore,
                                const ProgressFn& progress) {
  std::optional<Reporter> reporter;
  if (progress) reporter.emplace(progress, os_, path);
  Result<Scanned> scanned = Scan(path, only, cache, ignore, reporter ? &*reporter : nullptr);
  if (!scanned.ok()) return scanned.status();
  ObjectRef& ref = scanned->ref;
  std::vector<Item>& items = scanned->items;

  // Contents into blobs/.
  bool placed = false;
  if (reporter) reporter->Phase("storing", ref.files, ref.bytes);
  for (Item& it : items) {
    if (it.kind != EntryKind::kFile && it.kind != EntryKind::kExecutable) continue;
    if (Interrupted()) return InterruptedStatus(("while storing " + path).c_str());
    std::string full = it.rel.empty() ? path : path + "/" + it.rel;
    Status s = PlaceBlob(os_, root_, full, it.digest, it.kind == EntryKind::kExecutable, move, it.st, placed);
    if (!s.ok()) return s;
    if (reporter) reporter->Done(static_cast<uint64_t>(it.st.st_size));
  }
  Status s = placed ? SyncPublished(root_ + "/blobs") : Status::Ok();
  if (!s.ok()) return s;

  if (Has(ref.digest)) {  // stored already: nothing to build
    if (ref.type == ObjectType::kFile) {
      s = AddName(ref.digest, ref.name);
      if (!s.ok()) return s;
    }
    return ref;
  }
  // A committed folder that the store can take as it is becomes the object itself: its files
  // come back as links to their blobs, and no folder is made (folders cost real time on some
  // disks). Else the object is built anew in tmp/.
  bool adopt = move && ref.type == ObjectType::kFolder && only.empty() && Adoptable(root_, path, items);
  std::string tmp = adopt ? path : root_ + "/tmp/object-" + TmpName();
  if (!adopt) s = MakeDirs(tmp);
  if (!s.ok()) return s;
  if (ref.type == ObjectType::kFile) {
    s = LinkBlob(os_, root_, ref.digest, tmp + "/" + ref.name);
    if (s.ok()) s = Publish(tmp, ref.digest);
    if (!s.ok()) return s;
    return ref;
  }
  // Build the tree: folders first (walk order puts a folder before its entries), then files and
  // links; digests bottom-up by walking the items backwards.
  for (const Item& it : items) {
    std::string dst = tmp + "/" + it.rel;
    if (adopt && it.kind != EntryKind::kFile && it.kind != EntryKind::kExecutable) continue;
    switch (it.kind) {
      case EntryKind::kFolder:
        if (::mkdir(dst.c_str(), 0755) != 0) s = Status::Io(fmt::format("{}: mkdir failed", dst));
        break;
      case EntryKind::kLink:
        if (::symlink(it.target.c_str(), dst.c_str()) != 0) {
          s = Status::Io(fmt::format("{}: symlink failed", dst));
        }
        break;
      default:
        s = LinkBlob(os_, root_, it.digest, dst);
    }
    if (!s.ok()) {
      if (!adopt) RemoveTree(tmp).ok();
      return s;
    }
  }
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (it->kind != EntryKind::kFolder) continue;
    std::string dir = tmp + "/" + it->rel;
    FsyncPath(dir).ok();
    ::chmod(dir.c_str(), 0555);
  }
  s = Publish(tmp, ref.digest);
  if (!s.ok()) return s;
  return ref;
}

Status CheckTree(const std::string& path, const std::vector<std::string>& only,
                 const IgnoreRules* ignore) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Status::NotFound(fmt::format("{}: does not exist", path));
  if (S_ISREG(st.st_mode)) return Status::Ok();
  if (!S_ISDIR(st.st_mode)) return Status::Invalid(fmt::format("{}: not a regular file or folder", path));
  std::vector<Item> items;
  return Gather(path, only, ignore, items);
}

Status Store::Check(const std::string& staged, const std::vector<std::string>& only) const {
  return CheckTree(staged, only, nullptr);
}

Result<ObjectRef> Store::Commit(const std::string& staged, const std::vector<std::string>& only) {
  return Ingest(staged, only, true, nullptr, nullptr, {});
}

Result<ObjectRef> Store::Snapshot(const std::string& path, HashCache* cache,
                                  const IgnoreRules* ignore, const ProgressFn& progress) {
  return Ingest(path, {}, false, cache, ignore, progress);
}

namespace {

// "a/b/c" -> {"a", "b", "c"}.
std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

IgnoreRules IgnoreRules::ForFolder(const std::string& root) {
  IgnoreRules rules;
  for (const char* always : {".weft", ".git", "__pycache__"}) {
    rules.patterns_.push_back({always, false, true, false, {}});
  }
  std::ifstream in(root + "/.amlignore");
  if (!in) in = std::ifstream(root + "/.gitignore");
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Pattern p;
    if (line[0] == '!') {
      p.negate = true;
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      p.dir_only = true;
      line.pop_back();
    }
    bool leading = !line.empty() && line[0] == '/';
    if (leading) line.erase(0, 1);
    p.anchored = leading || line.find('/') != std::string::npos;
    p.glob = line;
    if (p.anchored) p.segments = SplitPath(line);
    if (!p.glob.empty()) rules.patterns_.push_back(std::move(p));
  }
  return rules;
}

namespace {

// Whether the names from `n` on match the pattern's segments from `k` on: a `**` segment matches
// any number of names (at the end, at least one: `a/**` is what is inside a), any other segment
// one name, as fnmatch says (`*`, `?`, `[...]`; a name holds no `/`). `failed` remembers the
// (k, n) already known not to match, so that no pattern costs more than segments x names tries.
bool MatchSegments(const std::vector<std::string>& segments, size_t k,
                   const std::vector<std::string>& names, size_t n, std::vector<bool>& failed) {
  size_t at = k * (names.size() + 1) + n;
  if (failed[at]) return false;
  bool match;
  if (k == segments.size()) {
    match = n == names.size();
  } else if (segments[k] == "**") {
    match = k + 1 == segments.size() && n < names.size();
    for (size_t m = n; !match && k + 1 < segments.size() && m <= names.size(); ++m) {
      match = MatchSegments(segments, k + 1, names, m, failed);
    }
  } else {
    match = n < names.size() && ::fnmatch(segments[k].c_str(), names[n].c_str(), 0) == 0 &&
            MatchSegments(segments, k + 1, names, n + 1, failed);
  }
  if (!match) failed[at] = true;
  return match;
}

}  // namespace

bool IgnoreRules::Ignored(const std::string& rel, bool is_dir) const {
  bool ignored = false;
  std::string leaf = Leaf(rel);
  std::vector<std::string> names;  // (split once, for the anchored patterns)
  std::vector<bool> failed;         // (its room kept from one pattern to the next)
  for (const Pattern& p : patterns_) {
    if (p.dir_only && !is_dir) continue;
    if (p.anchored && names.empty()) names = SplitPath(rel);
    if (p.anchored) failed.assign((p.segments.size() + 1) * (names.size() + 1), false);
    bool match = p.anchored ? MatchSegments(p.segments, 0, names, 0, failed)
                            : ::fnmatch(p.glob.c_str(), leaf.c_str(), 0) == 0;
    if (match) ignored = !p.negate;
  }
  return ignored;
}

namespace {

// The digests named by the entries of a store folder (objects/, blobs/).
Result<std::vector<Digest>> Named(const std::string& folder) {
  std::vector<Digest> out;
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return Status::Io(fmt::format("{}: cannot list: {}", folder, std::strerror(errno)));
  while (struct dirent* e = ::readdir(dir)) {
    if (std::optional<Digest> d = ParseHex(e->d_name)) out.push_back(*d);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

// Moves `from` into quarantine/ under `name` and the time, so that a second one never collides.
Status MoveToQuarantine(const std::string& root, const std::string& from, const std::string& name) {
  Status s = MakeDirs(root + "/quarantine");
  if (!s.ok()) return s;
  std::string to = fmt::format("{}/quarantine/{}-{}", root, name, NowNs());
  ::chmod(from.c_str(), 0755);  // a read-only folder cannot move (its `..` changes)
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return Status::Io(fmt::format("{}: cannot move to quarantine: {}", from, std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Digest>> Store::Objects() const { return Named(root_ + "/objects"); }

Result<std::vector<Digest>> Store::Blobs() const { return Named(root_ + "/blobs"); }

Status Store::Quarantine(const Digest& d) { return MoveToQuarantine(root_, ObjectPath(d), "object-" + ToHex(d)); }

Status Store::QuarantineBlob(const Digest& d) { return MoveToQuarantine(root_, BlobPath(d), "blob-" + ToHex(d)); }

Status Store::Remove(const Digest& d) {
  std::string from = ObjectPath(d);
  std::string to = root_ + "/tmp/removed-" + ToHex(d) + "-" + TmpName();
  ::chmod(from.c_str(), 0755);  // a folder moves only if it can be written (its `..` changes)
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Io(fmt::format("{}: cannot remove: {}", from, std::strerror(errno)));
  }
  return RemoveTree(to);
}

Result<std::vector<std::string>> Store::Leftovers() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/tmp", ec)) {
    out.push_back(e.path().string());
  }
  if (ec) return Status::Io(fmt::format("{}/tmp: cannot list: {}", root_, ec.message()));
  return out;
}

Status Store::Sweep() {
  Result<std::vector<std::string>> leftovers = Leftovers();
  if (!leftovers.ok()) return leftovers.status();
  for (const std::string& path : *leftovers) {
    Status s = RemoveTree(path);
    if (!s.ok()) return s;
  }
  std::string blobs = root_ + "/blobs";
  DIR* dir = ::opendir(blobs.c_str());
  if (dir == nullptr) return Status::Io(fmt::format("{}: cannot list: {}", blobs, std::strerror(errno)));
  while (struct dirent* e = ::readdir(dir)) {
    if (!ParseHex(e->d_name)) continue;
    std::string path = blobs + "/" + e->d_name;
    struct stat st {};
    // One link: blobs/ is the only name left; no object holds the content.
    if (::lstat(path.c_str(), &st) != 0 || st.st_nlink != 1) continue;
    if (::unlink(path.c_str()) != 0) {
      ::closedir(dir);
      return Status::Io(fmt::format("{}: cannot remove: {}", path, std::strerror(errno)));
    }
  }
  ::closedir(dir);
  return Status::Ok();
}

}  // namespace weft::store
