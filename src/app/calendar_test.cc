#include "app/calendar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "spec/yaml.h"

namespace weft::app {
namespace {

// The trigger of a schedule whose `trigger:` mapping is `trigger` (YAML, indented by two).
spec::ScheduleTrigger Trigger(const std::string& trigger) {
  std::string text = "name: s\ncreate_job: ./p.yml\ntrigger:\n" + trigger;
  Diagnostics diags;
  std::unique_ptr<yaml::Document> doc = yaml::Parse("s.yml", text, diags);
  EXPECT_TRUE(doc) << diags.FormatAll();
  spec::Source src = spec::MakeSource(*doc, diags);
  std::optional<spec::Schedule> s = spec::ParseSchedule(src, doc->root());
  EXPECT_TRUE(s) << diags.FormatAll();
  return s ? s->trigger : spec::ScheduleTrigger();
}

int64_t At(const std::string& iso) {  // an instant: "...Z" or "...+01:00"
  std::optional<spec::DateTime> t = spec::ParseDateTime(iso);
  EXPECT_TRUE(t && t->offset_s) << iso;
  return t ? t->wall - t->offset_s.value_or(0) : 0;
}

std::string Iso(std::optional<int64_t> t) {
  if (!t) return "never";
  using namespace std::chrono;
  sys_seconds s{seconds(*t)};
  year_month_day ymd{floor<days>(s)};
  hh_mm_ss hms{s - floor<days>(s)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

// The next `n` firings after `after`.
std::vector<std::string> Firings(const spec::ScheduleTrigger& t, const std::string& after, int n,
                                 const std::string& created = "2026-01-01T00:00:00Z") {
  Result<Calendar> c = Calendar::For(t, At(created));
  EXPECT_TRUE(c.ok()) << c.status().message();
  std::vector<std::string> out;
  std::optional<int64_t> at = At(after);
  for (int i = 0; i < n && at; ++i) {
    at = c->Next(*at);
    out.push_back(Iso(at));
  }
  return out;
}

TEST(TimeZoneTest, WindowsNamesMapToTheTzDatabase) {
  EXPECT_EQ(TimeZone::Find("Pacific Standard Time")->id(), "America/Los_Angeles");
  EXPECT_EQ(TimeZone::Find("W. Europe Standard Time")->id(), "Europe/Berlin");
  EXPECT_EQ(TimeZone::Find("Tokyo Standard Time")->id(), "Asia/Tokyo");
  EXPECT_EQ(TimeZone::Find("Europe/Paris")->id(), "Europe/Paris");
  EXPECT_EQ(TimeZone::Find("UTC")->id(), "Etc/UTC");
  Result<TimeZone> bad = TimeZone::Find("Mars Standard Time");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Mars Standard Time"), std::string::npos);
  EXPECT_FALSE(TimeZone::Find("").ok());
}

TEST(CalendarTest, CronWeekDaysCountFromSundayAndFollowTheZonesSummerTime) {
  // 09:00 on weekdays in Los Angeles; summer time began on Sunday 2026-03-08.
  spec::ScheduleTrigger t =
      Trigger("  type: cron\n  expression: \"0 9 * * 1-5\"\n  time_zone: Pacific Standard Time\n");
  EXPECT_EQ(Firings(t, "2026-03-05T18:00:00Z", 3),
            (std::vector<std::string>{"2026-03-06T17:00:00Z", "2026-03-09T16:00:00Z",
                                      "2026-03-10T16:00:00Z"}));
  // Day 0 and 7 are Sunday; the day-of-month and month fields are ignored, as Azure does.
  spec::ScheduleTrigger sunday = Trigger("  type: cron\n  expression: \"30 6 13 2 0\"\n");
  EXPECT_EQ(Firings(sunday, "2026-11-29T07:00:00Z", 2),
            (std::vector<std::string>{"2026-12-06T06:30:00Z", "2026-12-13T06:30:00Z"}));
  spec::ScheduleTrigger seven = Trigger("  type: cron\n  expression: \"30 6 * * SUN\"\n");
  EXPECT_EQ(Firings(seven, "2026-11-29T07:00:00Z", 1), Firings(sunday, "2026-11-29T07:00:00Z", 1));
}

TEST(CalendarTest, AHugeCronStepNamesItsFirstValueAlone) {
  spec::ScheduleTrigger t =
      Trigger("  type: cron\n  expression: \"59/2147483647 23/2147483647 * * *\"\n");
  EXPECT_EQ(Firings(t, "2026-06-01T00:00:00Z", 2),
            (std::vector<std::string>{"2026-06-01T23:59:00Z", "2026-06-02T23:59:00Z"}));
}

TEST(CalendarTest, CronStepsListsAndRanges) {
  spec::ScheduleTrigger t = Trigger("  type: cron\n  expression: \"*/20 8-9,17 * * *\"\n");
  EXPECT_EQ(Firings(t, "2026-06-01T09:30:00Z", 4),
            (std::vector<std::string>{"2026-06-01T09:40:00Z", "2026-06-01T17:00:00Z",
                                      "2026-06-01T17:20:00Z", "2026-06-01T17:40:00Z"}));
  spec::ScheduleTrigger from = Trigger("  type: cron\n  expression: \"5/30 0 * * *\"\n");
  EXPECT_EQ(Firings(from, "2026-06-01T00:00:00Z", 3),
            (std::vector<std::string>{"2026-06-01T00:05:00Z", "2026-06-01T00:35:00Z",
                                      "2026-06-02T00:05:00Z"}));
}

TEST(CalendarTest, ATimeTheClocksSkipFiresJustAfterTheSkip) {
  // 02:30 does not exist in Los Angeles on 2026-03-08: it fires at 03:30 PDT (10:30Z), once.
  spec::ScheduleTrigger t =
      Trigger("  type: cron\n  expression: \"30 2,3 * * *\"\n  time_zone: Pacific Standard Time\n");
  EXPECT_EQ(Firings(t, "2026-03-08T08:00:00Z", 3),
            (std::vector<std::string>{"2026-03-08T10:30:00Z", "2026-03-09T09:30:00Z",
                                      "2026-03-09T10:30:00Z"}));
  // A daily recurrence at 02:30 likewise.
  spec::ScheduleTrigger r = Trigger(
      "  type: recurrence\n  frequency: day\n  interval: 1\n  schedule: {hours: 2, minutes: 30}\n"
      "  time_zone: Pacific Standard Time\n");
  EXPECT_EQ(Firings(r, "2026-03-07T11:00:00Z", 2),
            (std::vector<std::string>{"2026-03-08T10:30:00Z", "2026-03-09T09:30:00Z"}));
}

TEST(CalendarTest, ATimeTheClocksPassTwiceFiresOnce) {
  // 01:30 happens twice in Los Angeles on 2026-11-01 (PDT, then PST): it fires at the first.
  spec::ScheduleTrigger t =
      Trigger("  type: cron\n  expression: \"30 1 * * *\"\n  time_zone: Pacific Standard Time\n");
  EXPECT_EQ(Firings(t, "2026-10-31T12:00:00Z", 3),
            (std::vector<std::string>{"2026-11-01T08:30:00Z", "2026-11-02T09:30:00Z",
                                      "2026-11-03T09:30:00Z"}));
  // Berlin's autumn change (2026-10-25, 03:00 CEST -> 02:00 CET): every wall-clock half hour once.
  spec::ScheduleTrigger half = Trigger(
      "  type: cron\n  expression: \"*/30 * * * *\"\n  time_zone: W. Europe Standard Time\n");
  EXPECT_EQ(Firings(half, "2026-10-24T23:45:00Z", 4),
            (std::vector<std::string>{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
                                      "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}));
}

TEST(CalendarTest, MinutesAndHoursCountElapsedTimeAcrossAChangeOfClocks) {
  spec::ScheduleTrigger t = Trigger(
      "  type: recurrence\n  frequency: minute\n  interval: 90\n"
      "  start_time: \"2026-11-01T00:00:00\"\n  time_zone: Pacific Standard Time\n");
  // Starts at 00:00 PDT (07:00Z); every 90 minutes of real time, through the repeated hour.
  EXPECT_EQ(Firings(t, "2026-11-01T06:00:00Z", 3),
            (std::vector<std::string>{"2026-11-01T07:00:00Z", "2026-11-01T08:30:00Z",
                                      "2026-11-01T10:00:00Z"}));
}

TEST(CalendarTest, MonthDaysSkipShorterMonthsAndFebruary29ComesInLeapYears) {
  spec::ScheduleTrigger t = Trigger(
      "  type: recurrence\n  frequency: month\n  interval: 1\n"
      "  schedule: {hours: [0], minutes: [0], month_days: [31]}\n");
  EXPECT_EQ(Firings(t, "2026-01-01T00:00:00Z", 4),
            (std::vector<std::string>{"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z",
                                      "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}));
  spec::ScheduleTrigger leap = Trigger(
      "  type: recurrence\n  frequency: month\n  interval: 1\n"
      "  schedule: {hours: 12, minutes: 0, month_days: 29}\n");
  EXPECT_EQ(Firings(leap, "2027-01-30T00:00:00Z", 2),
            (std::vector<std::string>{"2027-03-29T12:00:00Z", "2027-04-29T12:00:00Z"}));
  EXPECT_EQ(Firings(leap, "2028-01-30T00:00:00Z", 1),
            (std::vector<std::string>{"2028-02-29T12:00:00Z"}));
  // Yearly from February 29: only in leap years.
  spec::ScheduleTrigger yearly = Trigger(
      "  type: recurrence\n  frequency: month\n  interval: 12\n"
      "  start_time: \"2028-02-29T06:00:00\"\n");
  EXPECT_EQ(Firings(yearly, "2028-03-01T00:00:00Z", 1),
            (std::vector<std::string>{"2032-02-29T06:00:00Z"}));
}

TEST(CalendarTest, WeeksCountFromTheStartAndNameTheirDays) {
  // Every other week (from the week of 2026-06-01), Mondays and Fridays at 07:15.
  spec::ScheduleTrigger t = Trigger(
      "  type: recurrence\n  frequency: week\n  interval: 2\n"
      "  schedule: {hours: 7, minutes: 15, week_days: [monday, friday]}\n"
      "  start_time: \"2026-06-01T00:00:00Z\"\n");
  EXPECT_EQ(Firings(t, "2026-05-01T00:00:00Z", 4),
            (std::vector<std::string>{"2026-06-01T07:15:00Z", "2026-06-05T07:15:00Z",
                                      "2026-06-15T07:15:00Z", "2026-06-19T07:15:00Z"}));
}

TEST(CalendarTest, StartAndEndTimes) {
  spec::ScheduleTrigger t = Trigger(
      "  type: recurrence\n  frequency: hour\n  interval: 1\n"
      "  start_time: \"2026-06-01T10:00:00\"\n  end_time: \"2026-06-01T12:00:00\"\n"
      "  time_zone: Tokyo Standard Time\n");
  Result<Calendar> c = Calendar::For(t, At("2026-05-01T00:00:00Z"));
  ASSERT_TRUE(c.ok());
  // A future start is the first firing (10:00 in Tokyo is 01:00Z); the end is inclusive.
  EXPECT_EQ(Iso(c->First(At("2026-05-01T00:00:00Z"))), "2026-06-01T01:00:00Z");
  EXPECT_EQ(Iso(c->Next(At("2026-06-01T01:00:00Z"))), "2026-06-01T02:00:00Z");
  EXPECT_EQ(Iso(c->Next(At("2026-06-01T02:00:00Z"))), "2026-06-01T03:00:00Z");
  EXPECT_EQ(Iso(c->Next(At("2026-06-01T03:00:00Z"))), "never");
  // A past start: the next computed time, not a firing at once.
  EXPECT_EQ(Iso(c->First(At("2026-06-01T01:20:00Z"))), "2026-06-01T02:00:00Z");
  EXPECT_EQ(Iso(c->First(At("2026-06-02T00:00:00Z"))), "never");

  // Without a start time it fires at once, then by its rule from then on.
  spec::ScheduleTrigger now = Trigger("  type: recurrence\n  frequency: day\n  interval: 1\n");
  Result<Calendar> d = Calendar::For(now, At("2026-06-01T08:09:10Z"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Iso(d->First(At("2026-06-01T08:09:10Z"))), "2026-06-01T08:09:10Z");
  EXPECT_EQ(Iso(d->Next(At("2026-06-01T08:09:10Z"))), "2026-06-02T08:09:10Z");
}

// The trigger's problems, as reported.
std::string Problems(const std::string& trigger) {
  std::string text = "name: s\ncreate_job: ./p.yml\ntrigger:\n" + trigger;
  Diagnostics diags;
  std::unique_ptr<yaml::Document> doc = yaml::Parse("s.yml", text, diags);
  spec::Source src = spec::MakeSource(*doc, diags);
  EXPECT_FALSE(spec::ParseSchedule(src, doc->root()));
  return diags.FormatAll();
}

TEST(ScheduleSpecTest, ProblemsAreLocated) {
  EXPECT_NE(Problems("  type: cron\n  expression: \"0 25 * * *\"\n")
                .find("s.yml:5:15: error: the hour field `25`"),
            std::string::npos);
  EXPECT_NE(Problems("  type: cron\n  expression: \"0 9 * *\"\n").find("has 4 fields"),
            std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: day\n  interval: 1\n  schedule: "
                     "{hours: 4}\n")
                .find("s.yml:7:13: error"),
            std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: fortnight\n  interval: 1\n")
                .find("s.yml:5:14: error: `frequency` is minute, hour, day, week or month"),
            std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: minute\n  interval: 0\n")
                .find("s.yml:6:13: error"),
            std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: hour\n  interval: 1\n  schedule: {hours: "
                     "1, minutes: 1}\n")
                .find("takes no `schedule`"),
            std::string::npos);
  EXPECT_NE(Problems("  type: cron\n  expression: \"0 0 * * *\"\n  time_zone: Mars Standard "
                     "Time\n")
                .find("s.yml:6:14: error: `Mars Standard Time` is not a time zone"),
            std::string::npos);
  EXPECT_NE(Problems("  type: cron\n  expression: \"0 0 * * *\"\n  start_time: 2026-13-01\n")
                .find("`start_time` must be a date and time"),
            std::string::npos);
  EXPECT_NE(Problems("  type: cron\n  expression: \"0 0 * * *\"\n  start_time: "
                     "\"2026-02-01T00:00:00\"\n  end_time: \"2026-01-01T00:00:00\"\n")
                .find("`end_time` is not after `start_time`"),
            std::string::npos);
  EXPECT_NE(Problems("  type: data\n").find("names either a data asset"), std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: month\n  interval: 99999999999999\n")
                .find("`interval` is at most 100000"),
            std::string::npos);
  EXPECT_NE(Problems("  type: data\n  asset: a\n  interval: 99999999999\n").find("at most"),
            std::string::npos);
  EXPECT_NE(Problems("  type: recurrence\n  frequency: week\n  interval: 1\n  schedule: {hours: "
                     "1, minutes: 1, week_days: [someday]}\n")
                .find("`week_days` takes monday ... sunday, not `someday`"),
            std::string::npos);
}

TEST(ScheduleSpecTest, CreateJobForms) {
  auto parse = [](const std::string& create_job) {
    std::string text =
        "name: nightly\ntrigger: {type: cron, expression: \"0 0 * * *\"}\n"
        "create_job:" +
        create_job;
    Diagnostics diags;
    std::unique_ptr<yaml::Document> doc = yaml::Parse("s.yml", text, diags);
    spec::Source src = spec::MakeSource(*doc, diags);
    std::optional<spec::Schedule> s = spec::ParseSchedule(src, doc->root());
    return std::make_pair(s, diags.FormatAll());
  };
  auto [file, d1] = parse(" ./pipeline.yml\n");
  ASSERT_TRUE(file) << d1;
  EXPECT_FALSE(file->create_job.published);
  EXPECT_EQ(file->create_job.job, "./pipeline.yml");
  auto [pub, d2] = parse(" azureml:train:3\n");
  ASSERT_TRUE(pub) << d2;
  EXPECT_TRUE(pub->create_job.published);
  EXPECT_EQ(pub->create_job.published_name, "train");
  EXPECT_EQ(pub->create_job.published_version, 3);
  auto [dict, d3] = parse(
      "\n  type: pipeline\n  job: azureml:train@latest\n  experiment_name: nightly\n"
      "  inputs:\n    when: ${{creation_context.trigger_time}}\n"
      "    data: {type: uri_folder, path: azureml:images:2}\n  tags: {team: vision}\n");
  ASSERT_TRUE(dict) << d3;
  EXPECT_EQ(dict->create_job.published_version, 0);
  EXPECT_EQ(dict->create_job.experiment, "nightly");
  EXPECT_EQ(dict->create_job.inputs,
            (std::vector<std::pair<std::string, std::string>>{
                {"when", "${{creation_context.trigger_time}}"}, {"data", "azureml:images:2"}}));
  auto [inline_job, d4] = parse("\n  type: pipeline\n  jobs: {a: {command: echo}}\n");
  EXPECT_FALSE(inline_job);
  EXPECT_NE(d4.find("s.yml:5:9: error: a pipeline written inside `create_job`"), std::string::npos)
      << d4;
  // Settings a run may change, as `--set settings.NAME=VALUE`; the others refused where written.
  auto [settings, d5] = parse(
      "\n  job: ./p.yml\n  settings:\n    force_rerun: true\n    default_compute: azureml:cpu\n");
  ASSERT_TRUE(settings) << d5;
  EXPECT_EQ(settings->create_job.settings,
            (std::vector<std::pair<std::string, std::string>>{{"force_rerun", "true"},
                                                              {"default_compute", "azureml:cpu"}}));
  auto [bad, d6] = parse(
      "\n  job: ./p.yml\n  settings:\n    on_init: setup\n    continue_on_step_failure: maybe\n");
  EXPECT_FALSE(bad);
  EXPECT_NE(d6.find("s.yml:6:5: error: `create_job.settings.on_init` cannot be set by a schedule"),
            std::string::npos)
      << d6;
  EXPECT_NE(d6.find("s.yml:7:31: error: `create_job.settings.continue_on_step_failure` is true or "
                    "false"),
            std::string::npos)
      << d6;
}

}  // namespace
}  // namespace weft::app
