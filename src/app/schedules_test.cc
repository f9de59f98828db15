// Schedules on a real workspace and database, driven by a fake clock; the runs a firing starts are
// recorded by the test (the server's engine host starts them for real: tests/server).
#include "app/schedules.h"

#include <gtest/gtest.h>

#include "app/pipeline.h"
#include "app/session.h"
#include "assets/registry.h"
#include "base/fs.h"
#include "test_util.h"

namespace weft::app {
namespace {

constexpr int64_t kS = 1'000'000'000;

int64_t At(const std::string& iso) {
  std::optional<spec::DateTime> t = spec::ParseDateTime(iso);
  return (t->wall - t->offset_s.value_or(0)) * kS;
}

class ScheduleFiringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Diagnostics diags;
    Result<std::unique_ptr<Session>> s =
        Session::Open({dir_.path() + "/.weft", dir_.path()}, diags);
    ASSERT_TRUE(s.ok()) << s.status().message();
    session_ = std::move(*s);
    dir_.Write(".weft/uploads/u1/pipeline.yml",
               "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
               "type: pipeline\ninputs:\n  when: x\njobs:\n  hello:\n    type: command\n"
               "    command: echo ${{inputs.when}}\n    environment: {image: python:3.11}\n    "
               "inputs:\n      when: ${{parent.inputs.when}}\n");
  }
  // Writes the schedule file and creates the schedule at `now`.
  Result<meta::ScheduleRecord> Create(const std::string& yaml, int64_t now,
                                      Caller caller = LocalAdmin()) {
    dir_.Write(".weft/uploads/u1/schedule.yml", yaml);
    return CreateSchedule(meta(), ws(), session_->registry(), caller,
                          {"vision", ws().dir + "/uploads/u1", "schedule.yml"}, now);
  }
  Scheduler MakeScheduler() {
    return Scheduler(meta(), ws(), [this](ScheduledRun run) -> Result<meta::RunRecord> {
      started_.push_back(run);
      meta::RunRecord r;
      r.project = run.options.project;
      r.created_ns = 1;
      Status s = meta().Begin();
      if (!s.ok()) return s;
      Result<meta::RunRecord> created = meta().CreateRun(r);
      s = meta().Commit();
      if (!s.ok()) return s;
      return created;
    });
  }
  meta::MetaStore& meta() { return session_->meta(); }
  const ws::Workspace& ws() { return session_->workspace(); }
  std::vector<std::string> Outcomes(const std::vector<Scheduler::Fired>& fired) {
    std::vector<std::string> out;
    for (const auto& f : fired) out.push_back(f.outcome);
    return out;
  }

  weft::testing::TempDir dir_;
  std::unique_ptr<Session> session_;
  std::vector<ScheduledRun> started_;
};

const char* kHourly =
    "name: hourly\ntrigger:\n  type: cron\n  expression: \"0 * * * *\"\n"
    "create_job:\n  job: ./pipeline.yml\n  experiment_name: nightly\n"
    "  inputs:\n    when: ${{creation_context.trigger_time}}\n  tags: {team: vision}\n";

TEST_F(ScheduleFiringTest, ACronFiresAtItsTimesOnceEachWithTheTriggerTimeAsInput) {
  int64_t created = At("2026-06-01T10:20:00Z");
  Result<meta::ScheduleRecord> r = Create(std::string(kHourly) + "", created);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // No start time: it fires at once.
  EXPECT_EQ(r->next_fire_ns, created);
  Scheduler scheduler = MakeScheduler();
  Result<std::vector<Scheduler::Fired>> fired = scheduler.Tick(created);
  ASSERT_TRUE(fired.ok()) << fired.status().message();
  EXPECT_EQ(Outcomes(*fired), std::vector<std::string>{"started"});
  ASSERT_EQ(started_.size(), 1u);
  EXPECT_EQ(started_[0].source.sets, std::vector<std::string>{"inputs.when=2026-06-01T10:20:00Z"});
  EXPECT_EQ(started_[0].options.experiment, "nightly");
  EXPECT_EQ(started_[0].options.project, "vision");
  EXPECT_EQ(started_[0].tags, (std::vector<std::string>{"team=vision", "weft.schedule=hourly"}));
  EXPECT_TRUE(scheduler.Tick(created + 30 * kS)->empty());
  EXPECT_EQ((*meta().FindSchedule("vision", "hourly"))->next_fire_ns, At("2026-06-01T11:00:00Z"));

  // The next time: its previous run still runs, so the firing is skipped (and recorded).
  fired = scheduler.Tick(At("2026-06-01T11:00:01Z"));
  ASSERT_EQ(fired->size(), 1u);
  EXPECT_EQ(fired->front().outcome.rfind("skipped: its previous run r1 is still running", 0), 0u)
      << fired->front().outcome;
  ASSERT_TRUE(meta().FinishRun("r1", meta::RunStatus::kSucceeded, 0, 2).ok());
  fired = scheduler.Tick(At("2026-06-01T12:00:00Z"));
  EXPECT_EQ(Outcomes(*fired), std::vector<std::string>{"started"});
  EXPECT_EQ(started_.back().source.sets,
            std::vector<std::string>{"inputs.when=2026-06-01T12:00:00Z"});

  std::vector<meta::ScheduleFireRecord> fires = *meta().ScheduleFires("vision", "hourly", 10);
  ASSERT_EQ(fires.size(), 3u);
  EXPECT_EQ(fires[0].run_id, "r2");
  EXPECT_EQ(fires[1].run_id, "");
  EXPECT_EQ(fires[2].fire_ns, created);
}

TEST_F(ScheduleFiringTest, AServerDownForHoursFiresOnceAndNeverTwiceForATime) {
  int64_t created = At("2026-06-01T10:20:00Z");
  ASSERT_TRUE(Create(std::string(kHourly) + "", created).ok());
  ASSERT_TRUE(MakeScheduler().Tick(created).ok());
  ASSERT_TRUE(meta().FinishRun("r1", meta::RunStatus::kSucceeded, 0, 2).ok());
  // Down from 10:30 to 17:10: 11:00 ... 17:00 were missed; one run, for the latest.
  int64_t back = At("2026-06-01T17:10:00Z");
  Scheduler restarted = MakeScheduler();
  Result<std::vector<Scheduler::Fired>> fired = restarted.Tick(back);
  ASSERT_EQ(fired->size(), 1u);
  EXPECT_EQ(fired->front().fire_ns, At("2026-06-01T17:00:00Z"));
  EXPECT_EQ(fired->front().outcome, "started (one firing for 7 missed while the server was down)");
  EXPECT_EQ((*meta().FindSchedule("vision", "hourly"))->next_fire_ns, At("2026-06-01T18:00:00Z"));
  // Another scheduler (a server started again) at the same moment fires nothing.
  EXPECT_TRUE(MakeScheduler().Tick(back)->empty());
  EXPECT_EQ(started_.size(), 2u);
}

TEST_F(ScheduleFiringTest, AFiringLeftStartingByAStoppedServerIsMarked) {
  int64_t created = At("2026-06-01T10:20:00Z");
  ASSERT_TRUE(Create(std::string(kHourly) + "", created).ok());
  ASSERT_TRUE(*meta().AddScheduleFire({"vision", "hourly", created - kS, created, "", "starting"}));
  meta::ScheduleRecord r = *meta().FindSchedule("vision", "hourly").value();
  r.enabled = false;
  ASSERT_TRUE(meta().PutSchedule(r).ok());
  ASSERT_TRUE(MakeScheduler().Tick(created).ok());
  EXPECT_EQ(meta().ScheduleFires("vision", "hourly", 1)->front().outcome,
            "interrupted: the server stopped while starting its run");
}

TEST_F(ScheduleFiringTest, NothingFiresAfterTheEndTime) {
  int64_t created = At("2026-06-01T10:20:00Z");
  ASSERT_TRUE(Create(std::string(kHourly).replace(std::string(kHourly).find("create_job"), 0,
                                                  "  end_time: \"2026-06-01T11:30:00Z\"\n"),
                     created)
                  .ok());
  Scheduler scheduler = MakeScheduler();
  ASSERT_EQ(scheduler.Tick(created)->size(), 1u);  // at once
  ASSERT_TRUE(meta().FinishRun("r1", meta::RunStatus::kSucceeded, 0, 2).ok());
  ASSERT_EQ(scheduler.Tick(At("2026-06-01T11:00:00Z"))->size(), 1u);
  EXPECT_EQ((*meta().FindSchedule("vision", "hourly"))->next_fire_ns, 0);
  // Days later, from a scheduler started again too: nothing more.
  EXPECT_TRUE(scheduler.Tick(At("2026-06-05T00:00:00Z"))->empty());
  EXPECT_TRUE(MakeScheduler().Tick(At("2026-06-05T00:00:00Z"))->empty());
  EXPECT_EQ(started_.size(), 2u);
}

TEST_F(ScheduleFiringTest, DisabledSchedulesWaitAndEnablingFiresFromThenOn) {
  int64_t created = At("2026-06-01T10:20:00Z");
  ASSERT_TRUE(Create(std::string(kHourly) + "", created).ok());
  ASSERT_TRUE(EnableSchedule(meta(), ws(), LocalAdmin(), "vision", "hourly", false, created).ok());
  EXPECT_TRUE(MakeScheduler().Tick(At("2026-06-01T15:00:00Z"))->empty());
  ASSERT_TRUE(EnableSchedule(meta(), ws(), LocalAdmin(), "vision", "hourly", true,
                             At("2026-06-01T15:30:00Z"))
                  .ok());
  EXPECT_EQ((*meta().FindSchedule("vision", "hourly"))->next_fire_ns, At("2026-06-01T16:00:00Z"));
  EXPECT_TRUE(MakeScheduler().Tick(At("2026-06-01T15:59:59Z"))->empty());
  EXPECT_EQ(MakeScheduler().Tick(At("2026-06-01T16:00:00Z"))->size(), 1u);
}

TEST_F(ScheduleFiringTest, ADataTriggerFiresForANewAssetVersionOnly) {
  int64_t created = At("2026-06-01T10:00:00Z");
  ASSERT_TRUE(meta().PutAsset({"data", "", "images", "1", "d1", "", "uri_folder", "", "", 1, false, ""}).ok());
  ASSERT_TRUE(Create("name: on-images\ntrigger: {type: data, asset: images}\n"
                     "create_job: ./pipeline.yml\n",
                     created)
                  .ok());
  Scheduler scheduler = MakeScheduler();
  EXPECT_TRUE(scheduler.Tick(created)->empty());  // (version 1 was there before)
  ASSERT_TRUE(meta().PutAsset({"data", "", "images", "2", "d2", "", "uri_folder", "", "", 2, false, ""}).ok());
  Result<std::vector<Scheduler::Fired>> fired = scheduler.Tick(created + kS);
  EXPECT_EQ(Outcomes(*fired), std::vector<std::string>{"started"});
  EXPECT_TRUE(scheduler.Tick(created + 2 * kS)->empty());
  EXPECT_EQ(started_.size(), 1u);
}

TEST_F(ScheduleFiringTest, CreatingChecksRolesTheJobAndTheCalendar) {
  int64_t now = At("2026-06-01T10:00:00Z");
  Caller contributor{"t1", "vision", Role::kContributor};
  Result<meta::ScheduleRecord> denied = Create(kHourly, now, contributor);
  EXPECT_EQ(denied.status().code(), Code::kDenied);
  Result<meta::ScheduleRecord> missing = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 * * * *\"}\ncreate_job: ./nope.yml\n", now);
  EXPECT_EQ(missing.status().code(), Code::kInvalid);
  EXPECT_NE(missing.status().message().find("`./nope.yml` is not a file uploaded"),
            std::string::npos);
  Result<meta::ScheduleRecord> outside = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 * * * *\"}\ncreate_job: ../../config.yaml\n",
      now);
  EXPECT_EQ(outside.status().code(), Code::kInvalid);
  Result<meta::ScheduleRecord> unpublished = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 * * * *\"}\ncreate_job: azureml:train\n",
      now);
  EXPECT_EQ(unpublished.status().code(), Code::kNotFound);
  Result<meta::ScheduleRecord> bad_input = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 * * * *\"}\n"
      "create_job: {job: ./pipeline.yml, inputs: {nope: 1}}\n",
      now);
  EXPECT_EQ(bad_input.status().code(), Code::kInvalid);
  EXPECT_NE(bad_input.status().message().find("nope"), std::string::npos);
  Result<meta::ScheduleRecord> ended = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 * * * *\", start_time: "
      "\"2026-01-01T00:00:00\", end_time: \"2026-02-01T00:00:00\"}\ncreate_job: ./pipeline.yml\n",
      now);
  EXPECT_NE(ended.status().message().find("would never fire again"), std::string::npos)
      << ended.status().message();
  Result<meta::ScheduleRecord> located = Create(
      "name: s\ntrigger: {type: cron, expression: \"0 99 * * *\"}\n"
      "create_job: ./pipeline.yml\n",
      now);
  EXPECT_NE(located.status().message().find("schedule.yml:2:35: error: the hour field `99`"),
            std::string::npos)
      << located.status().message();
  EXPECT_TRUE(meta().Schedules("")->empty());
}

// create_job.outputs: where the pipeline's outputs are published, in datastores the schedule's
// project is granted only.
TEST_F(ScheduleFiringTest, CreateJobOutputsArePublishedWhereItSaysInGrantedDatastoresOnly) {
  int64_t now = At("2026-06-01T10:00:00Z");
  dir_.Write(".weft/uploads/u1/trained.yml",
             "type: pipeline\noutputs:\n  model: {type: uri_folder}\njobs:\n  train:\n"
             "    command: echo m > ${{outputs.model}}/m\n    environment: {image: python:3.11}\n"
             "    outputs: {model: \"${{parent.outputs.model}}\"}\n");
  dir_.Write(".weft/uploads/u1/schedule.yml",
             "name: nightly\ntrigger: {type: cron, expression: \"0 * * * *\"}\n"
             "create_job:\n  job: ./trained.yml\n  outputs:\n    model:\n      type: uri_folder\n"
             "      path: azureml://datastores/lake/paths/models/${{name}}\n");
  assets::WorkspaceRegistry registry(ws(), meta(), session_->store(), "vision");
  auto create = [&] {
    return CreateSchedule(meta(), ws(), registry, LocalAdmin(),
                          {"vision", ws().dir + "/uploads/u1", "schedule.yml"}, now);
  };
  Result<meta::ScheduleRecord> refused = create();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not granted datastore `lake`"), std::string::npos)
      << refused.status().message();
  meta::ProjectRecord vision;
  vision.name = "vision";
  vision.datastores = {"lake"};
  ASSERT_TRUE(meta().PutProject(vision).ok());
  Result<meta::ScheduleRecord> created = create();
  ASSERT_TRUE(created.ok()) << created.status().message();
  Scheduler scheduler = MakeScheduler();
  ASSERT_TRUE(scheduler.Tick(now).ok());
  ASSERT_EQ(started_.size(), 1u);
  EXPECT_EQ(started_[0].source.sets,
            std::vector<std::string>{"outputs.model=azureml://datastores/lake/paths/models/${{name}}"});
  // The run publishes there: its pipeline loads with that path.
  Result<std::unique_ptr<LoadedGraph>> g = LoadGraph(started_[0].source, registry);
  ASSERT_TRUE(g.ok() && (*g)->ok()) << (g.ok() ? (*g)->diags.FormatAll() : g.status().message());
  EXPECT_EQ((*g)->graph.steps[0].outputs[0].PublishPath(),
            "azureml://datastores/lake/paths/models/${{name}}");

  dir_.Write(".weft/uploads/u1/schedule.yml",
             "name: nightly\ntrigger: {type: cron, expression: \"0 * * * *\"}\n"
             "create_job:\n  job: ./trained.yml\n  outputs: {model: 3}\n");
  Result<meta::ScheduleRecord> no_path = create();
  EXPECT_NE(no_path.status().message().find("schedule.yml:5:20: error: output `model` gives no "
                                            "`path`"),
            std::string::npos)
      << no_path.status().message();
}

}  // namespace
}  // namespace weft::app
