#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::store {
namespace {

using weft::testing::TempDir;

std::string Read(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A HashCache kept in memory: the real cache lives in the metadata database.
class MapCache : public HashCache {
 public:
  std::optional<Digest> Lookup(const std::string& path, const struct stat& st) override {
    ++lookups;
    auto it = entries.find(path);
    if (it == entries.end() || it->second.first != st.st_mtim.tv_nsec + st.st_size) {
      return std::nullopt;
    }
    ++hits;
    return it->second.second;
  }
  void Record(const std::string& path, const struct stat& st, const Digest& d, int64_t) override {
    entries[path] = {st.st_mtim.tv_nsec + st.st_size, d};
    ++records;
  }
  std::map<std::string, std::pair<int64_t, Digest>> entries;
  int lookups = 0, hits = 0, records = 0;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.Init().ok()); }
  TempDir dir_;
  Store store_{dir_.path() + "/store", RealOs()};
};

TEST_F(StoreTest, CommitMovesAFolderInAndMakesItReadOnly) {
  dir_.Write("out/model.pkl", "weights");
  dir_.Write("out/sub/metrics.json", "{}");
  ::symlink("sub/metrics.json", (dir_.path() + "/out/latest").c_str());
  struct stat staged {}, st {};
  ::stat((dir_.path() + "/out").c_str(), &staged);
  Result<ObjectRef> ref = store_.Commit(dir_.path() + "/out");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  // The folder itself became the object (no folder made, no file copied); its files are links to
  // their blobs.
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/out"));
  std::string obj = store_.DeliveryPath(*ref);
  ::stat(obj.c_str(), &st);
  EXPECT_EQ(st.st_ino, staged.st_ino);
  EXPECT_EQ(Read(obj + "/model.pkl"), "weights");
  EXPECT_EQ(Read(obj + "/latest"), "{}");
  ::stat((obj + "/model.pkl").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0222, 0u);
  EXPECT_EQ(st.st_nlink, 2u) << "blobs/ and the object";
  for (const std::string& folder : {obj, obj + "/sub"}) {
    ::stat(folder.c_str(), &st);
    EXPECT_EQ(st.st_mode & 0222, 0u) << folder;
  }
  EXPECT_TRUE(store_.Leftovers()->empty());
  // The digest is the tree digest of what was committed.
  Digest expected = TreeDigest(
      {{"model.pkl", EntryKind::kFile, FileDigest("weights", false)},
       {"sub", EntryKind::kFolder,
        TreeDigest({{"metrics.json", EntryKind::kFile, FileDigest("{}", false)}})},
       {"latest", EntryKind::kLink, LinkDigest("sub/metrics.json")}});
  EXPECT_EQ(ref->digest, expected);
  EXPECT_EQ(ref->files, 2u);
}

// A folder the store cannot take as it is (one of its folders is not writable) is built anew:
// the same object, and what was committed stays behind, emptied of its files.
TEST_F(StoreTest, CommitBuildsAFolderItCannotTakeAnew) {
  dir_.Write("out/model.pkl", "weights");
  dir_.Write("out/locked/notes.txt", "n");
  Result<ObjectRef> expected = HashPath(dir_.path() + "/out");
  ASSERT_TRUE(expected.ok());
  ::chmod((dir_.path() + "/out/locked").c_str(), 0500);
  Result<ObjectRef> ref = store_.Commit(dir_.path() + "/out");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  EXPECT_EQ(ref->digest, expected->digest);
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() + "/out/locked"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/out/model.pkl"));
  EXPECT_EQ(Read(store_.DeliveryPath(*ref) + "/locked/notes.txt"), "n");
  EXPECT_TRUE(store_.Leftovers()->empty());
}

TEST_F(StoreTest, CommitOfSomeEntriesStoresJustThoseFolders) {
  dir_.Write("work/train.py", "code");
  dir_.Write("work/outputs/model.pkl", "weights");
  dir_.Write("work/scratch/tmp.bin", "noise");
  std::string work = dir_.path() + "/work";
  ASSERT_TRUE(store_.Check(work, {"outputs", "logs"}).ok());
  Result<ObjectRef> ref = store_.Commit(work, {"outputs", "logs"});  // logs/ is missing
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  Digest expected = TreeDigest(
      {{"outputs", EntryKind::kFolder,
        TreeDigest({{"model.pkl", EntryKind::kFile, FileDigest("weights", false)}})}});
  EXPECT_EQ(ref->digest, expected);
  EXPECT_EQ(Read(store_.DeliveryPath(*ref) + "/outputs/model.pkl"), "weights");
  EXPECT_FALSE(std::filesystem::exists(store_.DeliveryPath(*ref) + "/train.py"));
  EXPECT_EQ(Read(work + "/train.py"), "code");  // not part of the object: untouched
  EXPECT_EQ(Read(work + "/scratch/tmp.bin"), "noise");
  // A file where a folder is expected is refused before anything moves.
  dir_.Write("bad/outputs", "a file");
  EXPECT_FALSE(store_.Check(dir_.path() + "/bad", {"outputs"}).ok());
}

TEST_F(StoreTest, IdenticalContentIsStoredOnce) {
  dir_.Write("a/x.txt", "same");
  dir_.Write("b/x.txt", "same");
  Result<ObjectRef> a = store_.Commit(dir_.path() + "/a");
  Result<ObjectRef> b = store_.Commit(dir_.path() + "/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->digest, b->digest);
  size_t blobs = 0;
  for (auto& e : std::filesystem::directory_iterator(store_.root() + "/blobs")) {
    (void)e;
    ++blobs;
  }
  EXPECT_EQ(blobs, 1u);
}

TEST_F(StoreTest, FileObjectsKeepTheirNames) {
  dir_.Write("one/train.csv", "a,b\n1,2\n");
  dir_.Write("two/other.csv", "a,b\n1,2\n");
  Result<ObjectRef> a = store_.Commit(dir_.path() + "/one/train.csv");
  Result<ObjectRef> b = store_.Commit(dir_.path() + "/two/other.csv");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(a->digest, FileDigest("a,b\n1,2\n", false));
  EXPECT_TRUE(store_.DeliveryPath(*a).ends_with("/train.csv"));
  EXPECT_EQ(Read(store_.DeliveryPath(*a)), "a,b\n1,2\n");
  EXPECT_EQ(Read(store_.DeliveryPath(*b)), "a,b\n1,2\n");
}

TEST_F(StoreTest, LinkOutsideTheTreeIsRefusedAndNothingEntersTheStore) {
  dir_.Write("out/ok.txt", "fine");
  ::symlink("../../etc/passwd", (dir_.path() + "/out/escape").c_str());
  Result<ObjectRef> ref = store_.Commit(dir_.path() + "/out");
  ASSERT_FALSE(ref.ok());
  EXPECT_NE(ref.status().message().find("symbolic link `escape` points outside its folder"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(store_.root() + "/objects"));
  EXPECT_TRUE(std::filesystem::is_empty(store_.root() + "/blobs"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/out/ok.txt"));
}

TEST_F(StoreTest, SnapshotCopiesHonoursIgnoreRulesAndUsesTheHashCache) {
  dir_.Write("code/train.py", "print(1)");
  dir_.Write("code/.gitignore", "*.log\nbuild/\n!keep.log\n");
  dir_.Write("code/run.log", "noise");
  dir_.Write("code/keep.log", "kept");
  dir_.Write("code/build/x.o", "obj");
  dir_.Write("code/__pycache__/t.pyc", "cache");
  dir_.Write("code/.git/HEAD", "ref");
  std::string code = dir_.path() + "/code";
  IgnoreRules rules = IgnoreRules::ForFolder(code);
  MapCache cache;
  Result<ObjectRef> first = store_.Snapshot(code, &cache, &rules);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(std::filesystem::exists(code + "/train.py"));  // a copy, not a move
  std::string obj = store_.DeliveryPath(*first);
  EXPECT_TRUE(std::filesystem::exists(obj + "/train.py"));
  EXPECT_TRUE(std::filesystem::exists(obj + "/keep.log"));
  EXPECT_TRUE(std::filesystem::exists(obj + "/.gitignore"));
  EXPECT_FALSE(std::filesystem::exists(obj + "/run.log"));
  EXPECT_FALSE(std::filesystem::exists(obj + "/build"));
  EXPECT_FALSE(std::filesystem::exists(obj + "/__pycache__"));
  EXPECT_FALSE(std::filesystem::exists(obj + "/.git"));
  EXPECT_EQ(cache.records, 3);
  Result<ObjectRef> second = store_.Snapshot(code, &cache, &rules);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->digest, first->digest);
  EXPECT_EQ(cache.hits, 3);  // unchanged files were not read again
  dir_.Write("code/train.py", "print(2)");
  Result<ObjectRef> third = store_.Snapshot(code, &cache, &rules);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third->digest, first->digest);
}

// gitignore's syntax, which Azure ML's .amlignore uses: a leading or middle slash anchors a
// pattern at the folder; `**` spans folders; `*`, `?` and classes stay within one name.
TEST_F(StoreTest, IgnoreRulesFollowGitignore) {
  dir_.Write("code/.amlignore",
             "/build/\n**/*.ckpt\ndata/**\n*.py[co]\na/**/z.txt\ndocs/*.md\n#c.txt\n\\#d.txt\n");
  IgnoreRules rules = IgnoreRules::ForFolder(dir_.path() + "/code");
  EXPECT_TRUE(rules.Ignored("build", true));
  EXPECT_FALSE(rules.Ignored("src/build", true));  // anchored: only the top one
  EXPECT_FALSE(rules.Ignored("build", false));     // folders only
  EXPECT_TRUE(rules.Ignored("m.ckpt", false));
  EXPECT_TRUE(rules.Ignored("x/y/m.ckpt", false));
  EXPECT_FALSE(rules.Ignored("data", true));  // what is inside, not the folder
  EXPECT_TRUE(rules.Ignored("data/f.csv", false));
  EXPECT_TRUE(rules.Ignored("data/x/f.csv", false));
  EXPECT_TRUE(rules.Ignored("t.pyc", false));
  EXPECT_TRUE(rules.Ignored("lib/t.pyo", false));
  EXPECT_FALSE(rules.Ignored("t.py", false));
  EXPECT_TRUE(rules.Ignored("a/z.txt", false));
  EXPECT_TRUE(rules.Ignored("a/b/c/z.txt", false));
  EXPECT_FALSE(rules.Ignored("b/a/z.txt", false));
  EXPECT_TRUE(rules.Ignored("docs/i.md", false));
  EXPECT_FALSE(rules.Ignored("docs/api/i.md", false));  // `*` stays within one name
  EXPECT_FALSE(rules.Ignored("c.txt", false));          // a comment
  EXPECT_TRUE(rules.Ignored("#d.txt", false));          // escaped
  // A hostile pattern (40 `**` between names that never all match) against a path 60 folders
  // deep: each (segment, name) pair is tried once, not every way of splitting the path.
  std::string hostile, deep;
  for (int i = 0; i < 40; ++i) hostile += "**/x/";
  for (int i = 0; i < 60; ++i) deep += "x/";
  dir_.Write("hostile/.amlignore", hostile + "y\n");
  IgnoreRules slow = IgnoreRules::ForFolder(dir_.path() + "/hostile");
  EXPECT_FALSE(slow.Ignored(deep + "z", false));
  EXPECT_TRUE(slow.Ignored(deep + "y", false));
}

TEST_F(StoreTest, FilesWithOtherHardLinksAreCopiedNotMoved) {
  std::string a = dir_.Write("out/a.txt", "shared");
  ::link(a.c_str(), (dir_.path() + "/elsewhere.txt").c_str());
  Result<ObjectRef> ref = store_.Commit(dir_.path() + "/out");
  ASSERT_TRUE(ref.ok());
  // The other link still points at a writable file that the store does not share.
  std::ofstream(dir_.path() + "/elsewhere.txt") << "changed";
  EXPECT_EQ(Read(store_.DeliveryPath(*ref) + "/a.txt"), "shared");
}

}  // namespace
}  // namespace weft::store

namespace weft::store {
namespace {

// An object is intact while its seal holds; with new inodes (a copied workspace) its content
// decides, and a damaged one is refused.
TEST_F(StoreTest, ASyncBatchSyncsEachStoreFolderOnceWhenFlushed) {
  dir_.Write("a/x", "1");
  dir_.Write("b/y", "2");
  dir_.Write("c/z", "3");
  SyncBatch batch;
  ASSERT_TRUE(store_.Commit(dir_.path() + "/a").ok());
  ASSERT_TRUE(store_.Commit(dir_.path() + "/b").ok());
  std::string root = dir_.path() + "/store";
  EXPECT_EQ(batch.pending(), (std::vector<std::string>{root + "/blobs", root + "/objects"}));
  // Another thread has no batch: its publishing syncs at once.
  std::thread other([&] { ASSERT_TRUE(store_.Commit(dir_.path() + "/c").ok()); });
  other.join();
  EXPECT_EQ(batch.pending().size(), 2u);
  EXPECT_TRUE(batch.Flush().ok());
  EXPECT_TRUE(batch.pending().empty());
}

TEST(StoreSealTest, VerifyTrustsTheSealThenTheContent) {
  weft::testing::TempDir dir;
  Store store(dir.path() + "/store", RealOs());
  ASSERT_TRUE(store.Init().ok());
  dir.Write("out/a.txt", "alpha");
  Result<ObjectRef> ref = store.Commit(dir.path() + "/out");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  Result<Seal> seal = store.SealOf(ref->digest);
  ASSERT_TRUE(seal.ok());
  EXPECT_EQ(store.Verify(*ref, *seal), *seal);
  // Copied elsewhere and back: new inode, same content.
  std::string object = store.ObjectPath(ref->digest);
  ASSERT_EQ(weft::testing::Run({"/bin/cp", "-a", object, object + ".copy"}, "/").exit_code, 0);
  ASSERT_EQ(weft::testing::Run({"/bin/chmod", "u+w", dir.path() + "/store/objects"}, "/").exit_code, 0);
  ASSERT_EQ(weft::testing::Run({"/bin/rm", "-rf", object}, "/").exit_code, 0);
  ASSERT_EQ(weft::testing::Run({"/bin/mv", object + ".copy", object}, "/").exit_code, 0);
  std::optional<Seal> resealed = store.Verify(*ref, *seal);
  ASSERT_TRUE(resealed.has_value());
  EXPECT_NE(resealed->inode, seal->inode);
  // A file replaced (as root can): the folder changed, and its content no longer matches.
  ASSERT_EQ(weft::testing::Run({"/bin/sh", "-c",
                                "chmod u+w \"$0\" && rm -f \"$0/a.txt\" && echo beta > \"$0/a.txt\"",
                                object},
                               "/").exit_code, 0);
  EXPECT_FALSE(store.Verify(*ref, *resealed).has_value());
  EXPECT_FALSE(store.SealOf(Digest{}).ok());
}

TEST(StoreSealTest, CompareTreesNamesAddedChangedAndRemovedFiles) {
  weft::testing::TempDir dir;
  Store store(dir.path() + "/store", RealOs());
  ASSERT_TRUE(store.Init().ok());
  dir.Write("v1/same.py", "x = 1\n");
  dir.Write("v1/edited.py", "y = 1\n");
  dir.Write("v1/gone.py", "z = 1\n");
  dir.Write("v2/same.py", "x = 1\n");
  dir.Write("v2/edited.py", "y = 2\n");
  dir.Write("v2/lib/new.py", "w = 1\n");
  Result<ObjectRef> a = store.Snapshot(dir.path() + "/v1", nullptr, nullptr);
  Result<ObjectRef> b = store.Snapshot(dir.path() + "/v2", nullptr, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  Result<TreeDiff> d = store.CompareTrees(a->digest, b->digest);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->added, std::vector<std::string>{"lib/new.py"});
  EXPECT_EQ(d->changed, std::vector<std::string>{"edited.py"});
  EXPECT_EQ(d->removed, std::vector<std::string>{"gone.py"});
  EXPECT_TRUE(store.CompareTrees(a->digest, a->digest)->empty());
}

}  // namespace
}  // namespace weft::store

namespace weft::store {
namespace {

// The real operating system, for a test to change one part of.
class RealOsBut : public Os {
 public:
  int64_t NowNs() const override { return RealOs().NowNs(); }
  std::vector<std::string> Environment() const override { return {}; }
  std::optional<std::string> GetEnv(const std::string&) const override { return std::nullopt; }
  int64_t Pid() const override { return RealOs().Pid(); }
  std::string ProcessStartTime(int64_t pid) const override { return RealOs().ProcessStartTime(pid); }
  std::string BootId() const override { return RealOs().BootId(); }
  Status CopyFile(const std::string& from, const std::string& to) const override {
    return RealOs().CopyFile(from, to);
  }
};

// The real operating system, except that every copy finds the disk full (after writing part of
// the file, as a real full disk does).
class FullDiskOs : public RealOsBut {
 public:
  Status CopyFile(const std::string& from, const std::string& to) const override {
    ++copies;
    std::ofstream(to) << "part of it";
    std::filesystem::remove(to);  // what a failed copy leaves: nothing
    return Status::Io(fmt::format("{}: cannot write: No space left on device", to));
  }
  mutable int copies = 0;
};

TEST(StoreFullDiskTest, AFailedCopyLeavesNoObjectAndNothingHalfWritten) {
  TempDir dir;
  FullDiskOs os;
  Store store(dir.path() + "/store", os);
  ASSERT_TRUE(store.Init().ok());
  dir.Write("data/a.csv", "x,y\n1,2\n");
  dir.Write("data/b.csv", "x,y\n3,4\n");
  Result<ObjectRef> ref = store.Snapshot(dir.path() + "/data", nullptr, nullptr);
  ASSERT_FALSE(ref.ok());
  EXPECT_NE(ref.status().message().find("No space left on device"), std::string::npos)
      << ref.status().message();
  EXPECT_GE(os.copies, 1);
  Result<ObjectRef> hashed = HashPath(dir.path() + "/data");
  ASSERT_TRUE(hashed.ok());
  EXPECT_FALSE(store.Has(hashed->digest));
  for (const char* sub : {"/store/tmp", "/store/blobs"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path() + sub)) {
      EXPECT_FALSE(e.is_regular_file()) << e.path();
    }
  }
}

// The real operating system, with a clock that moves on 0.4 s each time it is read: every
// snapshot is a long one.
class SlowClockOs : public RealOsBut {
 public:
  int64_t NowNs() const override { return now += 400'000'000; }
  mutable int64_t now = 0;
};

TEST(StoreProgressTest, ALongSnapshotReportsHashingThenStoringToTheEnd) {
  TempDir dir;
  SlowClockOs os;
  Store store(dir.path() + "/store", os);
  ASSERT_TRUE(store.Init().ok());
  uint64_t bytes = 0;
  for (int i = 0; i < 6; ++i) {
    std::string content(1000 * (i + 1), static_cast<char>('a' + i));
    dir.Write(fmt::format("data/f{}", i), content);
    bytes += content.size();
  }
  std::vector<SnapshotProgress> seen;
  Result<ObjectRef> ref = store.Snapshot(dir.path() + "/data", nullptr, nullptr,
                                         [&](const SnapshotProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().phase, "hashing");
  EXPECT_EQ(seen.back().phase, "storing");
  EXPECT_EQ(seen.back().path, dir.path() + "/data");
  for (std::string_view phase : {"hashing", "storing"}) {
    uint64_t files = 0;
    const SnapshotProgress* last = nullptr;
    for (const SnapshotProgress& p : seen) {
      if (p.phase != phase) continue;
      EXPECT_GE(p.files, files) << phase;
      files = p.files;
      EXPECT_EQ(p.total_files, 6u);
      EXPECT_EQ(p.total_bytes, bytes);
      EXPECT_GT(p.seconds, 0);
      last = &p;
    }
    ASSERT_NE(last, nullptr) << phase;
    EXPECT_EQ(last->files, 6u) << phase << " ends with every file";
    EXPECT_EQ(last->bytes, bytes) << phase;
  }
  // A snapshot shorter than a second says nothing.
  Store quick(dir.path() + "/store", RealOs());
  std::vector<SnapshotProgress> quiet;
  dir.Write("small/a", "a");
  ASSERT_TRUE(quick.Snapshot(dir.path() + "/small", nullptr, nullptr,
                             [&](const SnapshotProgress& p) { quiet.push_back(p); })
                  .ok());
  EXPECT_TRUE(quiet.empty());
}

}  // namespace
}  // namespace weft::store
