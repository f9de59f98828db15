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
  Result<std::vector<ReuseCandidate>> c = meta_->ReuseCandidates("sha256:f", "local");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].run_id, seeding.id);
  EXPECT_EQ((*c)[0].name, "train");
  ASSERT_EQ((*c)[0].outputs.size(), 2u);  // its own outputs only, by name
  EXPECT_EQ((*c)[0].outputs[0].name, "artifacts");
  EXPECT_EQ((*c)[0].outputs[1].digest, "model-digest");
  // Another project's run does not offer its results.
  EXPECT_TRUE(meta_->ReuseCandidates("sha256:f", "vision")->empty());
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

TEST_P(MetaTest, AStepsJobsHaveTheirOwnRowsMetricsAndParams) {
  RunRecord r = NewRun();
  ASSERT_TRUE(meta_->Begin().ok());
  StepRecord s;
  s.run_id = r.id;
  s.index = 0;
  s.name = "sweep";
  s.status = StepStatus::kRunning;
  s.target = "gpu";
  s.jobs = 2;
  ASSERT_TRUE(meta_->PutStep(s).ok());
  for (int64_t k = 0; k < 2; ++k) {
    JobRecord j{r.id, 0, k, k == 0 ? StepStatus::kSucceeded : StepStatus::kRetrying, k + 1, "gpu",
                "job-" + std::to_string(k), 10, 20, k == 0 ? 0 : 3, "m"};
    ASSERT_TRUE(meta_->PutJob(j).ok());
    ASSERT_TRUE(meta_->PutMetrics(r.id, 0, k, {{"loss", 1.0 + k, -1, 5}}, {{"param", "k", std::to_string(k)}}).ok());
  }
  // A job's later attempt replaces its own metrics only.
  ASSERT_TRUE(meta_->PutMetrics(r.id, 0, 1, {{"loss", 0.5, -1, 6}}, {}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  StepRecord read = meta_->FindStep(r.id, "sweep")->value();
  EXPECT_EQ(read.target, "gpu");
  EXPECT_EQ(read.jobs, 2);
  Result<std::vector<JobRecord>> jobs = meta_->Jobs(r.id, 0);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[1].status, StepStatus::kRetrying);
  EXPECT_EQ((*jobs)[1].attempt, 2);
  EXPECT_EQ((*jobs)[1].job_id, "job-1");
  EXPECT_EQ((*jobs)[1].exit_code, 3);
  ASSERT_EQ(meta_->Metrics(r.id, 0)->size(), 2u);
  EXPECT_EQ(meta_->Metrics(r.id, 0, 1)->front().value, 0.5);
  EXPECT_EQ(meta_->Metrics(r.id, 0, 0)->front().value, 1.0);
  EXPECT_EQ(meta_->Params(r.id, 0)->size(), 1u);  // job 1's were replaced by none
}

TEST_P(MetaTest, ARunsTrackingIsKeptPerTargetAndClaimsAreReleasedByRun) {
  RunRecord a = NewRun(), b = NewRun();
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutRunTracking(a.id, "local", "/sys/fs/cgroup/w a").ok());
  ASSERT_TRUE(meta_->PutRunTracking(a.id, "slurm", "job 12").ok());
  ASSERT_TRUE(meta_->Claim({"sha256:f1", a.id, 0, "pid=1", 1}).ok());
  ASSERT_TRUE(meta_->Claim({"sha256:f2", b.id, 0, "pid=1", 1}).ok());  // the same process
  ASSERT_TRUE(meta_->ReleaseClaims(a.id).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  Result<std::vector<std::pair<std::string, std::string>>> t = meta_->RunTracking(a.id);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<std::pair<std::string, std::string>>{{"local", "/sys/fs/cgroup/w a"},
                                                                   {"slurm", "job 12"}}));
  EXPECT_TRUE(meta_->RunTracking(b.id)->empty());
  EXPECT_FALSE(meta_->ClaimOn("sha256:f1")->has_value());
  EXPECT_EQ((*meta_->ClaimOn("sha256:f2"))->run_id, b.id);
}

TEST_P(MetaTest, RunsAreListedByProjectAndPagedByTheirSequence) {
  for (const char* project : {"local", "vision", "vision", "nlp", "vision"}) {
    ASSERT_TRUE(meta_->Begin().ok());
    RunRecord r;
    r.project = project;
    ASSERT_TRUE(meta_->CreateRun(r).ok());
    ASSERT_TRUE(meta_->Commit().ok());
  }
  auto ids = [&](int64_t limit, const std::string& project, int64_t before) {
    RunFilter f;
    f.project = project;
    f.before_seq = before;
    std::vector<std::string> out;
    Result<std::vector<RunRecord>> runs = meta_->Runs(limit, f);
    for (const RunRecord& r : *runs) out.push_back(r.id + "@" + r.project);
    return out;
  };
  EXPECT_EQ(ids(10, "vision", 0), (std::vector<std::string>{"r5@vision", "r3@vision", "r2@vision"}));
  EXPECT_EQ(ids(2, "vision", 5), (std::vector<std::string>{"r3@vision", "r2@vision"}));
  EXPECT_EQ(ids(2, "", 2), (std::vector<std::string>{"r1@local"}));
  EXPECT_EQ((*meta_->FindRun("r4"))->project, "nlp");
}

TEST_P(MetaTest, RunsAreFoundByTextAndByPipeline) {
  auto add = [&](const std::string& name, const std::string& experiment,
                 std::vector<std::pair<std::string, std::string>> tags) {
    ASSERT_TRUE(meta_->Begin().ok());
    RunRecord r;
    r.name = name;
    r.experiment = experiment;
    r.tags = std::move(tags);
    ASSERT_TRUE(meta_->CreateRun(r).ok());
    ASSERT_TRUE(meta_->Commit().ok());
  };
  add("digits", "Vision-Tests", {});
  add("", "nlp", {{"weft.pipeline", "trainer:2"}, {"owner", "Alice"}});
  add("trainer", "nlp", {});
  add("", "nlp", {{"weft.pipeline", "trainer-big:1"}});
  auto ids = [&](const std::string& search, const std::string& pipeline) {
    RunFilter f;
    f.search = search;
    f.pipeline = pipeline;
    Result<std::vector<RunRecord>> runs = meta_->Runs(10, f);
    if (!runs.ok()) return runs.status().message();
    std::string out;
    for (const RunRecord& r : *runs) out += (out.empty() ? "" : " ") + r.id;
    return out;
  };
  EXPECT_EQ(ids("vision", ""), "r1");
  EXPECT_EQ(ids("alice", ""), "r2");
  EXPECT_EQ(ids("r3", ""), "r3");
  EXPECT_EQ(ids("nothing like it", ""), "");
  EXPECT_EQ(ids("", "trainer"), "r3 r2") << "by name, or published as trainer (not trainer-big)";
  EXPECT_EQ(ids("", "trainer-big"), "r4");
}

TEST_P(MetaTest, ProjectsTokensAndTheAuditLogAreKept) {
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutProject({"vision", "images", 5, 4.5, 1, 8192, 10, {"lake", "raw-2"}}).ok());
  ASSERT_TRUE(meta_->PutProject({"nlp", "", 6, 0, 0, 0, 0, {}}).ok());
  ASSERT_TRUE(meta_->PutToken({"a1", "ci", "vision", "reader", "h1", 10, 100, 0, "adm"}).ok());
  ASSERT_TRUE(meta_->PutToken({"a2", "bob", "vision", "owner", "h2", 20, 200, 0, "adm"}).ok());
  ASSERT_TRUE(meta_->PutToken({"adm", "admin", "", "admin", "h0", 1, 0, 0, ""}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  std::optional<ProjectRecord> p = *meta_->FindProject("vision");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->max_cpus, 4.5);
  EXPECT_EQ(p->max_memory_mb, 8192);
  EXPECT_EQ(p->max_running, 10);
  EXPECT_EQ(p->datastores, (std::vector<std::string>{"lake", "raw-2"}));
  EXPECT_TRUE((*meta_->FindProject("nlp"))->datastores.empty());
  EXPECT_FALSE(meta_->FindProject("audio")->has_value());
  ASSERT_EQ(meta_->Projects()->size(), 2u);
  EXPECT_EQ(meta_->Projects()->front().name, "nlp");

  std::vector<TokenRecord> tokens = *meta_->Tokens("vision");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].id, "a2");  // newest first
  EXPECT_EQ(meta_->Tokens("")->size(), 1u);
  TokenRecord revoked = tokens[1];
  revoked.revoked_ns = 50;
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutToken(revoked).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  EXPECT_EQ((*meta_->FindToken("a1"))->revoked_ns, 50);
  EXPECT_EQ((*meta_->FindToken("a1"))->hash, "h1");
  EXPECT_FALSE(meta_->FindToken("a")->has_value());  // ids are exact

  ASSERT_TRUE(meta_->AppendAudit({0, 1, "adm", "", "project.create", "vision", ""}).ok());
  ASSERT_TRUE(meta_->AppendAudit({0, 2, "a2", "vision", "token.create", "a1", "reader"}).ok());
  ASSERT_TRUE(meta_->AppendAudit({0, 3, "-", "", "auth.failed", "", "unknown token"}).ok());
  std::vector<AuditRecord> all = *meta_->Audit(std::nullopt, 10, 0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].action, "auth.failed");
  EXPECT_EQ(all[2].action, "project.create");
  std::vector<AuditRecord> vision = *meta_->Audit(std::string("vision"), 10, 0);
  ASSERT_EQ(vision.size(), 1u);
  EXPECT_EQ(vision[0].who, "a2");
  EXPECT_EQ(meta_->Audit(std::nullopt, 10, all[1].seq)->size(), 1u);  // paging
}

TEST_P(MetaTest, PublishedPipelineVersionsAreNumberedImmutableAndHaveADefault) {
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutPipelineVersion({"vision", "train", 1, "d1", "uploads/u1", "p.yml", "first", 10, "t1"}).ok());
  ASSERT_TRUE(meta_->PutPipelineVersion({"vision", "train", 2, "d2", "uploads/u2", "p.yml", "", 20, "t1"}).ok());
  ASSERT_TRUE(meta_->PutPipelineVersion({"nlp", "train", 1, "d1", "uploads/u1", "p.yml", "", 30, "t2"}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  // The same content twice under one name, or a number twice, is refused.
  ASSERT_TRUE(meta_->Begin().ok());
  EXPECT_FALSE(meta_->PutPipelineVersion({"vision", "train", 3, "d1", "uploads/u1", "p.yml", "", 40, "t1"}).ok());
  meta_->Rollback();
  ASSERT_TRUE(meta_->Begin().ok());
  EXPECT_FALSE(meta_->PutPipelineVersion({"vision", "train", 2, "d3", "uploads/u3", "p.yml", "", 40, "t1"}).ok());
  meta_->Rollback();

  std::vector<PipelineVersionRecord> versions = *meta_->PipelineVersions("vision", "train");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_EQ(versions[0].description, "first");
  EXPECT_EQ(versions[1].folder, "uploads/u2");
  std::vector<PipelineRecord> vision = *meta_->Pipelines("vision");
  ASSERT_EQ(vision.size(), 1u);
  EXPECT_EQ(vision[0].default_version, 1);  // the first, until it is moved
  EXPECT_EQ(vision[0].latest_version, 2);
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->SetDefaultPipelineVersion("vision", "train", 2).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  EXPECT_EQ(meta_->Pipelines("vision")->front().default_version, 2);
  EXPECT_EQ(meta_->Pipelines("nlp")->front().default_version, 1);
  EXPECT_EQ(meta_->Pipelines("")->size(), 2u);
}

TEST_P(MetaTest, IdempotencyKeysAreClaimedCompletedAndReleasedPerProject) {
  ASSERT_TRUE(meta_->Begin().ok());
  ASSERT_TRUE(meta_->PutIdempotencyKey({"vision", "k1", "req", "", 10}).ok());
  ASSERT_TRUE(meta_->Commit().ok());
  EXPECT_FALSE(meta_->FindIdempotencyKey("nlp", "k1")->has_value());
  std::optional<IdempotencyRecord> claimed = *meta_->FindIdempotencyKey("vision", "k1");
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->run_id, "");
  claimed->run_id = "r3";
  ASSERT_TRUE(meta_->PutIdempotencyKey(*claimed).ok());
  EXPECT_EQ((*meta_->FindIdempotencyKey("vision", "k1"))->run_id, "r3");
  ASSERT_TRUE(meta_->DeleteIdempotencyKey("vision", "k1").ok());
  EXPECT_FALSE(meta_->FindIdempotencyKey("vision", "k1")->has_value());
}

TEST_P(MetaTest, SchedulesAreReplacedByNameAndEachFiringIsRecordedOnce) {
  ScheduleRecord nightly{"vision", "nightly", "uploads/u1", "s.yml", true, 10, "t1", 10, 500, ""};
  ASSERT_TRUE(meta_->PutSchedule(nightly).ok());
  ASSERT_TRUE(meta_->PutSchedule({"nlp", "nightly", "uploads/u2", "s.yml", false, 11, "t2", 11, 0,
                                  "{}"}).ok());
  nightly.folder = "uploads/u3";
  nightly.next_fire_ns = 600;
  ASSERT_TRUE(meta_->PutSchedule(nightly).ok());
  std::optional<ScheduleRecord> found = *meta_->FindSchedule("vision", "nightly");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->folder, "uploads/u3");
  EXPECT_EQ(found->next_fire_ns, 600);
  EXPECT_TRUE(found->enabled);
  EXPECT_FALSE((*meta_->FindSchedule("nlp", "nightly"))->enabled);
  EXPECT_EQ(meta_->Schedules("vision")->size(), 1u);
  EXPECT_EQ(meta_->Schedules("")->size(), 2u);

  EXPECT_TRUE(*meta_->AddScheduleFire({"vision", "nightly", 500, 501, "", "starting"}));
  EXPECT_FALSE(*meta_->AddScheduleFire({"vision", "nightly", 500, 502, "", "starting"}));
  EXPECT_TRUE(*meta_->AddScheduleFire({"nlp", "nightly", 500, 503, "", "starting"}));
  ASSERT_TRUE(meta_->UpdateScheduleFire({"vision", "nightly", 500, 504, "r1", "started"}).ok());
  EXPECT_TRUE(*meta_->AddScheduleFire({"vision", "nightly", 600, 601, "", "skipped"}));
  std::vector<ScheduleFireRecord> fires = *meta_->ScheduleFires("vision", "nightly", 10);
  ASSERT_EQ(fires.size(), 2u);
  EXPECT_EQ(fires[0].fire_ns, 600);
  EXPECT_EQ(fires[1].run_id, "r1");
  EXPECT_EQ(fires[1].outcome, "started");
  EXPECT_EQ(fires[1].at_ns, 504);

  ASSERT_TRUE(meta_->DeleteSchedule("vision", "nightly").ok());
  EXPECT_FALSE(meta_->FindSchedule("vision", "nightly")->has_value());
  EXPECT_TRUE(meta_->ScheduleFires("vision", "nightly", 10)->empty());
  EXPECT_EQ(meta_->ScheduleFires("nlp", "nightly", 10)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Implementations, MetaTest, ::testing::ValuesIn(kImplementations),
                         [](const ::testing::TestParamInfo<Implementation>& i) { return i.param.name; });

}  // namespace
}  // namespace weft::meta
