// The MLflow endpoint's model on a real database: step tokens (signed, valid only while their
// job's attempt runs) and search filters. tests/server/test_mlflow.py covers the endpoint itself.
#include "app/tracking.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "meta/sqlite_meta.h"
#include "test_util.h"

namespace weft::app {
namespace {

class TrackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_.dir = dir_.path() + "/.weft";
    ASSERT_TRUE(MakeDirs(ws_.dir).ok());
    Result<std::unique_ptr<meta::MetaStore>> m = meta::OpenSqliteMeta(ws_.dir + "/weft.db");
    ASSERT_TRUE(m.ok());
    meta_ = std::move(*m);
  }
  // A run of `project` in experiment `tracked` with one step in `status` at `attempt`.
  std::string WeftRun(const std::string& project, meta::StepStatus status, int64_t attempt) {
    meta::RunRecord r;
    r.experiment = "tracked";
    r.project = project;
    std::string id;
    EXPECT_TRUE(meta::InTransaction(*meta_, [&]() -> Status {
                  Result<meta::RunRecord> made = meta_->CreateRun(r);
                  if (!made.ok()) return made.status();
                  id = made->id;
                  meta::StepRecord s;
                  s.run_id = id;
                  s.name = "train";
                  s.status = status;
                  s.attempt = attempt;
                  s.started_ns = 1'000'000'000;
                  return meta_->PutStep(s);
                }).ok());
    return id;
  }
  void SetStep(const std::string& run, meta::StepStatus status, int64_t attempt) {
    meta::StepRecord s = **meta_->StepAt(run, 0);
    s.status = status;
    s.attempt = attempt;
    ASSERT_TRUE(meta::InTransaction(*meta_, [&] { return meta_->PutStep(s); }).ok());
  }
  engine::JobStart Job(const std::string& run, int64_t attempt) {
    return engine::JobStart{"vision", run, "tracked", "train", 0, 0, 1, attempt};
  }

  weft::testing::TempDir dir_;
  ws::Workspace ws_;
  std::unique_ptr<meta::MetaStore> meta_;
  StepTokens tokens_{"a key only this server knows"};
};

TEST_F(TrackingTest, AStepGetsItsRunIdAndASignedTokenThatIsMasked) {
  engine::JobExtras extras = TrackingEnvironment(tokens_, "http://127.0.0.1:8765", Job("r4", 2));
  std::map<std::string, std::string> env(extras.env.begin(), extras.env.end());
  EXPECT_EQ(env["MLFLOW_TRACKING_URI"], "http://127.0.0.1:8765");
  EXPECT_EQ(env["MLFLOW_RUN_ID"], "r4-0-0-2");
  EXPECT_EQ(env["MLFLOW_EXPERIMENT_NAME"], "tracked");
  EXPECT_EQ(env["MLFLOW_TRACKING_TOKEN"], extras.secret);
  EXPECT_EQ(tokens_.Check(extras.secret), "r4-0-0-2");
  // Another key, a changed id or signature, or a project token: not a step token of this server.
  EXPECT_FALSE(StepTokens("another key").Check(extras.secret));
  std::string forged = extras.secret;
  forged.replace(forged.find("r4-0-0-2"), 8, "r5-0-0-2");
  EXPECT_FALSE(tokens_.Check(forged));
  std::string cut = extras.secret.substr(0, extras.secret.size() - 1) + "0";
  if (cut == extras.secret) cut.back() = '1';
  EXPECT_FALSE(tokens_.Check(cut));
  EXPECT_FALSE(tokens_.Check("weft_abc_def"));
}

TEST_F(TrackingTest, AStepTokenIsValidOnlyWhileItsAttemptRuns) {
  std::string run = WeftRun("vision", meta::StepStatus::kRunning, 1);
  std::string first = TrackingEnvironment(tokens_, "u", Job(run, 1)).secret;
  Result<TrackingScope> scope = StepScope(*meta_, tokens_, first);
  ASSERT_TRUE(scope.ok()) << scope.status().message();
  EXPECT_EQ(scope->project, "vision");
  EXPECT_EQ(scope->only_run, run + "-0-0-1");
  EXPECT_TRUE(scope->write);
  // It reads and writes its own run only.
  Result<TrackedRun> own = FindTrackedRun(*meta_, ws_, *scope, run + "-0-0-1");
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_TRUE(own->live);
  EXPECT_EQ(own->record.status, "RUNNING");
  std::string other = WeftRun("vision", meta::StepStatus::kRunning, 1);
  EXPECT_EQ(FindTrackedRun(*meta_, ws_, *scope, other + "-0-0-1").status().code(), Code::kNotFound);
  EXPECT_EQ(CreateTrackedRun(*meta_, ws_, *scope, 0, "x", 0, {}, 1).status().code(), Code::kDenied);

  // A retry is a new attempt: the first attempt's token ends, its run reads as failed.
  SetStep(run, meta::StepStatus::kRunning, 2);
  EXPECT_EQ(StepScope(*meta_, tokens_, first).status().code(), Code::kUnauthenticated);
  std::string second = TrackingEnvironment(tokens_, "u", Job(run, 2)).secret;
  ASSERT_TRUE(StepScope(*meta_, tokens_, second).ok());
  TrackingScope reader{"vision", "t1", false, ""};
  EXPECT_EQ(FindTrackedRun(*meta_, ws_, reader, run + "-0-0-1")->record.status, "FAILED");
  EXPECT_EQ(FindTrackedRun(*meta_, ws_, reader, run + "-0-0-3").status().code(), Code::kNotFound);
  // Once the step ended, no token of it is valid, and its run takes no more values.
  SetStep(run, meta::StepStatus::kSucceeded, 2);
  EXPECT_EQ(StepScope(*meta_, tokens_, second).status().code(), Code::kUnauthenticated);
  Result<TrackedRun> ended = FindTrackedRun(*meta_, ws_, TrackingScope{"vision", "t2", true, ""},
                                            run + "-0-0-2");
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->record.status, "FINISHED");
  EXPECT_EQ(LogToRun(TrackingScope{"vision", "t2", true, ""}, *ended, {{"loss", 1, 1, 0}}, {}, {}).code(),
            Code::kInvalid);
  // Another project never finds it.
  EXPECT_EQ(FindTrackedRun(*meta_, ws_, TrackingScope{"nlp", "t3", true, ""}, run + "-0-0-2")
                .status()
                .code(),
            Code::kNotFound);
}

TEST_F(TrackingTest, SearchFiltersAreReadAsMlflowWritesThemAndBadOnesSayWhere) {
  TrackingScope scope{"vision", "t1", true, ""};
  for (const char* name : {"ab-c", "abXc", "zzz"}) {
    Result<TrackedRun> r = CreateTrackedRun(*meta_, ws_, scope, 0, name, 0, {}, 1000);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(LogToRun(scope, *r, {{"m", 2.5, 1, 0}}, {{"p", name}}, {}).ok());
  }
  auto names = [&](const std::string& filter) {
    RunSearch s;
    s.experiments = {0};
    s.filter = filter;
    s.order_by = {"attributes.run_name"};
    Result<std::vector<FoundRun>> found = SearchTrackedRuns(*meta_, ws_, scope, s);
    std::string out;
    if (!found.ok()) return "error: " + found.status().message();
    for (const FoundRun& f : *found) out += f.run.record.name + " ";
    return out;
  };
  EXPECT_EQ(names(""), "ab-c abXc zzz ");
  EXPECT_EQ(names("params.p LIKE 'ab_c'"), "ab-c abXc ");
  EXPECT_EQ(names("params.p LIKE 'ABXC'"), "");
  EXPECT_EQ(names("params.p ILIKE 'ABXC'"), "abXc ");
  EXPECT_EQ(names("params.p LIKE '%z'"), "zzz ");
  EXPECT_EQ(names("metrics.m = 2.5 AND params.p != 'zzz'"), "ab-c abXc ");
  EXPECT_EQ(names("metrics.missing > 0"), "");
  EXPECT_EQ(names("params.\"p\" = 'zzz'"), "zzz ");
  for (const char* bad : {"metrics.m = 'a'", "foo.x = 1", "params.p > 'a'", "metrics.m > 1 OR params.p = 'a'",
                          "params.p IN ('a')", "attributes.colour = 'red'", "metrics.m >", "params.p = 'open"}) {
    EXPECT_EQ(names(bad).rfind("error: ", 0), 0u) << bad << " -> " << names(bad);
  }
  EXPECT_NE(names("foo.x = 1").find("`foo` is not metrics, params, tags or attributes"), std::string::npos);
}

}  // namespace
}  // namespace weft::app
