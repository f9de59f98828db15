#include "cli/remote_args.h"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/archive.h"
#include "base/fs.h"
#include "base/os.h"

namespace weft::cli {

void RemoteArgs::AddTo(CLI::App& sub) {
  sub.add_option("--server", server, "work through this weft server (default: $WEFT_SERVER)");
  sub.add_option("--token-file", token_file,
                 "read the server token from this file (default: $WEFT_TOKEN holds it)");
}

std::string RemoteArgs::Url() const {
  if (!server.empty()) return server;
  const char* env = std::getenv("WEFT_SERVER");
  return env ? env : "";
}

Result<std::unique_ptr<server::HttpClient>> RemoteArgs::Connect() const {
  std::string token;
  if (!token_file.empty()) {
    Result<std::string> text = ReadFileCapped(token_file, 4096);
    if (!text.ok()) return text.status();
    token = *text;
  } else if (const char* env = std::getenv("WEFT_TOKEN")) {
    token = env;
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) {
    return Status::Unauthenticated(
        "a server needs a token: put it in $WEFT_TOKEN, or in a file "
        "given with --token-file");
  }
  return server::HttpClient::Open(Url(), token);
}

void Target::AddTo(CLI::App& sub) {
  workspace.AddTo(sub);
  remote.AddTo(sub);
}

Result<Json> Target::Do(const std::function<Result<Json>(app::Session&)>& local,
                        const std::string& method, const std::string& path,
                        const Json& body) const {
  if (remote.remote()) {
    Result<std::unique_ptr<server::HttpClient>> client = remote.Connect();
    if (!client.ok()) return client.status();
    return CallApi(**client, method, path, body);
  }
  Result<std::unique_ptr<app::Session>> s = Open(workspace);
  if (!s.ok()) return s.status();
  return local(**s);
}

Result<Json> CallApi(server::HttpClient& client, const std::string& method, const std::string& path,
                     const Json& body) {
  return CallApi(client, method, path, body.IsNull() ? "" : body.Dump(-1), "application/json");
}

Result<Json> CallApi(server::HttpClient& client, const std::string& method, const std::string& path,
                     const std::string& body, const std::string& content_type) {
  Result<server::Response> r =
      client.Send(method, "/api/v1" + path, body, {{"Content-Type", content_type}});
  if (!r.ok()) return r.status();
  std::optional<Json> json = Json::Parse(r->body);
  if (r->status >= 200 && r->status < 300) {
    if (!json) return Status::Io("the server's answer is not JSON");
    return *json;
  }
  std::string message = fmt::format("the server answered {}", r->status);
  if (json) {
    if (const Json* e = json->Find("error");
        e && e->Find("message") && e->Find("message")->String()) {
      message = *e->Find("message")->String();
    }
  }
  switch (r->status) {
    case 400:
      return Status::Invalid(message);
    case 401:
      return Status::Unauthenticated(message);
    case 403:
      return Status::Denied(message);
    case 404:
      return Status::NotFound(message);
    case 409:
      return Status::Busy(message);
    case 413:
      return Status::TooLarge(message);
    default:
      return Status::Io(message);
  }
}

std::string TextOf(const Json& j, const char* key) {
  const Json* v = j.Find(key);
  return v && v->String() ? *v->String() : "";
}

int64_t IntOf(const Json& j, const char* key) {
  const Json* v = j.Find(key);
  return v && v->Number() ? static_cast<int64_t>(*v->Number()) : 0;
}

std::string QueryValue(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

double SecondsOf(const Json& j, bool running) {
  int64_t start = IntOf(j, "started_ns");
  int64_t end = running ? RealOs().NowNs() : IntOf(j, "finished_ns");
  return start && end > start ? (end - start) / 1e9 : 0;
}

std::string UtcDate(int64_t ns, bool seconds) {
  if (ns == 0) return "never";
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, seconds ? "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

Result<Bundle> BundleOf(const std::string& file_arg, const std::string& folder_arg) {
  std::string cwd = Cwd();
  std::string file = ResolvePath(cwd, file_arg);
  std::string folder = folder_arg.empty() ? DirName(file) : ResolvePath(cwd, folder_arg);
  if (StatPath(file) != PathKind::kFile) {
    return Status::NotFound(fmt::format("{}: no such file", file_arg));
  }
  if (!IsWithin(file, folder)) {
    return Status::Invalid(fmt::format("{} is not inside {}", file_arg, folder));
  }
  static const std::set<std::string> kSkipped = {".weft", ".git", "__pycache__", ".venv",
                                                 "node_modules"};
  std::string archive;
  Status s = WriteTar(
      folder, "",
      [&](std::string_view d) {
        archive += d;
        return true;
      },
      [](const std::string& rel) { return !kSkipped.count(rel.substr(rel.rfind('/') + 1)); });
  if (!s.ok()) return s;
  return Bundle{std::move(archive), file.substr(folder.size() + 1)};
}

}  // namespace weft::cli
