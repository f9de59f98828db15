// `weft serve`: the workspace shared over HTTP until a signal stops it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "app/identity.h"
#include "app/session.h"
#include "base/status.h"

namespace weft::server {

struct ServeOptions {
  std::string listen = "127.0.0.1:8765";  // HOST:PORT ([V6]:PORT); port 0: any free one
  std::string cert_file;                  // TLS
  std::string key_file;
  bool insecure = false;                // a non-loopback address without TLS
  std::vector<std::string> host_names;  // Host headers accepted besides the listen address
  std::string ui_dir;  // the web UI's built files (index.html, app.js); empty: no UI
  app::TokenPolicy tokens;
  int64_t heartbeat_s = 15;  // an event stream's comment line when nothing else was sent
  // Variables of the server's own environment that its steps get too (theirs is scrubbed:
  // docs/server.md), e.g. a proxy or a library path; never WEFT_*.
  std::vector<std::string> pass_env;
  std::string version;
  // What the server says to whoever started it (the first admin token, where it listens,
  // warnings), a line at a time.
  std::function<void(std::string_view)> say;
};

// Serves until SIGINT, SIGTERM, SIGQUIT or SIGHUP (base/interrupt.h). A non-loopback address
// needs TLS or `insecure`. At the first start (no admin token yet) an admin token is made and
// said once.
Status Serve(app::Session& session, const ServeOptions& options);

// "HOST:PORT" or "[V6]:PORT" -> host and port.
Result<std::pair<std::string, int>> ParseListen(const std::string& listen);
// Whether a host is this machine's loopback (127.0.0.0/8, ::1, localhost).
bool IsLoopback(const std::string& host);

}  // namespace weft::server
