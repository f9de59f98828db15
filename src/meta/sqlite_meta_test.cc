// What only the SQLite implementation has: a file that reopens, and numbered migrations.
#include "meta/sqlite_meta.h"

#include <gtest/gtest.h>

#include "meta/sqlite.h"
#include "test_util.h"

namespace weft::meta {
namespace {

using weft::testing::TempDir;

class SqliteMetaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<MetaStore>> m = OpenSqliteMeta(dir_.path() + "/weft.db");
    ASSERT_TRUE(m.ok()) << m.status().message();
    meta_ = std::move(*m);
  }
  RunRecord NewRun() {
    EXPECT_TRUE(meta_->Begin().ok());
    RunRecord r;
    r.experiment = "exp";
    Result<RunRecord> created = meta_->CreateRun(r);
    EXPECT_TRUE(meta_->Commit().ok());
    return *created;
  }
  TempDir dir_;
  std::unique_ptr<MetaStore> meta_;
};

TEST_F(SqliteMetaTest, ReopeningKeepsDataAndSchemaVersion) {
  NewRun();
  meta_.reset();
  Result<std::unique_ptr<MetaStore>> again = OpenSqliteMeta(dir_.path() + "/weft.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Runs(10)->size(), 1u);
}

// A database left at an older schema version is brought up to date when opened, its data kept.
TEST_F(SqliteMetaTest, OpeningAnOlderSchemaMigratesIt) {
  NewRun();
  meta_.reset();
  std::string path = dir_.path() + "/weft.db";
  {  // put the database back to schema version 1, as an earlier weft left it (undo every
     // later migration here when adding one)
    Result<std::unique_ptr<Db>> db = Db::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("DROP TABLE run_warnings; DROP TABLE mlflow_experiments; DROP TABLE mlflow_runs; DROP TABLE schedules; DROP TABLE schedule_fires; DROP TABLE webhooks; DROP TABLE webhook_deliveries; "
                            "DROP TABLE pipelines; DROP TABLE pipeline_versions; DROP TABLE idempotency_keys; "
                            "DROP INDEX runs_by_project; ALTER TABLE runs DROP COLUMN project; DROP TABLE projects; DROP TABLE tokens; DROP TABLE audit; "
                            "ALTER TABLE runs DROP COLUMN resumes; ALTER TABLE runs DROP COLUMN submission; ALTER TABLE runs DROP COLUMN tags; ALTER TABLE runs DROP COLUMN owner; "
                            "DROP TABLE jobs; DROP TABLE run_tracking; ALTER TABLE steps DROP COLUMN target; ALTER TABLE steps DROP COLUMN jobs; "
                            "DROP TABLE run_objects; DROP TABLE environments; DROP TABLE claims; DROP TABLE params; DROP TABLE metrics; DROP TABLE assets; "
                            "DROP INDEX succeeded_by_fingerprint; "
                            "CREATE INDEX steps_by_fingerprint ON steps(fingerprint, status, "
                            "finished_ns); PRAGMA user_version = 1")
                    .ok());
  }
  Result<std::unique_ptr<MetaStore>> again = OpenSqliteMeta(path);
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
  ASSERT_TRUE(OpenSqliteMeta(dir_.path() + "/fresh.db").ok());
  Result<std::unique_ptr<Db>> fresh = Db::Open(dir_.path() + "/fresh.db");
  Result<Statement> v = (*fresh)->Prepare("PRAGMA user_version");
  ASSERT_TRUE(v.ok() && *v->Step());
  EXPECT_GE(v->Int(0), 2);
  EXPECT_EQ(q->Int(0), v->Int(0));
  EXPECT_EQ(q->Int(1), 1);
}

// Until schema 12 the local executor's tracking of a run was the tail of its owner
// (" group=PATH"); it moves to run_tracking, and the owner keeps only the process.
TEST_F(SqliteMetaTest, ARunsGroupMovesFromItsOwnerToItsTracking) {
  RunRecord r = NewRun();
  meta_.reset();
  std::string path = dir_.path() + "/weft.db";
  {
    Result<std::unique_ptr<Db>> db = Db::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("DROP TABLE run_warnings; DROP TABLE mlflow_experiments; DROP TABLE mlflow_runs; DROP TABLE schedules; DROP TABLE schedule_fires; DROP TABLE webhooks; DROP TABLE webhook_deliveries; "
                            "DROP TABLE pipelines; DROP TABLE pipeline_versions; DROP TABLE idempotency_keys; "
                            "DROP INDEX runs_by_project; ALTER TABLE runs DROP COLUMN project; DROP TABLE projects; DROP TABLE tokens; DROP TABLE audit; "
                            "DROP TABLE jobs; DROP TABLE run_tracking; ALTER TABLE steps DROP COLUMN target; "
                            "ALTER TABLE steps DROP COLUMN jobs; "
                            "ALTER TABLE metrics RENAME TO m12; CREATE TABLE metrics AS SELECT run_id, idx, seq, "
                            "name, value, step, timestamp_ms FROM m12; DROP TABLE m12; "
                            "ALTER TABLE params RENAME TO p12; CREATE TABLE params AS SELECT run_id, idx, kind, "
                            "name, value, seq FROM p12; DROP TABLE p12; "
                            "UPDATE runs SET owner = 'pid=1 start=2 boot=b group=/sys/fs/cgroup/a b/weft-x-r1'; "
                            "PRAGMA user_version = 11")
                    .ok());
  }
  Result<std::unique_ptr<MetaStore>> again = OpenSqliteMeta(path);
  ASSERT_TRUE(again.ok()) << again.status().message();
  meta_ = std::move(*again);
  EXPECT_EQ((*meta_->FindRun(r.id))->owner, "pid=1 start=2 boot=b");
  Result<std::vector<std::pair<std::string, std::string>>> t = meta_->RunTracking(r.id);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0], std::make_pair(std::string("local"), std::string("/sys/fs/cgroup/a b/weft-x-r1")));
}

// Nothing the store offers can change the audit log, and neither can SQL run on the file.
TEST_F(SqliteMetaTest, TheAuditLogCannotBeChangedOrDeleted) {
  ASSERT_TRUE(meta_->AppendAudit({0, 1, "adm", "", "project.create", "vision", ""}).ok());
  meta_.reset();
  Result<std::unique_ptr<Db>> db = Db::Open(dir_.path() + "/weft.db");
  ASSERT_TRUE(db.ok());
  Status update = (*db)->Exec("UPDATE audit SET who = 'someone else'");
  EXPECT_FALSE(update.ok());
  EXPECT_NE(update.message().find("append-only"), std::string::npos) << update.message();
  EXPECT_FALSE((*db)->Exec("DELETE FROM audit").ok());
  Result<Statement> q = (*db)->Prepare("SELECT who FROM audit");
  ASSERT_TRUE(q.ok() && *q->Step());
  EXPECT_EQ(q->Text(0), "adm");
}

}  // namespace
}  // namespace weft::meta
