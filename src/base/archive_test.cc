#include "base/archive.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace weft {
namespace {

using weft::testing::TempDir;

struct Written {
  std::string path;
  ArchiveEntry::Kind kind;
  bool executable;
  std::string data;
};

std::vector<Written> ReadBack(const std::string& tar) {
  std::vector<Written> out;
  Status s = ReadArchive(tar, [&](const ArchiveEntry& e, const ArchiveRead& read) {
    Written w{e.path, e.kind, e.executable, ""};
    while (true) {
      Result<std::string_view> chunk = read();
      if (!chunk.ok()) return chunk.status();
      if (chunk->empty()) break;
      w.data += *chunk;
    }
    out.push_back(w);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

TEST(WriteTarTest, AFolderIsWrittenInNameOrderWithModesAndLinks) {
  TempDir dir;
  std::string root = dir.Mkdir("model");
  dir.Write("model/weights.bin", std::string(200'000, 'w'));
  std::string script = dir.Write("model/sub/run.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod(script.c_str(), 0700), 0);
  ASSERT_EQ(::symlink("weights.bin", (root + "/latest").c_str()), 0);
  std::string tar;
  Status s = WriteTar(root, "train.model", [&](std::string_view d) {
    tar += d;
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<Written> got = ReadBack(tar);
  std::vector<std::string> names;
  for (const Written& w : got) names.push_back(w.path);
  // (libarchive writes a folder's name with a trailing `/`.)
  EXPECT_EQ(names,
            (std::vector<std::string>{"train.model/", "train.model/latest", "train.model/sub/",
                                      "train.model/sub/run.sh", "train.model/weights.bin"}));
  EXPECT_EQ(got[0].kind, ArchiveEntry::Kind::kFolder);
  EXPECT_EQ(got[1].kind, ArchiveEntry::Kind::kSymlink);
  EXPECT_TRUE(got[3].executable);
  EXPECT_EQ(got[3].data, "#!/bin/sh\n");
  EXPECT_FALSE(got[4].executable);
  EXPECT_EQ(got[4].data, std::string(200'000, 'w'));
}

TEST(WriteTarTest, AFileIsOneEntryUnderItsName) {
  TempDir dir;
  std::string file = dir.Write("metrics.json", "{}");
  std::string tar;
  ASSERT_TRUE(WriteTar(file, "eval.metrics", [&](std::string_view d) {
                tar += d;
                return true;
              }).ok());
  std::vector<Written> got = ReadBack(tar);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "eval.metrics");
  EXPECT_EQ(got[0].data, "{}");
}

TEST(WriteTarTest, UnnamedEntriesArePathsInsideAndKeepLeavesFoldersOut) {
  TempDir dir;
  dir.Write("proj/p.yml", "type: pipeline\n");
  dir.Write("proj/src/train.py", "print(1)\n");
  dir.Write("proj/.git/config", "secret");
  dir.Write("proj/src/__pycache__/train.pyc", "");
  std::string tar;
  Status s = WriteTar(
      dir.path() + "/proj", "",
      [&](std::string_view d) {
        tar += d;
        return true;
      },
      [](const std::string& rel) {
        std::string base = rel.substr(rel.rfind('/') + 1);
        return base != ".git" && base != "__pycache__";
      });
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<std::string> names;
  for (const Written& w : ReadBack(tar)) names.push_back(w.path);
  EXPECT_EQ(names, (std::vector<std::string>{"p.yml", "src/", "src/train.py"}));
}

TEST(WriteTarTest, AReaderThatGoesAwayStopsIt) {
  TempDir dir;
  dir.Write("big/a", std::string(1 << 20, 'a'));
  int writes = 0;
  Status s = WriteTar(dir.path() + "/big", "big", [&](std::string_view) { return ++writes < 2; });
  EXPECT_EQ(s.code(), Code::kCanceled);
  EXPECT_LT(writes, 10);  // of the hundred blocks a whole archive would take
}

}  // namespace
}  // namespace weft
