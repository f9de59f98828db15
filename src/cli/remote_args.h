// What the subcommands that can work through a server share: --server (or $WEFT_SERVER) and the
// token, read from $WEFT_TOKEN or --token-file, never from the command line.
#pragma once

#include <memory>
#include <string>

#include "base/json.h"
#include "base/status.h"
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

// Calls the API; a response that is not a success becomes the Status its error body says (401
// Unauthenticated, 403 Denied, 404 NotFound, 400 Invalid, ...).
Result<Json> CallApi(server::HttpClient& client, const std::string& method, const std::string& path,
                     const Json& body = Json());

// A query string parameter, percent-encoded.
std::string QueryValue(const std::string& value);

}  // namespace weft::cli
