#include "spec/schedule.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include <fmt/format.h>

#include "base/timezone.h"

namespace weft::spec {
namespace {

// Bounds that keep the calendar's arithmetic far from overflow.
constexpr int64_t kMaxInterval = 100'000;
constexpr int64_t kMaxSettleSeconds = 7 * 86400;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ReadInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// One cron field: `*`, N, N-M, a comma list of them, each with an optional `/STEP`; `names`
// (lower case, index = value - lo) may stand for numbers. Sets bits [value - lo] of the
// `hi - lo + 1` values.
Status CronField(std::string_view field, const char* what, int lo, int hi,
                 const std::vector<std::string>& names, std::vector<bool>& out) {
  out.assign(static_cast<size_t>(hi - lo + 1), false);
  auto value = [&](std::string_view text, int& v) {
    std::string low = Lower(std::string(text));
    for (size_t i = 0; i < names.size(); ++i) {
      if (low == names[i]) {
        v = lo + static_cast<int>(i);
        return true;
      }
    }
    return ReadInt(text, v) && v >= lo && v <= hi;
  };
  auto bad = [&] {
    return Status::Invalid(
        fmt::format("the {} field `{}` is not a cron field of values {}-{}", what, field, lo, hi));
  };
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    std::string_view item = field.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int step = 1;
    bool stepped = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      if (!ReadInt(item.substr(slash + 1), step) || step < 1) return bad();
      step = std::min(step, hi - lo + 1);  // (a larger step names the first value alone)
      item = item.substr(0, slash);
      stepped = true;
    }
    int a = lo;
    int b = hi;
    if (item != "*") {
      size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!value(item, a)) return bad();
        b = stepped ? hi : a;  // `N/STEP` runs from N to the end, as in Vixie cron
      } else if (!value(item.substr(0, dash), a) || !value(item.substr(dash + 1), b) || a > b) {
        return bad();
      }
    }
    for (int v = a; v <= b; v += step) out[static_cast<size_t>(v - lo)] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

template <size_t N>
void Copy(const std::vector<bool>& from, std::bitset<N>& to, size_t offset = 0) {
  for (size_t i = 0; i < from.size(); ++i) to[i + offset] = from[i];
}

// An integer or a list of integers from lo to hi; false after reporting.
template <size_t N>
bool IntSet(const Source& src, const yaml::Node* n, const char* key, int lo, int hi,
            std::bitset<N>& out) {
  std::vector<const yaml::Node*> items;
  if (n->is_sequence()) {
    items = n->children;
  } else {
    items.push_back(n);
  }
  if (items.empty()) {
    src.diags.Error(src.Loc(n), fmt::format("`{}` lists no values", key));
    return false;
  }
  for (const yaml::Node* item : items) {
    int v = 0;
    if (!item->is_scalar() || !ReadInt(item->text, v) || v < lo || v > hi) {
      src.diags.Error(src.Loc(item),
                      fmt::format("`{}` takes integers from {} to {}, not {}", key, lo, hi,
                                  item->is_scalar() ? "`" + item->text + "`" : Describe(item)));
      return false;
    }
    out[static_cast<size_t>(v)] = true;
  }
  return true;
}

const std::vector<std::string> kWeekDays = {"sunday",   "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday"};

std::optional<DateTime> TimeField(Fields& f, const char* key) {
  const yaml::Node* n = f.Get(key);
  if (n == nullptr || n->is_null()) return std::nullopt;
  const Source& src = f.source();
  std::optional<DateTime> t;
  if (n->is_scalar()) t = ParseDateTime(n->text);
  if (!t) {
    src.diags.Error(src.Loc(n),
                    fmt::format("`{}` must be a date and time such as \"2026-07-10T10:00:00\", "
                                "not {}",
                                key, n->is_scalar() ? "`" + n->text + "`" : Describe(n)));
  }
  return t;
}

void ParsePattern(const Source& src, const yaml::Node* n, ScheduleTrigger& t) {
  Fields f(src, n, "a recurrence's `schedule`", src.Loc(n));
  if (!f.valid()) return;
  t.pattern = true;
  bool daily = t.frequency == Frequency::kDay || t.frequency == Frequency::kWeek ||
               t.frequency == Frequency::kMonth;
  if (!daily) {
    src.diags.Error(src.Loc(n),
                    fmt::format("a recurrence by the {} takes no `schedule` (it fires every "
                                "`interval` {}s from its start)",
                                FrequencyName(t.frequency), FrequencyName(t.frequency)),
                    "`schedule` gives the hours and minutes of recurrences by day, week or month");
  }
  if (const yaml::Node* h = f.Get("hours", true)) IntSet(src, h, "hours", 0, 23, t.hours);
  if (const yaml::Node* m = f.Get("minutes", true)) IntSet(src, m, "minutes", 0, 59, t.minutes);
  if (const yaml::Node* w = f.Get("week_days"); w && !w->is_null()) {
    if (t.frequency != Frequency::kWeek && t.frequency != Frequency::kMonth) {
      src.diags.Error(src.Loc(w), "`week_days` applies to recurrences by week or month");
    }
    std::vector<const yaml::Node*> items =
        w->is_sequence() ? w->children : std::vector<const yaml::Node*>{w};
    for (const yaml::Node* item : items) {
      std::string day = item->is_scalar() ? Lower(item->text) : std::string();
      size_t i = 0;
      while (i < kWeekDays.size() && kWeekDays[i] != day) ++i;
      if (i == kWeekDays.size()) {
        src.diags.Error(src.Loc(item),
                        fmt::format("`week_days` takes monday ... sunday, not {}",
                                    item->is_scalar() ? "`" + item->text + "`" : Describe(item)));
        continue;
      }
      t.week_days[i] = true;
    }
    t.has_week_days = t.week_days.any();
  }
  if (const yaml::Node* d = f.Get("month_days"); d && !d->is_null()) {
    if (t.frequency != Frequency::kMonth) {
      src.diags.Error(src.Loc(d), "`month_days` applies to recurrences by month");
    }
    t.has_month_days = IntSet(src, d, "month_days", 1, 31, t.month_days);
  }
  f.Finish();
}

void ParseTrigger(const Source& src, const yaml::Node* n, ScheduleTrigger& t) {
  Fields f(src, n, "a schedule's `trigger`", src.Loc(n));
  if (!f.valid()) return;
  t.loc = src.Loc(n);
  std::optional<std::string> type = f.String("type", true);
  if (!type) return;
  if (*type == "cron") {
    t.kind = ScheduleTrigger::Kind::kCron;
    const yaml::Node* e = f.Get("expression", true);
    if (e != nullptr) {
      t.expression = e->is_scalar() ? e->text : "";
      Status s = ParseCron(t.expression, t);
      if (!s.ok()) {
        src.diags.Error(src.Loc(e), s.message(),
                        "five fields: minute hour day month week-day, e.g. \"15 8 * * 1-5\"");
      }
    }
  } else if (*type == "recurrence") {
    t.kind = ScheduleTrigger::Kind::kRecurrence;
    if (std::optional<std::string> freq = f.String("frequency", true)) {
      static const std::vector<std::pair<std::string, Frequency>> kFrequencies = {
          {"minute", Frequency::kMinute},
          {"hour", Frequency::kHour},
          {"day", Frequency::kDay},
          {"week", Frequency::kWeek},
          {"month", Frequency::kMonth}};
      bool known = false;
      for (const auto& [name, value] : kFrequencies) {
        if (Lower(*freq) == name) {
          t.frequency = value;
          known = true;
        }
      }
      if (!known) {
        src.diags.Error(
            src.Loc(f.Get("frequency")),
            fmt::format("`frequency` is minute, hour, day, week or month, not `{}`", *freq));
      }
    }
    if (std::optional<int64_t> interval = f.Int("interval", 1)) {
      t.interval = *interval;
      if (*interval > kMaxInterval) {
        src.diags.Error(src.Loc(f.Get("interval")),
                        fmt::format("`interval` is at most {}", kMaxInterval));
      }
    }
    if (!f.Get("interval")) {
      src.diags.Error(t.loc, "a recurrence needs `interval` (fire every INTERVAL FREQUENCYs)");
    }
    if (const yaml::Node* p = f.Get("schedule"); p && !p->is_null()) ParsePattern(src, p, t);
  } else if (*type == "data") {
    t.kind = ScheduleTrigger::Kind::kData;
    t.asset = f.String("asset").value_or("");
    t.path = f.String("path").value_or("");
    if (t.asset.empty() == t.path.empty()) {
      src.diags.Error(t.loc,
                      "a data trigger names either a data asset (`asset: NAME`) or a datastore "
                      "folder (`path: azureml://datastores/NAME/paths/FOLDER`)");
    } else if (!t.path.empty() && t.path.rfind("azureml://datastores/", 0) != 0) {
      src.diags.Error(src.Loc(f.Get("path")),
                      fmt::format("`{}` is not a datastore folder "
                                  "(azureml://datastores/NAME/paths/FOLDER)",
                                  t.path));
    }
    if (std::optional<int64_t> settle = f.Int("interval", 1)) {
      if (*settle > kMaxSettleSeconds) {
        src.diags.Error(
            src.Loc(f.Get("interval")),
            fmt::format("`interval` is at most {} seconds (a week)", kMaxSettleSeconds));
      }
      if (!t.asset.empty()) {
        src.diags.Error(src.Loc(f.Get("interval")),
                        "`interval` applies to a datastore folder: how long it must stay "
                        "unchanged, in seconds");
      }
      t.settle_s = *settle;
    }
  } else {
    src.diags.Error(src.Loc(f.Get("type")),
                    fmt::format("a trigger's `type` is cron, recurrence or data, not `{}`", *type));
    return;
  }
  if (t.kind != ScheduleTrigger::Kind::kData) {
    // Azure's schema calls it `time_zone`; some of its pages say `timezone`.
    std::optional<std::string> zone = f.String("time_zone");
    if (!zone) zone = f.String("timezone");
    if (zone) {
      t.time_zone = *zone;
      if (Result<TimeZone> tz = TimeZone::Find(*zone); !tz.ok()) {
        const yaml::Node* at = f.Get("time_zone");
        src.diags.Error(src.Loc(at ? at : f.Get("timezone")), tz.status().message());
      }
    }
    t.start = TimeField(f, "start_time");
    t.end = TimeField(f, "end_time");
    if (t.start && t.end && !t.start->offset_s && !t.end->offset_s &&
        t.end->wall <= t.start->wall) {
      src.diags.Error(src.Loc(f.Get("end_time")), "`end_time` is not after `start_time`");
    }
  }
  f.Finish();
}

// `azureml:NAME`, `azureml:NAME:VERSION` or `azureml:NAME@latest`: a published pipeline.
void ParseJobReference(const Source& src, const yaml::Node* n, ScheduleJob& job) {
  job.job_loc = src.Loc(n);
  std::optional<std::string> text = ScalarString(src, n, "`create_job`");
  if (!text) return;
  job.job = *text;
  if (text->rfind("azureml:", 0) != 0) {
    if (text->empty()) src.diags.Error(job.job_loc, "`create_job` names no job");
    return;
  }
  job.published = true;
  std::string ref = text->substr(8);
  if (ref.size() > 7 && ref.compare(ref.size() - 7, 7, "@latest") == 0) {
    ref.resize(ref.size() - 7);
  } else if (size_t colon = ref.find(':'); colon != std::string::npos) {
    int v = 0;
    if (!ReadInt(std::string_view(ref).substr(colon + 1), v) || v < 1) {
      src.diags.Error(
          job.job_loc,
          fmt::format("`{}`: a published pipeline's version is a number from 1", *text));
    }
    job.published_version = v;
    ref.resize(colon);
  }
  if (ref.empty() || ref.find_first_of("/:@") != std::string::npos) {
    src.diags.Error(job.job_loc, fmt::format("`{}` names no published pipeline (azureml:NAME or "
                                             "azureml:NAME:VERSION)",
                                             *text));
  }
  job.published_name = ref;
}

void ParseCreateJob(const Source& src, const yaml::Node* n, ScheduleJob& job) {
  if (n->is_scalar()) {
    ParseJobReference(src, n, job);
    return;
  }
  Fields f(src, n, "a schedule's `create_job`", src.Loc(n));
  if (!f.valid()) return;
  if (std::optional<std::string> type = f.String("type"); type && *type != "pipeline") {
    src.diags.Error(src.Loc(f.Get("type")),
                    fmt::format("weft schedules pipeline jobs, not `{}` jobs", *type));
  }
  if (f.Get("jobs") != nullptr) {
    src.diags.Error(src.Loc(f.Get("jobs")),
                    "a pipeline written inside `create_job` is not supported",
                    "put it in a file next to the schedule and name it: `job: ./pipeline.yml`");
  }
  if (const yaml::Node* j = f.Get("job", true)) ParseJobReference(src, j, job);
  if (const yaml::Node* inputs = f.Get("inputs"); inputs && !inputs->is_null()) {
    Fields in(src, inputs, "`create_job.inputs`", src.Loc(inputs));
    if (in.valid()) {
      for (size_t i = 0; i < inputs->entry_count(); ++i) {
        const yaml::Node* key = inputs->key(i);
        const yaml::Node* value = inputs->value(i);
        in.Get(key->text);
        // A value, or {path: ...} / {value: ...} as a pipeline job's inputs are written.
        const yaml::Node* v = value;
        if (value->is_mapping()) {
          v = value->Find("path");
          if (v == nullptr) v = value->Find("value");
          if (v == nullptr) {
            src.diags.Error(src.Loc(value),
                            fmt::format("input `{}` gives no `path` or `value`", key->text));
            continue;
          }
        }
        if (!v->is_scalar()) {
          src.diags.Error(src.Loc(v), fmt::format("input `{}` must be a value, not {}", key->text,
                                                  Describe(v)));
          continue;
        }
        job.inputs.emplace_back(key->text, v->text);
      }
    }
  }
  if (const yaml::Node* outputs = f.Get("outputs"); outputs && !outputs->is_null()) {
    Fields out(src, outputs, "`create_job.outputs`", src.Loc(outputs));
    if (out.valid()) {
      for (size_t i = 0; i < outputs->entry_count(); ++i) {
        const yaml::Node* key = outputs->key(i);
        const yaml::Node* value = outputs->value(i);
        out.Get(key->text);
        // {path: ..., type:, mode:} as a pipeline job's outputs are written (type and mode are
        // the pipeline's own).
        const yaml::Node* path = value->is_mapping() ? value->Find("path") : nullptr;
        if (path == nullptr || !path->is_scalar() || path->text.empty()) {
          src.diags.Error(src.Loc(value),
                          fmt::format("output `{}` gives no `path` (where it is published)", key->text),
                          "`outputs: {NAME: {path: azureml://datastores/DATASTORE/paths/...}}`");
          continue;
        }
        job.outputs.emplace_back(key->text, path->text);
      }
    }
  }
  if (const yaml::Node* settings = f.Get("settings"); settings && !settings->is_null()) {
    Fields st(src, settings, "`create_job.settings`", src.Loc(settings));
    if (st.valid()) {
      for (size_t i = 0; i < settings->entry_count(); ++i) {
        const yaml::Node* key = settings->key(i);
        const yaml::Node* value = settings->value(i);
        st.Get(key->text);
        bool flag = key->text == "continue_on_step_failure" || key->text == "force_rerun";
        bool text = key->text == "default_compute" || key->text == "default_datastore";
        if (!flag && !text) {
          src.diags.Error(src.Loc(key), fmt::format("`create_job.settings.{}` cannot be set by a schedule", key->text),
                          "a schedule may set continue_on_step_failure, force_rerun, "
                          "default_compute and default_datastore");
          continue;
        }
        if (!value->is_scalar() ||
            (flag && value->text != "true" && value->text != "false" && value->text != "True" &&
             value->text != "False")) {
          src.diags.Error(src.Loc(value), fmt::format("`create_job.settings.{}` is {}", key->text,
                                                      flag ? "true or false" : "a name"));
          continue;
        }
        job.settings.emplace_back(key->text, value->text);
      }
    }
  }
  job.experiment = f.String("experiment_name").value_or("");
  job.tags = f.StringMap("tags");
  f.Ignore({"display_name", "description", "compute"});
  f.Finish();
}

}  // namespace

const char* FrequencyName(Frequency f) {
  switch (f) {
    case Frequency::kMinute:
      return "minute";
    case Frequency::kHour:
      return "hour";
    case Frequency::kDay:
      return "day";
    case Frequency::kWeek:
      return "week";
    case Frequency::kMonth:
      return "month";
  }
  return "?";
}

std::optional<DateTime> ParseDateTime(const std::string& text) {
  // YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM]
  auto digits = [&](size_t at, size_t n, int& out) {
    if (at + n > text.size()) return false;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    }
    return ReadInt(std::string_view(text).substr(at, n), out);
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(0, 4, y) || text.size() < 16 || text[4] != '-' || !digits(5, 2, mo) ||
      text[7] != '-' || !digits(8, 2, d) || (text[10] != 'T' && text[10] != ' ') ||
      !digits(11, 2, h) || text[13] != ':' || !digits(14, 2, mi)) {
    return std::nullopt;
  }
  size_t at = 16;
  if (at < text.size() && text[at] == ':') {
    if (!digits(at + 1, 2, s)) return std::nullopt;
    at += 3;
    if (at < text.size() && text[at] == '.') {
      ++at;
      size_t from = at;
      while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
      if (at == from) return std::nullopt;
    }
  }
  DateTime out;
  out.text = text;
  if (at < text.size()) {
    int oh = 0, om = 0;
    if (text[at] == 'Z' && at + 1 == text.size()) {
      out.offset_s = 0;
    } else if ((text[at] == '+' || text[at] == '-') && at + 6 == text.size() &&
               digits(at + 1, 2, oh) && text[at + 3] == ':' && digits(at + 4, 2, om) && oh < 24 &&
               om < 60) {
      out.offset_s = (text[at] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;
    }
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  out.wall = sys_days(ymd).time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
  return out;
}

Status ParseCron(const std::string& expression, ScheduleTrigger& t) {
  std::vector<std::string_view> fields;
  std::string_view rest = expression;
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    rest = rest.substr(start);
    size_t end = rest.find_first_of(" \t");
    fields.push_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (fields.size() != 5) {
    return Status::Invalid(fmt::format(
        "`{}` has {} fields; a cron expression has five: minute hour day month week-day",
        expression, fields.size()));
  }
  static const std::vector<std::string> kDayNames = {"sun", "mon", "tue", "wed",
                                                     "thu", "fri", "sat", "sun"};
  static const std::vector<std::string> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
  std::vector<bool> bits;
  Status s = CronField(fields[0], "minute", 0, 59, {}, bits);
  if (!s.ok()) return s;
  t.minutes.reset();
  Copy(bits, t.minutes);
  s = CronField(fields[1], "hour", 0, 23, {}, bits);
  if (!s.ok()) return s;
  t.hours.reset();
  Copy(bits, t.hours);
  // Day of month and month: checked, then ignored (Azure ML ignores them).
  s = CronField(fields[2], "day", 1, 31, {}, bits);
  if (!s.ok()) return s;
  s = CronField(fields[3], "month", 1, 12, kMonthNames, bits);
  if (!s.ok()) return s;
  s = CronField(fields[4], "week-day", 0, 7, kDayNames, bits);
  if (!s.ok()) return s;
  t.week_days.reset();
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) t.week_days[i % 7] = true;  // 7 is Sunday too
  }
  return Status::Ok();
}

std::optional<Schedule> ParseSchedule(const Source& src, const yaml::Node* root) {
  size_t errors = src.diags.error_count();
  Schedule out;
  Fields f(src, root, "a schedule", src.Loc(root));
  if (!f.valid()) return std::nullopt;
  f.Ignore({"$schema", "properties", "is_enabled", "creation_context", "id"});
  if (std::optional<std::string> name = f.String("name", true)) out.name = *name;
  out.display_name = f.String("display_name").value_or("");
  out.description = f.String("description").value_or("");
  out.tags = f.StringMap("tags");
  if (const yaml::Node* t = f.Get("trigger", true)) ParseTrigger(src, t, out.trigger);
  if (const yaml::Node* j = f.Get("create_job", true)) ParseCreateJob(src, j, out.create_job);
  if (f.Get("import_data") || f.Get("create_monitor")) {
    src.diags.Error(src.Loc(root), "weft schedules pipeline jobs (`create_job`) only");
  }
  f.Finish();
  if (src.diags.error_count() > errors) return std::nullopt;
  return out;
}

}  // namespace weft::spec
