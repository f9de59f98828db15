// Time zones: ICU behind this adapter (timezone.cc is the only file that includes it). A zone is
// named the way Azure ML schedules name it, by its Windows name ("Pacific Standard Time"), or by
// its tz-database name ("America/Los_Angeles"); ICU maps the one to the other (CLDR's
// windowsZones table, as Windows itself does).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace weft {

class TimeZone {
 public:
  // "UTC", a Windows time-zone name, or a tz-database name; NotFound otherwise.
  static Result<TimeZone> Find(const std::string& name);
  static TimeZone Utc();

  // The tz-database name ("America/Los_Angeles", "Etc/UTC").
  const std::string& id() const { return id_; }

  // Seconds since 1970 of a local wall-clock time (`local`: the wall-clock fields as if they
  // were UTC). A time the clocks skip (spring forward) counts with the offset before the change,
  // i.e. it lands as far past the change as it was past the skipped hour's start (02:30 -> 03:30);
  // a time the clocks pass twice (fall back) is its first occurrence.
  int64_t ToUtc(int64_t local) const;
  // The wall-clock time (as if UTC) at `utc` seconds since 1970.
  int64_t ToLocal(int64_t utc) const;

 private:
  struct Impl;
  TimeZone(std::string id, std::shared_ptr<const Impl> impl);
  std::string id_;
  std::shared_ptr<const Impl> impl_;  // immutable after construction: safe to share across threads
};

}  // namespace weft
