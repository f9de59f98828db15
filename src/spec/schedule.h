// Schedules, as Azure ML's CLI v2 writes them (`az ml schedule create -f schedule.yml`): a name, a
// trigger (a cron expression or a recurrence, with a time zone and start and end times) and the
// job each firing creates; plus weft's data triggers (`type: data`: a new version of a data asset,
// or a datastore folder whose content changed and then settled).
//
// Parsing only: when a schedule fires is the calendar's (app/calendar.h).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "base/status.h"
#include "spec/fields.h"

namespace weft::spec {

enum class Frequency { kMinute, kHour, kDay, kWeek, kMonth };
const char* FrequencyName(Frequency f);

// A date and time as written ("2026-03-08T02:30:00", optionally with "Z" or "+01:00").
struct DateTime {
  int64_t wall = 0;                 // the fields' seconds since 1970, as if they were UTC
  std::optional<int32_t> offset_s;  // the offset written with it, if any (else: the time zone's)
  std::string text;
};
// Parses an ISO 8601 date and time (seconds and fraction optional; "T" or a space).
std::optional<DateTime> ParseDateTime(const std::string& text);

struct ScheduleTrigger {
  enum class Kind { kCron, kRecurrence, kData };
  Kind kind = Kind::kCron;
  SourceLoc loc;

  // Cron (`expression`) and recurrence patterns, as the sets of times they allow. Cron's day-of-
  // month and month fields are read and ignored, as Azure ignores them; week day 0 is Sunday.
  std::string expression;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<7> week_days;
  std::bitset<32> month_days;  // 1-31 (recurrences by month)
  // Recurrences: every `interval` `frequency`s; `pattern` when `schedule:` gives the times.
  Frequency frequency = Frequency::kDay;
  int64_t interval = 1;
  bool pattern = false;
  bool has_week_days = false;
  bool has_month_days = false;

  std::string time_zone = "UTC";  // as written: a Windows or tz-database name
  std::optional<DateTime> start, end;

  // Data triggers: a data asset's name, or a datastore folder (`azureml://datastores/...`) and
  // how long its content must stay unchanged, in seconds.
  std::string asset;
  std::string path;
  int64_t settle_s = 60;
};

// What each firing creates: a run of a pipeline file (relative to the schedule file's folder) or
// of a published pipeline (`azureml:NAME`, `azureml:NAME:VERSION`), with inputs (their text may use
// `${{name}}`, the schedule's name, and `${{creation_context.trigger_time}}`, the firing's time),
// an experiment and tags.
struct ScheduleJob {
  std::string job;
  SourceLoc job_loc;
  bool published = false;  // `job` names a published pipeline
  std::string published_name;
  int64_t published_version = 0;                            // 0: its default version
  std::vector<std::pair<std::string, std::string>> inputs;  // name, value text
  // What it changes of the pipeline's settings (continue_on_step_failure, force_rerun,
  // default_compute, default_datastore), as `--set settings.NAME=VALUE` does.
  std::vector<std::pair<std::string, std::string>> settings;
  // Where pipeline outputs are published (`outputs: {NAME: {path: azureml://datastores/...}}`),
  // as `--set outputs.NAME=PATH` does.
  std::vector<std::pair<std::string, std::string>> outputs;
  std::string experiment;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct Schedule {
  std::string name;
  std::string display_name;
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  ScheduleTrigger trigger;
  ScheduleJob create_job;
};

// Reads a schedule document; problems (located) go to src.diags, and nullopt when there were any.
std::optional<Schedule> ParseSchedule(const Source& src, const yaml::Node* root);

// A cron expression's fields into `t` (minutes, hours, week_days); Invalid says which field is
// wrong. Five fields (minute hour day month week-day), as Azure takes them.
Status ParseCron(const std::string& expression, ScheduleTrigger& t);

}  // namespace weft::spec
