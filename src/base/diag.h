// Diagnostics: located errors and warnings collected in one pass.
//
// Every problem a user can cause in a pipeline file is reported as
//   path/file.yml:LINE:COL: error: what is wrong
//     hint: what would be right
// Loading never stops at the first problem; it reports everything, up to a cap per severity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// A position in a source file. `file` points at a name owned by whoever loaded the file (it outlives
// every model object built from it); line and column are 1-based, 0 when unknown.
struct SourceLoc {
  const std::string* file = nullptr;
  uint32_t line = 0;
  uint32_t col = 0;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity;
  std::string file;  // empty when the problem has no file (a command-line option)
  uint32_t line = 0;
  uint32_t col = 0;
  std::string message;
  std::string hint;  // optional

  // "file:line:col: error: message" plus an indented hint line when there is one.
  std::string Format() const;
};

// Collects diagnostics. Not thread-safe. Keeps at most `cap` of each severity but counts them all;
// an identical diagnostic reported twice (same place, same text) is kept once.
class Diagnostics {
 public:
  explicit Diagnostics(size_t cap = 50) : cap_(cap) {}

  void Error(const SourceLoc& at, std::string message, std::string hint = {});
  void Warning(const SourceLoc& at, std::string message, std::string hint = {});
  void Add(Diagnostic d);

  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  size_t warning_count() const { return warnings_; }

  // The kept diagnostics, sorted by file, line and column (errors and warnings interleaved).
  std::vector<Diagnostic> Sorted() const;
  // All kept diagnostics formatted one after another, followed by a line saying how many were not
  // shown when the cap was reached.
  std::string FormatAll() const;

 private:
  size_t cap_;
  size_t errors_ = 0;
  size_t warnings_ = 0;
  std::vector<Diagnostic> items_;
};

}  // namespace weft
