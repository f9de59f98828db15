// What a step or a run is doing, or how it ended: weft's one status type, shared by the engine,
// the metadata store, observers and every front end. Stored and shown by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace weft::meta {

enum class StepStatus : uint8_t {
  kPending,      // its producers have not all finished
  kWaiting,      // another run computes the same fingerprint; its result will be reused
  kRunning,      // an attempt is running (or about to start)
  kRetrying,     // an attempt failed; the next one waits for its time
  kSucceeded,    // it ran and its outputs are stored
  kReused,       // an earlier success with the same fingerprint stands for it
  kFailed,       // it ran and failed (or could not start)
  kTimedOut,     // stopped at its limits.timeout
  kCanceled,     // stopped, or never started, because the run was canceled or halted
  kSkipped,      // never ran: a producer it needs did not succeed, or it was not selected
  kInterrupted,  // its weft died while it ran (`weft resume` finishes the run)
};

enum class RunStatus : uint8_t { kRunning, kSucceeded, kFailed, kCanceled, kInterrupted };

std::string_view Name(StepStatus s);
std::string_view Name(RunStatus s);
// The status a name stands for; nullopt for any other text.
std::optional<StepStatus> ParseStepStatus(std::string_view name);
std::optional<RunStatus> ParseRunStatus(std::string_view name);

// Whether the step is over: nothing about it changes any more in this run.
bool Ended(StepStatus s);
// Whether the step's outputs are there for its consumers.
inline bool Produced(StepStatus s) { return s == StepStatus::kSucceeded || s == StepStatus::kReused; }
// Whether the step failed (a timeout is a failure).
inline bool Failed(StepStatus s) { return s == StepStatus::kFailed || s == StepStatus::kTimedOut; }

}  // namespace weft::meta

// Statuses print by name.
template <>
struct fmt::formatter<weft::meta::StepStatus> : fmt::formatter<std::string_view> {
  auto format(weft::meta::StepStatus s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(weft::meta::Name(s), ctx);
  }
};
template <>
struct fmt::formatter<weft::meta::RunStatus> : fmt::formatter<std::string_view> {
  auto format(weft::meta::RunStatus s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(weft::meta::Name(s), ctx);
  }
};
