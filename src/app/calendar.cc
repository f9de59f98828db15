#include "app/calendar.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace weft::app {
namespace {

constexpr int64_t kDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

int64_t Mod(int64_t a, int64_t b) {
  return a - FloorDiv(a, b) * b;
}

// 1970-01-01 was a Thursday; 0 is Sunday.
int64_t WeekDay(int64_t day) {
  return Mod(day + 4, 7);
}

std::chrono::year_month_day Civil(int64_t day) {
  return std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(day)));
}

int64_t MonthIndex(int64_t day) {
  std::chrono::year_month_day ymd = Civil(day);
  return static_cast<int64_t>(static_cast<int>(ymd.year())) * 12 +
         static_cast<unsigned>(ymd.month()) - 1;
}

// A time given with an offset is that instant; without one, a wall-clock time in the zone.
int64_t Instant(const spec::DateTime& t, const TimeZone& zone) {
  return t.offset_s ? t.wall - *t.offset_s : zone.ToUtc(t.wall);
}

}  // namespace

Result<Calendar> Calendar::For(const spec::ScheduleTrigger& trigger, int64_t created) {
  Result<TimeZone> zone = TimeZone::Find(trigger.time_zone);
  if (!zone.ok()) return zone.status();
  int64_t start = trigger.start ? Instant(*trigger.start, *zone) : created;
  std::optional<int64_t> end;
  if (trigger.end) end = Instant(*trigger.end, *zone);
  return Calendar(trigger, std::move(*zone), start, end, trigger.start.has_value());
}

std::optional<int64_t> Calendar::First(int64_t now) const {
  if (!has_start_) {
    if (end_ && now > *end_) return std::nullopt;
    return now;
  }
  return Next(std::max(now, start_) - 1);
}

std::optional<int64_t> Calendar::Next(int64_t after) const {
  std::optional<int64_t> next;
  using spec::Frequency;
  bool elapsed = t_.kind == spec::ScheduleTrigger::Kind::kRecurrence &&
                 (t_.frequency == Frequency::kMinute || t_.frequency == Frequency::kHour);
  if (elapsed) {
    int64_t period = t_.interval * (t_.frequency == Frequency::kMinute ? 60 : 3600);
    int64_t k = after < start_ ? 0 : FloorDiv(after - start_, period) + 1;
    next = start_ + k * period;
  } else {
    next = NextOnCalendar(after);
  }
  if (next && end_ && *next > *end_) return std::nullopt;
  return next;
}

bool Calendar::DayMatches(int64_t day) const {
  using spec::Frequency;
  if (t_.kind == spec::ScheduleTrigger::Kind::kCron) return t_.week_days[WeekDay(day)];
  int64_t first = FloorDiv(zone_.ToLocal(start_), kDay);
  if (day < first) return false;
  switch (t_.frequency) {
    case Frequency::kDay:
      return Mod(day - first, t_.interval) == 0;
    case Frequency::kWeek: {
      // Weeks begin on Sunday.
      int64_t weeks = FloorDiv(day + 4, 7) - FloorDiv(first + 4, 7);
      if (Mod(weeks, t_.interval) != 0) return false;
      return t_.has_week_days ? t_.week_days[WeekDay(day)] : WeekDay(day) == WeekDay(first);
    }
    case Frequency::kMonth: {
      if (Mod(MonthIndex(day) - MonthIndex(first), t_.interval) != 0) return false;
      unsigned dom = static_cast<unsigned>(Civil(day).day());
      if (t_.has_month_days) return t_.month_days[dom];
      if (t_.has_week_days) return t_.week_days[WeekDay(day)];
      // A month without the start's day (the 31st) is skipped.
      return dom == static_cast<unsigned>(Civil(first).day());
    }
    default:
      return false;
  }
}

std::optional<int64_t> Calendar::NextOnCalendar(int64_t after) const {
  // The times of day a matching day fires at, in seconds, ascending.
  std::vector<int64_t> times;
  bool pattern = t_.kind == spec::ScheduleTrigger::Kind::kCron || t_.pattern;
  if (pattern) {
    for (int h = 0; h < 24; ++h) {
      if (!t_.hours[h]) continue;
      for (int m = 0; m < 60; ++m) {
        if (t_.minutes[m]) times.push_back(h * 3600 + m * 60);
      }
    }
  } else {
    times.push_back(Mod(zone_.ToLocal(start_), kDay));
  }
  if (times.empty()) return std::nullopt;
  // From the local day before `after` (a time there may map past it across a change of offset),
  // far enough for every rule to come round: a yearly recurrence on February 29 waits four years.
  int64_t from = std::max(after, start_ - 1);
  int64_t day = FloorDiv(zone_.ToLocal(from), kDay) - 1;
  int64_t last = day + 366 * 8 + 31 * 4 * t_.interval;
  for (; day <= last; ++day) {
    if (!DayMatches(day)) continue;
    for (int64_t tod : times) {
      int64_t at = zone_.ToUtc(day * kDay + tod);
      if (at <= from) continue;
      if (end_ && at > *end_) return std::nullopt;
      return at;
    }
  }
  return std::nullopt;
}

}  // namespace weft::app
