#include "base/diag.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace weft {

std::string Diagnostic::Format() const {
  std::string where;
  if (!file.empty()) {
    where = line > 0 ? fmt::format("{}:{}:{}: ", file, line, col) : file + ": ";
  }
  std::string out = fmt::format("{}{}: {}", where, severity == Severity::kError ? "error" : "warning",
                                message);
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

void Diagnostics::Error(const SourceLoc& at, std::string message, std::string hint) {
  Add({Severity::kError, at.file ? *at.file : std::string(), at.line, at.col, std::move(message),
       std::move(hint)});
}

void Diagnostics::Warning(const SourceLoc& at, std::string message, std::string hint) {
  Add({Severity::kWarning, at.file ? *at.file : std::string(), at.line, at.col, std::move(message),
       std::move(hint)});
}

void Diagnostics::Add(Diagnostic d) {
  for (const Diagnostic& seen : items_) {
    if (seen.severity == d.severity && seen.line == d.line && seen.col == d.col &&
        seen.message == d.message && seen.file == d.file) {
      return;
    }
  }
  size_t& count = d.severity == Severity::kError ? errors_ : warnings_;
  ++count;
  if (count <= cap_) items_.push_back(std::move(d));
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.col) < std::tie(b.file, b.line, b.col);
  });
  return out;
}

std::string Diagnostics::FormatAll() const {
  std::string out;
  for (const Diagnostic& d : Sorted()) out += d.Format() + "\n";
  if (errors_ > cap_) out += fmt::format("... and {} more errors not shown\n", errors_ - cap_);
  if (warnings_ > cap_) {
    out += fmt::format("... and {} more warnings not shown\n", warnings_ - cap_);
  }
  return out;
}

}  // namespace weft
