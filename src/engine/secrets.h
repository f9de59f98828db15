// Secrets: environment variables the workspace configuration declares secret
// (`secrets: [DB_PASSWORD, HF_TOKEN]`). Steps receive them like any other variable; their values
// never reach what weft writes: step logs (rewritten when each attempt ends), the database
// (fingerprint fields, inputs, messages, logged params and tags, run tags) and so `weft show`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace weft::engine {

class Redactor {
 public:
  static constexpr const char* kMask = "[secret]";
  // Values shorter than this are not redacted: masking every "1" would ruin logs, not hide much.
  static constexpr size_t kMinLength = 4;

  // The values of the variables `names` in weft's own environment and among `set` (the variables
  // a pipeline sets for its steps).
  static Redactor ForSecrets(const std::vector<std::string>& names,
                             const std::vector<std::pair<std::string, std::string>>& set);

  void Add(const std::string& value);
  bool empty() const { return values_.empty(); }
  // `text` with every secret value replaced by kMask.
  std::string Apply(std::string text) const;
  // Rewrites a file with its secrets masked, atomically, reading it in blocks (a log can be
  // large). A file without secrets is left untouched.
  Status ApplyToFile(const std::string& path) const;

 private:
  std::vector<std::string> values_;  // longest first, so that a secret containing another goes whole
};

}  // namespace weft::engine
