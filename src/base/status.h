// Status and Result<T>: weft's one error type.
//
// A Status is a code plus a human message. Functions that can fail because of a user, the disk, the
// network or a child process return Status or Result<T>; assertions are reserved for bugs. Exceptions
// never cross a module boundary. Status codes map onto process exit codes in one place (cli/).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace weft {

enum class Code {
  kOk = 0,
  kInvalid,    // bad usage or invalid input (exit 2)
  kNotFound,   // a named thing does not exist (exit 2)
  kIo,         // the system failed us: disk, permissions (exit 3)
  kInternal,   // a bug in weft (exit 3)
  kCanceled,   // the user asked us to stop (exit 130)
  kBusy,       // something else holds what we need; try again later (exit 75, EX_TEMPFAIL)
  kUnauthenticated,  // no valid credentials (HTTP 401; exit 77, EX_NOPERM)
  kDenied,           // valid credentials, not allowed to do this (HTTP 403; exit 77)
  kTooLarge,         // more than a stated limit accepts (HTTP 413; exit 2)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status Denied(std::string m) { return {Code::kDenied, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                                    // NOLINT
  Result(Status status) : v_(std::move(status)) { assert(!std::get<1>(v_).ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Process exit codes, stable and documented in docs/cli.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitStepFailed = 1,
  kExitInvalid = 2,
  kExitSystem = 3,
  kExitCanceled = 130,
  kExitBusy = 75,
  kExitDenied = 77,  // EX_NOPERM
};

// The exit code that a failed Status maps to.
int ExitCodeFor(const Status& status);

}  // namespace weft
