// Helpers shared by weft's tests: temporary folders, files, and running the real binary.
#pragma once

#include <sys/types.h>

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

// `weft serve` (the binary `weft`) on a free loopback port, serving `workspace`; stopped with
// SIGTERM (and waited for) when the object goes away. Its output goes to a file of its own.
class Server {
 public:
  Server(const std::string& weft, const std::string& workspace,
         const std::vector<std::string>& options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& url() const { return url_; }
  const std::string& admin_token() const { return token_; }
  // What it printed so far.
  std::string output() const;

 private:
  TempDir log_dir_;
  std::string log_;
  pid_t pid_ = -1;
  std::string url_;
  std::string token_;
};

}  // namespace weft::testing
