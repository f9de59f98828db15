// The metadata store's contract, run against every implementation (SQLite today; a PostgreSQL
// one joins the list below and must pass the same suite).
#include "meta/meta.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "meta/sqlite_meta.h"
#include "test_util.h"

namespace weft::meta {
namespace {

using weft::testing::TempDir;

// An implementation: its name, and how to open a fresh store in a folder.
struct Implementation {
  const char* name;
  std::function<Result<std::unique_ptr<MetaStore>>(const std::string& dir)> open;
};

const Implementation kImplementations[] = {
    {"sqlite", [](const std::string& dir) { return OpenSqliteMeta(dir + "/weft.db"); }},
};

class MetaTest : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<MetaStore>> m = GetParam().open(dir_.path());
    ASSERT_TRUE(m.ok()) << m.status().message();
    meta_ = std::move(*m);
  }
  RunRecord NewRun(bool seeds = true) {
    EXPECT_TRUE(meta_->Begin().ok());
    RunRecord r;
    r.experiment = "exp";
    r.seeds_reuse = seeds;
    Result<RunRecord> created = meta_->CreateRun(r);
    EXPECT_TRUE(meta_->Commit().ok());
    return *created;
  }
  TempDir dir_;
  std::unique_ptr<MetaStore> meta_;
};

TEST_P(MetaTest, RunIdsAreShortAndSequential) {
  EXPECT_EQ(NewRun().id, "r1");
  EXPECT_EQ(NewRun().id, "r2");
  Result<std::optional<RunRecord>> last = meta_->FindRun("last");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->id, "r2");
  EXPECT_EQ((*meta_->FindRun("1"))->id, "r1");
  EXPECT_FALSE(meta_->FindRun("r9")->has_value());
}

TEST_P(MetaTest, ReuseCandidatesAreSucceededStepsOfSeedingRuns) {
  RunRecord seeding = NewRun(true);
  RunRecord forced = NewRun(false);
  ASSERT_TRUE(meta_->Begin().ok());
  for (const RunRecord* r : {&seeding, &forced}) {
    StepRecord s;
    s.run_id = r->id;
    s.index = 0;
    s.name = "train";
    s.status = StepStatus::kSucceeded;
    s.fingerprint = "sha256:f";
    s.finished_ns = r->seq;
    ASSERT_TRUE(meta_->PutStep(s).ok());
    for (const char* out : {"model", "artifacts"}) {
      OutputRecord o{out, std::string(out) + "-digest", store::ObjectType::kFolder, "", 1, {2, 3}};
      ASSERT_TRUE(meta_->PutOutput(r->id, 0, o).ok());
    }
  }
  StepRecord failed;
  failed.run_id = seeding.id;
  failed.index = 1;
  failed.status = StepStatus::kFailed;
  failed.fingerprint = "sha256:f";
  ASSERT_TRUE(meta_->PutStep(failed).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  Result<std::vector<ReuseCandidate>> c = meta_->ReuseCandidates("sha256:f");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].run_id, seeding.id);
  EXPECT_EQ((*c)[0].name, "train");
  ASSERT_EQ((*c)[0].outputs.size(), 2u);  // its own outputs only, by name
  EXPECT_EQ((*c)[0].outputs[0].name, "artifacts");
  EXPECT_EQ((*c)[0].outputs[1].digest, "model-digest");
}

// gc keeps the objects of the runs it keeps: their steps' inputs and outputs and the objects the
// engine recorded for the run (code snapshots, submitted files); a finished run not kept, none.
TEST_P(MetaTest, ReferencedDigestsFollowTheRunsKept) {
  RunRecord old_run = NewRun();
  RunRecord new_run = NewRun();
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutRunObjects(old_run.id, {"code-old", "submitted-old"}).ok());
  ASSERT_TRUE(meta_->PutRunObjects(new_run.id, {"code-new"}).ok());
  ASSERT_TRUE(meta_->PutInput(new_run.id, 0, {"x", "data", "/d", "input-new"}).ok());
  ASSERT_TRUE(meta_->FinishRun(old_run.id, RunStatus::kSucceeded, 0, 1).ok());
  ASSERT_TRUE(meta_->FinishRun(new_run.id, RunStatus::kSucceeded, 0, 2).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(*meta_->ReferencedDigests(-1)),
            (std::vector<std::string>{"code-new", "code-old", "input-new", "submitted-old"}));
  EXPECT_EQ(sorted(*meta_->ReferencedDigests(1)), (std::vector<std::string>{"code-new", "input-new"}));
  EXPECT_TRUE(meta_->ReferencedDigests(0)->empty());
}

TEST_P(MetaTest, FingerprintFieldsAreWrittenOnceAndReadInOrder) {
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutFingerprint("fp", {{"b", "2"}, {"a", "1"}}).ok());
  ASSERT_TRUE(meta_->PutFingerprint("fp", {{"c", "3"}}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  Result<std::vector<std::pair<std::string, std::string>>> f = meta_->FingerprintFields("fp");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<std::pair<std::string, std::string>>{{"b", "2"}, {"a", "1"}}));
}

TEST_P(MetaTest, HashCacheFollowsStatAndDistrustsTheSameClockTick) {
  std::string path = dir_.Write("f.txt", "x");
  struct stat st {};
  ::stat(path.c_str(), &st);
  Digest d{};
  d[0] = 7;
  int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  // Hashed in the same tick the file was written: never trusted.
  meta_->Record(path, st, d, mtime + 1000);
  EXPECT_FALSE(meta_->Lookup(path, st).has_value());
  // Hashed clearly later: trusted while stat says the same.
  meta_->Record(path, st, d, mtime + 1'000'000'000);
  ASSERT_TRUE(meta_->Lookup(path, st).has_value());
  EXPECT_EQ(*meta_->Lookup(path, st), d);
  struct stat changed = st;
  changed.st_size += 1;
  EXPECT_FALSE(meta_->Lookup(path, changed).has_value());
  changed = st;
  changed.st_ino += 1;
  EXPECT_FALSE(meta_->Lookup(path, changed).has_value());
}

INSTANTIATE_TEST_SUITE_P(Implementations, MetaTest, ::testing::ValuesIn(kImplementations),
                         [](const ::testing::TestParamInfo<Implementation>& i) { return i.param.name; });

}  // namespace
}  // namespace weft::meta
