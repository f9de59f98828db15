// HTTP for weft's server and its clients: cpp-httplib behind this adapter (http.cc is the only
// file that includes it), with the settings that make it fit for a server measured in
// ../docs/server.md: TCP_NODELAY, a thread pool larger than the open connections, a body limit
// (413), read and write timeouts, a bounded keep-alive, and the Host header checked.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace weft::server {

struct Request {
  std::string method;
  std::string path;                                 // without the query
  std::map<std::string, std::string> params;        // the route's {placeholders}, decoded
  std::multimap<std::string, std::string> query;    // ?a=1&b=2, decoded
  std::multimap<std::string, std::string> headers;  // names as sent (compare case-insensitively)
  std::string body;
  std::string remote;  // the peer's address

  std::optional<std::string> Header(const std::string& name) const;
  std::optional<std::string> Query(const std::string& name) const;
};

// Writes a streamed body a piece at a time; false: the client is gone (stop writing).
using StreamWrite = std::function<bool(std::string_view)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A body made while it is sent (events, downloads), instead of `body`: called once, from the
  // connection's thread, after the handler returned; the response ends when it returns.
  std::function<void(const StreamWrite&)> stream;
};

using Handler = std::function<Response(const Request&)>;

struct Route {
  std::string method;  // GET, POST, PUT, DELETE
  std::string path;    // "/api/v1/runs/{run}": a placeholder matches one path segment, and
                       // `{name...}` the rest of the path
  Handler handler;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8765;   // 0: any free port
  int threads = 64;  // more than keep-alive connections plus open streams
  size_t max_body = 64 << 20;
  int read_timeout_s = 10;  // per read of a request: a silent client frees its thread
  int write_timeout_s = 10;
  int keep_alive_s = 5;
  size_t keep_alive_max = 100;
  // Host headers accepted besides the listen address ("name" or "name:port").
  std::vector<std::string> host_names;
  std::string cert_file;  // TLS when both are given
  std::string key_file;
  // A folder of static files served under / without a token (the web UI); empty: none. They get
  // a Content-Security-Policy that runs only scripts of this server and no inline script.
  std::string static_dir;
};

class HttpServer {
 public:
  // Requests that match no route get a JSON 404; a body over the limit a 413; a Host header that
  // names another server a 421, all with the same error body as handlers give.
  HttpServer(ServerOptions options, std::vector<Route> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address (an error says why not); port() is the port bound.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop() (from another thread); returns once every handler has finished.
  void Serve();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ServerOptions options_;
  int port_ = 0;
};

// A JSON error response: {"error": {"code": ..., "message": ...}}, the status by the Status's code
// (Invalid 400, Unauthenticated 401, Denied 403, NotFound 404, Busy 409, TooLarge 413, others
// 500: their message goes to standard error, the client learns only that the server failed).
Response ErrorResponse(const Status& status);
int HttpStatusFor(const Status& status);
std::string_view CodeName(Code code);

// A client of weft's server (the CLI's `--server`, tests, benchmarks).
class HttpClient {
 public:
  // `url`: http://host:port or https://host:port; `token` goes in the Authorization header
  // (none when empty). An answer must come within `timeout_s`.
  static Result<std::unique_ptr<HttpClient>> Open(const std::string& url, std::string token,
                                                  int timeout_s = 300);
  ~HttpClient();

  // The response, whatever its status; an error only when no response came.
  Result<Response> Send(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});
  // A GET whose successful (2xx) body goes to `sink` a piece at a time as it comes (the Response
  // then has no body; `sink` returning false stops it); another status's body is in the Response.
  Result<Response> Fetch(const std::string& path, const std::function<bool(std::string_view)>& sink);

 private:
  HttpClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string token_;
};

}  // namespace weft::server
