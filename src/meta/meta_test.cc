#include "meta/meta.h"

#include <sys/stat.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::meta {
namespace {

using weft::testing::TempDir;

class MetaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<MetaStore>> m = MetaStore::Open(dir_.path() + "/weft.db");
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

TEST_F(MetaTest, RunIdsAreShortAndSequential) {
  EXPECT_EQ(NewRun().id, "r1");
  EXPECT_EQ(NewRun().id, "r2");
  Result<std::optional<RunRecord>> last = meta_->FindRun("last");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->id, "r2");
  EXPECT_EQ((*meta_->FindRun("1"))->id, "r1");
  EXPECT_FALSE(meta_->FindRun("r9")->has_value());
}

TEST_F(MetaTest, ReopeningKeepsDataAndSchemaVersion) {
  NewRun();
  meta_.reset();
  Result<std::unique_ptr<MetaStore>> again = MetaStore::Open(dir_.path() + "/weft.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Runs(10)->size(), 1u);
}

// A database left at an older schema version is brought up to date when opened, its data kept.
TEST_F(MetaTest, OpeningAnOlderSchemaMigratesIt) {
  NewRun();
  meta_.reset();
  std::string path = dir_.path() + "/weft.db";
  {  // put the database back to schema version 1, as an earlier weft left it (undo every
     // later migration here when adding one)
    Result<std::unique_ptr<Db>> db = Db::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("ALTER TABLE runs DROP COLUMN resumes; ALTER TABLE runs DROP COLUMN submission; ALTER TABLE runs DROP COLUMN tags; ALTER TABLE runs DROP COLUMN owner; "
                            "DROP TABLE environments; DROP TABLE claims; DROP TABLE params; DROP TABLE metrics; DROP TABLE assets; "
                            "DROP INDEX succeeded_by_fingerprint; "
                            "CREATE INDEX steps_by_fingerprint ON steps(fingerprint, status, "
                            "finished_ns); PRAGMA user_version = 1")
                    .ok());
  }
  Result<std::unique_ptr<MetaStore>> again = MetaStore::Open(path);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->Runs(10)->size(), 1u);
  meta_ = std::move(*again);
  meta_.reset();
  Result<std::unique_ptr<Db>> db = Db::Open(path);
  ASSERT_TRUE(db.ok());
  Result<Statement> q = (*db)->Prepare(
      "SELECT (SELECT user_version FROM pragma_user_version), (SELECT COUNT(*) FROM sqlite_master "
      "WHERE name = 'succeeded_by_fingerprint')");
  ASSERT_TRUE(q.ok() && *q->Step());
  // The version a new database gets.
  ASSERT_TRUE(MetaStore::Open(dir_.path() + "/fresh.db").ok());
  Result<std::unique_ptr<Db>> fresh = Db::Open(dir_.path() + "/fresh.db");
  Result<Statement> v = (*fresh)->Prepare("PRAGMA user_version");
  ASSERT_TRUE(v.ok() && *v->Step());
  EXPECT_GE(v->Int(0), 2);
  EXPECT_EQ(q->Int(0), v->Int(0));
  EXPECT_EQ(q->Int(1), 1);
}

TEST_F(MetaTest, ReuseCandidatesAreSucceededStepsOfSeedingRuns) {
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
      ASSERT_TRUE(meta_->PutOutput(r->id, 0, {out, std::string(out) + "-digest", "folder", "", 1, 2, 3}).ok());
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

TEST_F(MetaTest, FingerprintFieldsAreWrittenOnceAndReadInOrder) {
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutFingerprint("fp", {{"b", "2"}, {"a", "1"}}).ok());
  ASSERT_TRUE(meta_->PutFingerprint("fp", {{"c", "3"}}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  Result<std::vector<std::pair<std::string, std::string>>> f = meta_->FingerprintFields("fp");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<std::pair<std::string, std::string>>{{"b", "2"}, {"a", "1"}}));
}

TEST_F(MetaTest, HashCacheFollowsStatAndDistrustsTheSameClockTick) {
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

}  // namespace
}  // namespace weft::meta
