// Wall-clock time, as weft records it (run and step times, hash-cache stamps, asset creation),
// and the monotonic clock executors time jobs by.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft {

// Nanoseconds since 1970 (the system clock: comparable with file mtimes, not monotonic).
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds on the monotonic clock: for timeouts and polling intervals only (never recorded).
inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace weft
