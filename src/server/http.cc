#include "server/http.h"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "base/json.h"

namespace weft::server {
namespace {

bool SameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && ::strncasecmp(a.c_str(), b.c_str(), a.size()) == 0;
}

// "/api/v1/runs/{run}" -> the regex httplib matches the whole path with, and the placeholders'
// names in order. A placeholder `{name...}` matches the rest of the path, slashes included.
std::pair<std::string, std::vector<std::string>> PathPattern(const std::string& path) {
  std::string re;
  std::vector<std::string> names;
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '{') {
      size_t end = path.find('}', i);
      std::string name = path.substr(i + 1, end - i - 1);
      bool rest = name.size() > 3 && name.compare(name.size() - 3, 3, "...") == 0;
      if (rest) name.resize(name.size() - 3);
      names.push_back(name);
      re += rest ? "(.+)" : "([^/]+)";
      i = end + 1;
      continue;
    }
    if (std::string_view("\\^$.|?*+()[]{}").find(path[i]) != std::string_view::npos) re += '\\';
    re += path[i++];
  }
  return {re, names};
}

Request ToRequest(const httplib::Request& in, const std::vector<std::string>& names) {
  Request r;
  r.method = in.method;
  r.path = in.path;
  for (size_t i = 0; i < names.size() && i + 1 < in.matches.size(); ++i) {
    r.params[names[i]] = in.matches[i + 1].str();
  }
  for (const auto& [k, v] : in.params) r.query.emplace(k, v);
  for (const auto& [k, v] : in.headers) r.headers.emplace(k, v);
  r.body = in.body;
  r.remote = in.remote_addr;
  return r;
}

// What every response of the API carries: nothing is sniffed, framed, cached or run as script.
void SecurityHeaders(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  res.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  res.set_header("Referrer-Policy", "no-referrer");
}

void Write(const Response& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers) to.set_header(k, v);
  SecurityHeaders(to);
  if (!from.stream) {
    to.set_content(from.body, from.content_type);
    return;
  }
  to.set_chunked_content_provider(
      from.content_type, [stream = from.stream](size_t, httplib::DataSink& sink) {
        stream([&sink](std::string_view data) {
          return sink.is_writable() && sink.write(data.data(), data.size());
        });
        sink.done();
        return true;
      });
}

}  // namespace

std::optional<std::string> Request::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (SameName(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 200;
    case Code::kInvalid:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kBusy:
      return 409;
    case Code::kTooLarge:
      return 413;
    case Code::kCanceled:
    case Code::kIo:
    case Code::kInternal:
      return 500;
  }
  return 500;
}

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalid:
      return "invalid";
    case Code::kNotFound:
      return "not_found";
    case Code::kIo:
      return "io";
    case Code::kInternal:
      return "internal";
    case Code::kCanceled:
      return "canceled";
    case Code::kBusy:
      return "busy";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kDenied:
      return "denied";
    case Code::kTooLarge:
      return "too_large";
  }
  return "internal";
}

Response ErrorResponse(const Status& status) {
  Response r;
  r.status = HttpStatusFor(status);
  // weft's own failures say no more than that: their details are for the server's log.
  std::string message = status.message();
  if (r.status == 500) {
    fmt::print(stderr, "weft serve: error: {}\n", message);
    message = "the server failed; its log says why";
  }
  r.body = Json::MakeObject()
               .Set("error", Json::MakeObject()
                                 .Set("code", std::string(CodeName(status.code())))
                                 .Set("message", message))
               .Dump(-1);
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> svr;
  std::atomic<bool> served{false};  // Serve() has returned
};

HttpServer::HttpServer(ServerOptions options, std::vector<Route> routes)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  if (!options_.cert_file.empty()) {
    impl_->svr =
        std::make_unique<httplib::SSLServer>(options_.cert_file.c_str(), options_.key_file.c_str());
  } else {
    impl_->svr = std::make_unique<httplib::Server>();
  }
  httplib::Server& svr = *impl_->svr;
  int threads = options_.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_tcp_nodelay(true);
  svr.set_payload_max_length(options_.max_body);
  svr.set_read_timeout(options_.read_timeout_s, 0);
  svr.set_write_timeout(options_.write_timeout_s, 0);
  svr.set_keep_alive_timeout(options_.keep_alive_s);
  svr.set_keep_alive_max_count(options_.keep_alive_max);

  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::string host = req.get_header_value("Host");
    auto allowed = [&] {
      if (host.empty()) return false;
      std::string port = fmt::format(":{}", port_);
      std::vector<std::string> names = options_.host_names;
      names.push_back(options_.host);
      if (options_.host == "127.0.0.1" || options_.host == "::1" || options_.host == "localhost") {
        names.insert(names.end(), {"127.0.0.1", "localhost", "[::1]"});
      }
      for (const std::string& n : names) {
        if (SameName(host, n) || SameName(host, n + port)) return true;
      }
      return false;
    };
    // cpp-httplib compresses with brotli at its highest quality when a client accepts it (every
    // browser does): measured, 10 s for a 10,000-step run's 6.5 MB of JSON, against 0.2 s with
    // gzip. So a request's `br` is dropped here and gzip is used. (The request is httplib's own
    // non-const object, passed on as const.)
    if (req.has_header("Accept-Encoding")) {
      std::string accepted = req.get_header_value("Accept-Encoding"), kept;
      for (size_t at = 0; at <= accepted.size();) {
        size_t comma = std::min(accepted.find(',', at), accepted.size());
        std::string coding = accepted.substr(at, comma - at);
        coding.erase(0, coding.find_first_not_of(' '));
        if (coding.rfind("br", 0) != 0 && !coding.empty())
          kept += (kept.empty() ? "" : ", ") + coding;
        at = comma + 1;
      }
      auto& headers = const_cast<httplib::Headers&>(req.headers);
      headers.erase("Accept-Encoding");
      if (!kept.empty()) headers.emplace("Accept-Encoding", kept);
    }
    if (allowed()) return httplib::Server::HandlerResponse::Unhandled;
    Write(ErrorResponse(Status::Invalid("this server does not answer to that Host")), res);
    res.status = 421;
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error
    Status s = res.status == 404
                   ? Status::NotFound("no such endpoint; /api/v1/openapi.json lists them")
               : res.status == 413
                   ? Status::TooLarge("the request's body is larger than this server accepts")
               : res.status == 405 ? Status::Invalid("that method is not allowed here")
                                   : Status::Invalid("the request is not valid HTTP");
    int status = res.status;
    Write(ErrorResponse(s), res);
    res.status = status;
  });
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Write(ErrorResponse(Status::Internal("a handler threw")), res);
      });

  if (!options_.static_dir.empty()) {
    svr.set_mount_point("/", options_.static_dir);
    svr.set_file_request_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                     "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; "
                     "base-uri 'none'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
    });
  }
  for (Route& route : routes) {
    auto [pattern, names] = PathPattern(route.path);
    httplib::Server::Handler h = [handler = std::move(route.handler), names = names](
                                     const httplib::Request& req, httplib::Response& res) {
      Write(handler(ToRequest(req, names)), res);
    };
    if (route.method == "GET") {
      svr.Get(pattern, h);
    } else if (route.method == "POST") {
      svr.Post(pattern, h);
    } else if (route.method == "PUT") {
      svr.Put(pattern, h);
    } else if (route.method == "DELETE") {
      svr.Delete(pattern, h);
    }
  }
}

HttpServer::~HttpServer() = default;

Status HttpServer::Bind() {
  if (!impl_->svr->is_valid()) {
    return Status::Invalid(fmt::format("cannot use the TLS certificate {} with the key {}",
                                       options_.cert_file, options_.key_file));
  }
  if (options_.port == 0) {
    port_ = impl_->svr->bind_to_any_port(options_.host);
    if (port_ < 0) return Status::Io(fmt::format("cannot listen on {}", options_.host));
    return Status::Ok();
  }
  if (!impl_->svr->bind_to_port(options_.host, options_.port)) {
    return Status::Io(
        fmt::format("cannot listen on {}:{} (in use, or not an address of this "
                    "machine)",
                    options_.host, options_.port));
  }
  port_ = options_.port;
  return Status::Ok();
}

void HttpServer::Serve() {
  impl_->svr->listen_after_bind();
  impl_->served = true;
}

void HttpServer::Stop() {
  // A stop before the accept loop has begun would be lost: wait for it to begin (or end).
  while (!impl_->svr->is_running() && !impl_->served) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->svr->stop();
}

struct HttpClient::Impl {
  std::unique_ptr<httplib::Client> cli;
};

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Open(const std::string& url, std::string token,
                                                     int timeout_s) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::Invalid(
        fmt::format("`{}` is not a server URL: http://HOST:PORT or https://HOST:PORT", url));
  }
  std::unique_ptr<HttpClient> c(new HttpClient());
  c->impl_ = std::make_unique<Impl>();
  c->impl_->cli = std::make_unique<httplib::Client>(url);
  if (!c->impl_->cli->is_valid())
    return Status::Invalid(fmt::format("`{}` is not a server URL", url));
  c->impl_->cli->set_tcp_nodelay(true);
  c->impl_->cli->set_connection_timeout(std::min(10, timeout_s), 0);
  c->impl_->cli->set_read_timeout(timeout_s, 0);
  c->impl_->cli->set_write_timeout(std::min(60, timeout_s), 0);
  c->token_ = std::move(token);
  return c;
}

Result<Response> HttpClient::Send(const std::string& method, const std::string& path,
                                  const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  for (const auto& [k, v] : headers) req.set_header(k, v);
  if (!token_.empty()) req.set_header("Authorization", "Bearer " + token_);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body = body;
    if (!req.has_header("Content-Type")) req.set_header("Content-Type", "application/json");
  }
  httplib::Result res = impl_->cli->send(req);
  if (!res) {
    return Status::Io(
        fmt::format("no answer from the server ({})", httplib::to_string(res.error())));
  }
  Response out;
  out.status = res->status;
  out.body = res->body;
  out.content_type = res->get_header_value("Content-Type");
  for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
  return out;
}

Result<Response> HttpClient::Fetch(const std::string& path,
                                   const std::function<bool(std::string_view)>& sink) {
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  Response out;
  bool ok_status = false;
  httplib::Result res = impl_->cli->Get(
      path, headers,
      [&](const httplib::Response& r) {
        out.status = r.status;
        out.content_type = r.get_header_value("Content-Type");
        for (const auto& [k, v] : r.headers) out.headers.emplace_back(k, v);
        ok_status = r.status >= 200 && r.status < 300;
        return true;
      },
      [&](const char* data, size_t len) {
        if (!ok_status) {
          out.body.append(data, len);
          return out.body.size() < (1 << 20);
        }
        return sink(std::string_view(data, len));
      });
  if (!res && !(res.error() == httplib::Error::Canceled && out.status != 0)) {
    return Status::Io(
        fmt::format("no answer from the server ({})", httplib::to_string(res.error())));
  }
  return out;
}

}  // namespace weft::server
