#include "meta/status.h"

#include <array>
#include <utility>

namespace weft::meta {
namespace {

constexpr std::array<std::pair<StepStatus, std::string_view>, 11> kStepNames = {{
    {StepStatus::kPending, "pending"},
    {StepStatus::kWaiting, "waiting"},
    {StepStatus::kRunning, "running"},
    {StepStatus::kRetrying, "retrying"},
    {StepStatus::kSucceeded, "succeeded"},
    {StepStatus::kReused, "reused"},
    {StepStatus::kFailed, "failed"},
    {StepStatus::kTimedOut, "timed_out"},
    {StepStatus::kCanceled, "canceled"},
    {StepStatus::kSkipped, "skipped"},
    {StepStatus::kInterrupted, "interrupted"},
}};

constexpr std::array<std::pair<RunStatus, std::string_view>, 5> kRunNames = {{
    {RunStatus::kRunning, "running"},
    {RunStatus::kSucceeded, "succeeded"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kCanceled, "canceled"},
    {RunStatus::kInterrupted, "interrupted"},
}};

template <typename E, size_t N>
std::string_view NameIn(const std::array<std::pair<E, std::string_view>, N>& names, E e) {
  for (const auto& [value, name] : names) {
    if (value == e) return name;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> ParseIn(const std::array<std::pair<E, std::string_view>, N>& names,
                         std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view Name(StepStatus s) { return NameIn(kStepNames, s); }
std::string_view Name(RunStatus s) { return NameIn(kRunNames, s); }
std::optional<StepStatus> ParseStepStatus(std::string_view name) { return ParseIn(kStepNames, name); }
std::optional<RunStatus> ParseRunStatus(std::string_view name) { return ParseIn(kRunNames, name); }

bool Ended(StepStatus s) {
  switch (s) {
    case StepStatus::kPending:
    case StepStatus::kWaiting:
    case StepStatus::kRunning:
    case StepStatus::kRetrying:
      return false;
    default:
      return true;
  }
}

}  // namespace weft::meta
