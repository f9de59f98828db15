// Helpers shared by weft's tests: temporary folders, files, and running the real binary.
#pragma once

#include <string>
#include <vector>

namespace weft::testing {

// A fresh folder under $TMPDIR, removed with everything in it when the object goes away. Its name
// holds a space, a single quote and a non-ASCII letter ("weft test 'ü-XXXXXX").
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `rel` under the folder, creating parent folders; returns the full path.
  std::string Write(const std::string& rel, const std::string& content) const;
  std::string Mkdir(const std::string& rel) const;

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs `argv` in `cwd` and waits for it, capturing stdout and stderr.
ProcessResult Run(const std::vector<std::string>& argv, const std::string& cwd);

}  // namespace weft::testing
