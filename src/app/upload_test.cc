// Unpacking uploads, with archives made by the real `tar`.
#include "app/upload.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "test_util.h"

namespace weft::app {
namespace {

using weft::testing::TempDir;

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_.dir = dir_.Mkdir("ws/.weft");
    src_ = dir_.Mkdir("src");
  }
  // `tar ARGS...` run in the source folder; returns the archive's bytes.
  std::string Tar(std::vector<std::string> args) {
    std::string out = dir_.path() + "/a.tar";
    std::vector<std::string> argv = {"/bin/tar", "-cf", out};
    argv.insert(argv.end(), args.begin(), args.end());
    weft::testing::ProcessResult r = weft::testing::Run(argv, src_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return *ReadFileCapped(out, 64 << 20);
  }
  std::vector<std::string> Leftovers() {
    std::vector<std::string> out;
    if (StatPath(ws_.dir + "/uploads") != PathKind::kDirectory) return out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(ws_.dir + "/uploads")) {
      if (e.path().filename().string().rfind(".tmp", 0) == 0) out.push_back(e.path());
    }
    return out;
  }
  TempDir dir_;
  ws::Workspace ws_;
  std::string src_;
};

TEST_F(UploadTest, FilesAndFoldersAreUnpackedOncePerContent) {
  dir_.Write("src/p.yml", "jobs: {}\n");
  dir_.Write("src/code/train.py", "print(1)\n");
  ASSERT_EQ(::chmod((src_ + "/code/train.py").c_str(), 0755), 0);
  std::string tar = Tar({"p.yml", "code"});
  Result<std::string> dir = Unpack(ws_, tar);
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  EXPECT_EQ(*ReadFileCapped(*dir + "/code/train.py", 100), "print(1)\n");
  EXPECT_EQ(::access((*dir + "/code/train.py").c_str(), X_OK), 0);
  Result<std::string> again = Unpack(ws_, tar);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *dir);
  // `tar -c .` (its root entry `./` first) is the same files.
  Result<std::string> dotted = Unpack(ws_, Tar({"."}));
  ASSERT_TRUE(dotted.ok()) << dotted.status().message();
  EXPECT_EQ(*ReadFileCapped(*dotted + "/code/train.py", 100), "print(1)\n");
}

TEST_F(UploadTest, LinksAndEscapesAreRefusedNamingTheEntryAndLeaveNothing) {
  dir_.Write("src/p.yml", "jobs: {}\n");
  ASSERT_EQ(::symlink("/etc/passwd", (src_ + "/link").c_str()), 0);
  Result<std::string> r = Unpack(ws_, Tar({"p.yml", "link"}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("`link`: symbolic links"), std::string::npos)
      << r.status().message();
  ASSERT_EQ(::link((src_ + "/p.yml").c_str(), (src_ + "/hard").c_str()), 0);
  r = Unpack(ws_, Tar({"p.yml", "hard"}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hard links"), std::string::npos) << r.status().message();
  // GNU tar keeps `..` and leading `/` when asked to.
  r = Unpack(ws_, Tar({"--absolute-names", src_ + "/p.yml"}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("absolute paths"), std::string::npos) << r.status().message();
  dir_.Mkdir("src/sub");
  r = Unpack(ws_, Tar({"--absolute-names", "sub/../../src/p.yml"}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("`..`"), std::string::npos) << r.status().message();
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(UploadTest, AnArchiveThatUnpacksPastTheLimitsIsRefused) {
  dir_.Write("src/zeros", std::string(4 << 20, '\0'));  // compresses to almost nothing
  std::string gz = dir_.path() + "/a.tgz";
  ASSERT_EQ(weft::testing::Run({"/bin/tar", "-czf", gz, "zeros"}, src_).exit_code, 0);
  std::string bytes = *ReadFileCapped(gz, 1 << 20);
  EXPECT_LT(bytes.size(), 64u << 10);
  UploadLimits small;
  small.max_bytes = 1 << 20;
  Result<std::string> r = Unpack(ws_, bytes, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  for (int i = 0; i < 5; ++i) dir_.Write("src/many/f" + std::to_string(i), "x");
  UploadLimits few;
  few.max_files = 3;
  r = Unpack(ws_, Tar({"many"}), few);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_FALSE(Unpack(ws_, "not an archive").ok());
  EXPECT_TRUE(Leftovers().empty());
}

// Uploads by manifest: contents named by their digests, kept per project, assembled by links.
class ManifestTest : public UploadTest {
 protected:
  static std::string Hex(const std::string& bytes) { return ToHex(Sha256Of(bytes)); }
  // A tar of files named by the digests of `contents` (made by the real `tar`).
  std::string Contents(const std::vector<std::string>& contents) {
    std::vector<std::string> names;
    for (const std::string& c : contents) {
      dir_.Write("src/" + Hex(c), c);
      names.push_back(Hex(c));
    }
    return Tar(names);
  }
};

TEST_F(ManifestTest, OnlyMissingContentsAreAskedForAndTheFolderIsLinkedFromThem) {
  std::vector<ManifestFile> files = {{"code/train.py", Hex("print(1)\n"), 9, true},
                                     {"p.yml", Hex("jobs: {}\n"), 9, false},
                                     {"./data//same.txt", Hex("jobs: {}\n"), 9, false}};
  Result<std::vector<ManifestFile>> checked = CheckManifest(files);
  ASSERT_TRUE(checked.ok()) << checked.status().message();
  EXPECT_EQ(checked->front().path, "code/train.py");
  EXPECT_EQ((*checked)[1].path, "data/same.txt");  // made relative and plain, sorted
  EXPECT_EQ(MissingContent(ws_, "vision", *checked).size(), 2u);  // (one content, two files)
  EXPECT_EQ(Assemble(ws_, "vision", *checked).status().code(), Code::kNotFound);

  Result<int64_t> kept = KeepContent(ws_, "vision", Contents({"print(1)\n", "jobs: {}\n"}));
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(*kept, 2);
  EXPECT_TRUE(MissingContent(ws_, "vision", *checked).empty());
  // Another project has sent nothing: it is asked for everything, and learns nothing of ours.
  EXPECT_EQ(MissingContent(ws_, "nlp", *checked).size(), 2u);

  Result<std::string> id = Assemble(ws_, "vision", *checked);
  ASSERT_TRUE(id.ok()) << id.status().message();
  Result<std::string> dir = UploadFolder(ws_, "vision", *id);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*ReadFileCapped(*dir + "/code/train.py", 100), "print(1)\n");
  EXPECT_EQ(::access((*dir + "/code/train.py").c_str(), X_OK), 0);
  EXPECT_NE(::access((*dir + "/p.yml").c_str(), X_OK), 0);
  struct stat a {}, b {};
  ASSERT_EQ(::stat((*dir + "/p.yml").c_str(), &a), 0);
  ASSERT_EQ(::stat((*dir + "/data/same.txt").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // linked, not copied
  EXPECT_EQ(*Assemble(ws_, "vision", *checked), *id);
  // The id is the project's: another project cannot name it.
  EXPECT_EQ(UploadFolder(ws_, "nlp", *id).status().code(), Code::kNotFound);
  EXPECT_EQ(UploadFolder(ws_, "vision", "../vision/" + *id).status().code(), Code::kNotFound);
  EXPECT_TRUE(Leftovers().empty());
}

// An empty folder is an entry of its own: made as it is, asked for no content, part of the id.
TEST_F(ManifestTest, EmptyFoldersAreMadeAsTheyAre) {
  std::string d = Hex("jobs: {}\n");
  Result<std::vector<ManifestFile>> with = CheckManifest(
      {{"p.yml", d, 9, false}, {"data/empty", "", 0, false, true}, {"logs", "", 0, false, true}});
  ASSERT_TRUE(with.ok()) << with.status().message();
  Result<std::vector<ManifestFile>> without = CheckManifest({{"p.yml", d, 9, false}});
  ASSERT_TRUE(KeepContent(ws_, "vision", Contents({"jobs: {}\n"})).ok());
  EXPECT_TRUE(MissingContent(ws_, "vision", *with).empty());
  Result<std::string> id = Assemble(ws_, "vision", *with);
  ASSERT_TRUE(id.ok()) << id.status().message();
  std::string dir = *UploadFolder(ws_, "vision", *id);
  EXPECT_EQ(StatPath(dir + "/data/empty"), PathKind::kDirectory);
  EXPECT_EQ(StatPath(dir + "/logs"), PathKind::kDirectory);
  EXPECT_NE(*Assemble(ws_, "vision", *without), *id);
  // A folder carries nothing else, and is not also a file's folder.
  EXPECT_FALSE(CheckManifest({{"data", d, 0, false, true}}).ok());
  EXPECT_FALSE(CheckManifest({{"data", "", 0, false, true}, {"data/x", d, 1, false}}).ok());
  EXPECT_FALSE(CheckManifest({{"../up", "", 0, false, true}}).ok());
}

TEST_F(ManifestTest, BadManifestsAndContentsAreRefused) {
  std::string d = Hex("x");
  for (const std::vector<ManifestFile>& bad :
       std::vector<std::vector<ManifestFile>>{{{"/etc/passwd", d, 1, false}},
                                              {{"a/../../b", d, 1, false}},
                                              {{"a", "ABC", 1, false}},
                                              {{"a", d, -1, false}},
                                              {{"a", d, 1, false}, {"./a", d, 1, false}},
                                              {{"a", d, 1, false}, {"a/b", d, 1, false}}}) {
    EXPECT_FALSE(CheckManifest(bad).ok()) << bad.front().path;
  }
  EXPECT_EQ(CheckManifest({{"a", d, 3, false}, {"b", d, 3, false}}, UploadLimits{1, 100, 100})
                .status()
                .code(),
            Code::kTooLarge);
  EXPECT_EQ(CheckManifest({{"a", d, 60, false}, {"b", d, 60, false}}, UploadLimits{10, 100, 100})
                .status()
                .code(),
            Code::kTooLarge);
  // A content whose bytes are not what its name says, or not named by a digest.
  dir_.Write("src/" + Hex("what I say"), "something else");
  EXPECT_EQ(KeepContent(ws_, "vision", Tar({Hex("what I say")})).status().code(), Code::kInvalid);
  dir_.Write("src/notes.txt", "x");
  EXPECT_EQ(KeepContent(ws_, "vision", Tar({"notes.txt"})).status().code(), Code::kInvalid);
  EXPECT_EQ(MissingContent(ws_, "vision", {{"a", Hex("what I say"), 1, false}}).size(), 1u);
}

}  // namespace
}  // namespace weft::app
