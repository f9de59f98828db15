// The content-addressed store: immutable, read-only objects named by their digest.
//
// Layout under the store's root:
//   blobs/<hex>          file contents (read-only), shared by every object that holds them
//   objects/<hex>/       a folder object: its tree, files hard-linked to blobs, read-only;
//                        a file object: a folder holding the file under each name it arrived with
//   tmp/                 objects under construction; renamed into objects/ when complete
//
// Committing moves a step's staged output in (rename, no copy, unless the file has other hard links
// or lives on another filesystem); snapshotting copies a user's files in (only files the store does
// not hold yet). Every file and folder is fsynced before the rename that publishes it, and the
// folders after, so an object that is visible is complete on disk.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/os.h"
#include "base/status.h"
#include "store/object.h"

namespace weft::store {

enum class ObjectType { kFile, kFolder };
// "file" and "folder", as records and JSON write them.
std::string_view TypeName(ObjectType t);
std::optional<ObjectType> ParseObjectType(std::string_view name);

struct ObjectRef {
  Digest digest{};
  ObjectType type = ObjectType::kFolder;
  std::string name;  // file objects: the name it is delivered under
  uint64_t bytes = 0;
  uint64_t files = 0;
};

// What an object's folder looked like when it was sealed (published): while it still does, the
// object is whole. Nothing in the store changes an object once published; a copy of the
// workspace (`cp -a`, a backup) changes the inodes but not the content.
struct Seal {
  int64_t inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const Seal&) const = default;
};

// How two folder objects differ, file by file (relative paths).
struct TreeDiff {
  std::vector<std::string> added, removed, changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

// Remembers the digests of a user's files, keyed by what stat says about them, so that unchanged
// files are not read again. Implemented over the metadata database.
class HashCache {
 public:
  virtual ~HashCache() = default;
  virtual std::optional<Digest> Lookup(const std::string& path, const struct stat& st) = 0;
  // `hashed_at_ns` is the wall clock just before the file was read (git's racy-clean rule: an entry
  // whose mtime is not clearly before it is never trusted).
  virtual void Record(const std::string& path, const struct stat& st, const Digest& digest,
                      int64_t hashed_at_ns) = 0;
};

// Which files of a code folder to leave out (.amlignore, else .gitignore, at the folder's root;
// .weft/, .git/ and __pycache__/ always), in gitignore's syntax, as Azure ML reads it: `#`
// comments, `!` re-includes, a trailing `/` for folders only, a leading or middle `/` anchors the
// pattern at the folder, `*`, `?` and `[...]` stay within one name, `**/`, `/**/` and a trailing
// `/**` span folders.
class IgnoreRules {
 public:
  static IgnoreRules ForFolder(const std::string& root);
  // `rel` uses `/` and has no leading slash.
  bool Ignored(const std::string& rel, bool is_dir) const;

 private:
  struct Pattern {
    std::string glob;
    bool negate = false;
    bool dir_only = false;
    // A slash at its start or in its middle: matched against the whole relative path, one
    // segment at a time (`**` standing for any number of folders); else against the last name.
    bool anchored = false;
    std::vector<std::string> segments;
  };
  std::vector<Pattern> patterns_;
};

// How a long snapshot is getting on. Reported from the threads that hash (one call at a time),
// first after a second, then at most every half second, and once more when a phase ends.
struct SnapshotProgress {
  std::string path;
  std::string_view phase;         // "hashing" (reading every file), then "storing" (copying)
  uint64_t files = 0, bytes = 0;  // done in this phase
  uint64_t total_files = 0, total_bytes = 0;
  double seconds = 0;  // since this phase began
};
using ProgressFn = std::function<void(const SnapshotProgress&)>;

// Checks, without reading any content, that `path` could be stored: a regular file, or a folder
// (with `only`, just those top-level folders; with `ignore`, less what it leaves out) of files,
// folders and links that stay inside it. The error names the first entry that could not.
Status CheckTree(const std::string& path, const std::vector<std::string>& only = {},
                 const IgnoreRules* ignore = nullptr);

// The digest (and size) a file or folder would have in the store, without storing anything.
// With `cache`, files it knows are not read (fsck passes what it learnt hashing blobs).
Result<ObjectRef> HashPath(const std::string& path, const IgnoreRules* ignore = nullptr,
                           HashCache* cache = nullptr);

// Publishing an object ends with fsyncs of the store's own folders (blobs/, objects/), so that its
// name survives a crash; the object itself is complete on disk before it is published either way.
// While a SyncBatch lives on a thread, those fsyncs of that thread's publishing wait for its
// Flush (or its end), each folder once: a caller that commits many objects and then records them
// (the engine's pass) flushes before it records. Not nested.
class SyncBatch {
 public:
  SyncBatch();
  ~SyncBatch();
  SyncBatch(const SyncBatch&) = delete;
  SyncBatch& operator=(const SyncBatch&) = delete;
  Status Flush();
  void Add(const std::string& dir);
  const std::vector<std::string>& pending() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

class Store {
 public:
  // `os`: where the store's copies go through (a test makes the disk fill up there).
  Store(std::string root, const Os& os) : root_(std::move(root)), os_(os) {}

  // Creates the layout. Idempotent.
  Status Init() const;
  const std::string& root() const { return root_; }

  // Moves the files of `staged` (a file or a folder) into the store. A folder on the store's
  // filesystem whose folders are all ours and writable becomes the object itself (its files
  // linked back in); otherwise its folders and links stay behind, empty and unused (removing them
  // would only cost time). With `only`, the object is the folder of just those top-level folders
  // of `staged` (missing ones are left out). A symbolic link that points outside the staged tree
  // is an error naming it, and nothing enters the store.
  Result<ObjectRef> Commit(const std::string& staged, const std::vector<std::string>& only = {});

  // Checks, without hashing or moving anything, that `staged` (with `only`, as Commit) could be
  // committed: a regular file or a folder of files, folders and links that stay inside it. Lets a
  // caller with several outputs refuse them all before any enters the store.
  Status Check(const std::string& staged, const std::vector<std::string>& only = {}) const;

  // Copies a user's file or folder into the store (code snapshots, local data inputs). Files whose
  // stat matches `cache` are not read again; files the store already holds are not copied. A
  // snapshot that takes more than a second tells `progress` how it is getting on (see
  // SnapshotProgress).
  Result<ObjectRef> Snapshot(const std::string& path, HashCache* cache, const IgnoreRules* ignore,
                             const ProgressFn& progress = {});

  bool Has(const Digest& d) const;
  // The seal of a stored object; NotFound when it is not in the store.
  Result<Seal> SealOf(const Digest& d) const;
  // Whether `ref` is in the store and whole, given the seal recorded when it was made: the seal
  // still holds, or else its content still hashes to its digest. Returns its seal now (which the
  // caller keeps, so that the content is read once), or nullopt when it is gone or damaged.
  std::optional<Seal> Verify(const ObjectRef& ref, const Seal& recorded) const;
  // The files in which folder object `now` differs from folder object `before`.
  Result<TreeDiff> CompareTrees(const Digest& before, const Digest& now) const;
  // The folder of an object; for a file object, the file is `ObjectPath(d) + "/" + name`.
  std::string ObjectPath(const Digest& d) const;
  // The path a step receives: the folder of a folder object, the named file of a file object.
  std::string DeliveryPath(const ObjectRef& ref) const;
  // Makes sure a file object holds the file under `name` too (hard link; idempotent).
  Status AddName(const Digest& d, const std::string& name);

  // Housekeeping, for `weft gc` and `weft fsck`, which hold the workspace lock exclusively.
  // Every object in the store.
  Result<std::vector<Digest>> Objects() const;
  // Takes an object out of objects/ with one rename (it is either whole or gone), then deletes it.
  Status Remove(const Digest& d);
  // Every blob (file content), by digest, and where it is.
  Result<std::vector<Digest>> Blobs() const;
  std::string BlobPath(const Digest& d) const { return root_ + "/blobs/" + ToHex(d); }
  // Moves a damaged object or blob to quarantine/ (kept for inspection, never used again).
  Status Quarantine(const Digest& d);
  Status QuarantineBlob(const Digest& d);

  // What runs that died while building an object left in tmp/.
  Result<std::vector<std::string>> Leftovers() const;
  // Deletes the blobs no object links to any more and everything left in tmp/.
  Status Sweep();

 private:
  // Commit (move) and Snapshot (copy) share everything but how file contents enter blobs/.
  Result<ObjectRef> Ingest(const std::string& path, const std::vector<std::string>& only, bool move,
                           HashCache* cache, const IgnoreRules* ignore, const ProgressFn& progress);
  // Renames a finished object folder into objects/ (or drops it when the object exists).
  Status Publish(const std::string& tmp, const Digest& d);

  std::string root_;
  const Os& os_;
};

}  // namespace weft::store
