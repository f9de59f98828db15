// When a schedule fires: Azure ML's cron and recurrence triggers, computed in the trigger's time
// zone. Pure: every function takes the time it is asked about, so that tests drive it with a
// fake clock.
//
// Wall-clock rules (cron, and recurrences by day, week and month): each wall-clock time a trigger
// names fires once. On the day clocks skip an hour, a named time inside the skipped hour fires as
// far past the change as it was past the hour's start (02:30 -> 03:30); on the day they pass an
// hour twice, a named time in it fires at its first occurrence. Recurrences by minute and by hour
// fire every `interval` minutes or hours of elapsed time from their start, whatever the clocks do.
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"
#include "base/timezone.h"
#include "spec/schedule.h"

namespace weft::app {

class Calendar {
 public:
  // A cron or recurrence trigger, for a schedule created at `created` (seconds since 1970): with
  // no `start_time`, its start. NotFound for an unknown time zone.
  static Result<Calendar> For(const spec::ScheduleTrigger& trigger, int64_t created);

  // The first firing at or after `now` (a schedule made or enabled then): `now` itself when the
  // trigger has no start time (Azure fires at once), else the first computed time at or after
  // its start, or after `now` when the start is past. nullopt: none is left (end time).
  std::optional<int64_t> First(int64_t now) const;
  // The first firing strictly after `after`, none after the end time.
  std::optional<int64_t> Next(int64_t after) const;

  int64_t start() const { return start_; }
  const TimeZone& zone() const { return zone_; }

 private:
  Calendar(const spec::ScheduleTrigger& trigger, TimeZone zone, int64_t start,
           std::optional<int64_t> end, bool has_start)
      : t_(trigger), zone_(std::move(zone)), start_(start), end_(end), has_start_(has_start) {}
  // Wall-clock days from the local day of `after`: the first named time after it.
  std::optional<int64_t> NextOnCalendar(int64_t after) const;
  bool DayMatches(int64_t day) const;

  spec::ScheduleTrigger t_;
  TimeZone zone_;
  int64_t start_;
  std::optional<int64_t> end_;
  bool has_start_;
};

}  // namespace weft::app
