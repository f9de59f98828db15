// What the subcommands that can work through a server share: --server (or $WEFT_SERVER) and the
// token, read from $WEFT_TOKEN or --token-file, never from the command line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <functional>

#include "app/session.h"
#include "base/json.h"
#include "base/status.h"
#include "cli/workspace_args.h"
#include "server/http.h"

namespace CLI {
class App;
}

namespace weft::cli {

struct RemoteArgs {
  std::string server;
  std::string token_file;
  void AddTo(CLI::App& sub);
  // The server's URL (--server, else $WEFT_SERVER); empty: work on the workspace itself.
  std::string Url() const;
  bool remote() const { return !Url().empty(); }
  Result<std::unique_ptr<server::HttpClient>> Connect() const;
};

// Where a command runs: the workspace itself (as its admin) or a server (--server). Either way
// the answer is the same JSON (app/views.h), printed the same way.
struct Target {
  WorkspaceArgs workspace;
  RemoteArgs remote;
  void AddTo(CLI::App& sub);
  // Runs `local` on the opened workspace, or calls the API.
  Result<Json> Do(const std::function<Result<Json>(app::Session&)>& local,
                  const std::string& method, const std::string& path,
                  const Json& body = Json()) const;
};

// Calls the API; a response that is not a success becomes the Status its error body says (401
// Unauthenticated, 403 Denied, 404 NotFound, 400 Invalid, ...).
Result<Json> CallApi(server::HttpClient& client, const std::string& method, const std::string& path,
                     const Json& body = Json());
// The same with a body of another type (a tar archive).
Result<Json> CallApi(server::HttpClient& client, const std::string& method, const std::string& path,
                     const std::string& body, const std::string& content_type);

// The same, asking again every second while the server answers Busy (409: e.g. `weft gc --wait`
// while runs run there).
Result<Json> CallApiWhenFree(server::HttpClient& client, const std::string& method,
                             const std::string& path, const Json& body = Json());

// What an unsuccessful answer says, as a Status (401 Unauthenticated, 403 Denied, ...).
Status ErrorOf(const server::Response& r);

// A member of a JSON answer, for printing: its text ("" unless a string), its integer (0 unless a
// number).
std::string TextOf(const Json& j, const char* key);
int64_t IntOf(const Json& j, const char* key);

// A query string parameter, percent-encoded.
std::string QueryValue(const std::string& value);

// Seconds from a JSON object's `started_ns` to its `finished_ns`, or to now while it runs.
double SecondsOf(const Json& j, bool running);

// "2026-06-01 10:20 UTC" ("2026-06-01 10:20:05 UTC" with `seconds`); "never" for 0.
std::string UtcDate(int64_t ns, bool seconds = false);

// A file and the folder sent with it (`folder` empty: the file's own), as a server takes them (a
// pipeline to run or publish, a schedule and its job): the folder's regular files (and links to
// regular files inside it, sent as those files) without the workspace, version control, caches
// or virtual environments (`.weft`, `.git`, `__pycache__`, `.venv`, `node_modules`), as the Python
// client sends them, less what an `.amlignore` leaves out of its folder, its empty folders, and
// the file's path inside it; a link out of the folder, or anything else it cannot send, is an
// error naming it. Paths as given on the command line (relative to the current folder).
struct Bundle {
  std::string folder;              // absolute
  std::string file;                // inside `folder`
  std::vector<std::string> files;  // sent with it: paths inside `folder`, in name order
  std::vector<std::string> empty;  // empty folders sent with them (made as they are)
};
Result<Bundle> BundleOf(const std::string& file, const std::string& folder);
// A file or folder to send as it is (data to register): its folder's files and `file` the
// file's name, or `.` for a folder.
Result<Bundle> BundleOfPath(const std::string& path);
// The bundle's files as one tar archive (for a workspace here: app::Unpack).
Result<std::string> ArchiveOf(const Bundle& bundle);
// `weft validate` through a server (POST /validate): the pipeline `file` sent with `folder`, with
// `sets`; with `format`, its graph drawn too. The server's answer.
Result<Json> ValidateOnServer(const RemoteArgs& remote, const std::string& file,
                              const std::string& folder, const std::vector<std::string>& sets,
                              const std::string& format = "");

// Sends a bundle's files to a server as an upload (app/upload.h): their manifest first, then only
// the contents the project has not sent before, in parts under the server's body limit. Returns
// the upload's id, for `&upload=` (`project`: an admin's `?project=`, or empty).
Result<std::string> SendBundle(server::HttpClient& client, const Bundle& bundle,
                               const std::string& project);

}  // namespace weft::cli
