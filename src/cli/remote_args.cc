#include "cli/remote_args.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/archive.h"
#include "base/fs.h"
#include "base/os.h"
#include "base/sha256.h"
#include "store/store.h"

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
  if (r->status < 200 || r->status >= 300) return ErrorOf(*r);
  std::optional<Json> json = Json::Parse(r->body);
  if (!json) return Status::Io("the server's answer is not JSON");
  return *json;
}

Result<Json> CallApiWhenFree(server::HttpClient& client, const std::string& method,
                             const std::string& path, const Json& body) {
  for (;;) {
    Result<Json> r = CallApi(client, method, path, body);
    if (r.ok() || r.status().code() != Code::kBusy) return r;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Status ErrorOf(const server::Response& r) {
  std::string message = fmt::format("the server answered {}", r.status);
  if (std::optional<Json> json = Json::Parse(r.body)) {
    if (const Json* e = json->Find("error");
        e && e->Find("message") && e->Find("message")->String()) {
      message = *e->Find("message")->String();
    }
  }
  switch (r.status) {
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

namespace {

// The files of `folder` a server is sent, relative, in name order: its regular files, and links
// to regular files inside it (sent as the files they name), less what an `.amlignore` leaves out
// of the folder it is in (as Azure ML leaves it out of uploads) and weft's, version control's,
// caches' and virtual environments' folders (a folder with a `pyvenv.cfg` or `conda-meta`,
// whatever its name). Anything else (a link out of the folder or to a folder, a FIFO, a device)
// is refused, naming every such entry: the server would not have what it names.
// A folder's files and empty folders as a server is sent them.
struct Sent {
  std::vector<std::string> files, empty;
};
Result<Sent> FilesOf(const std::string& folder) {
  namespace fs = std::filesystem;
  static const std::set<std::string> kSkipped = {".weft", ".git", "__pycache__", ".venv",
                                                 "node_modules"};
  std::vector<std::string> out;
  std::set<std::string> dirs;         // the folders sent
  std::vector<std::string> problems;  // entries it cannot send
  // Folders with an .amlignore (relative to `folder`, "" for itself), and their rules, innermost
  // last. (Paths here are compared as written: a link's path is the link's, not its target's.)
  auto under = [](const std::string& rel, const std::string& dir) {
    return dir.empty() || rel == dir || rel.rfind(dir + "/", 0) == 0;
  };
  std::vector<std::pair<std::string, store::IgnoreRules>> ignores;
  auto enter = [&](const std::string& dir) {  // a folder sent, when the walk first reaches it
    std::string abs = dir.empty() ? folder : folder + "/" + dir;
    if (StatPath(abs + "/.amlignore") == PathKind::kFile) {
      ignores.emplace_back(dir, store::IgnoreRules::ForFolder(abs));
    }
  };
  auto ignored = [&](const std::string& rel, bool is_dir) {
    for (const auto& [root, rules] : ignores) {
      if (under(rel, root) && rel != root &&
          rules.Ignored(root.empty() ? rel : rel.substr(root.size() + 1), is_dir)) {
        return true;
      }
    }
    return false;
  };
  std::error_code ec;
  std::string real_folder = fs::weakly_canonical(folder, ec).string();  // where links must stay
  enter("");
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::string path = it->path().string();
    std::string rel = it->path().lexically_relative(folder).string();
    std::string parent = fs::path(rel).parent_path().string();  // ("" at the top)
    while (!ignores.empty() && !under(parent, ignores.back().first)) ignores.pop_back();
    bool link = it->is_symlink(ec);
    bool dir = !link && it->is_directory(ec);
    // (a virtual environment or a conda environment, whatever its name, is never sent)
    bool environment = dir && (StatPath(path + "/pyvenv.cfg") == PathKind::kFile ||
                               StatPath(path + "/conda-meta") == PathKind::kDirectory);
    if (kSkipped.count(it->path().filename().string()) || environment || ignored(rel, dir)) {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    if (dir) {
      dirs.insert(rel);
      enter(rel);
      continue;
    }
    if (link) {
      std::error_code lec;
      std::string target = fs::weakly_canonical(it->path(), lec).string();
      if (lec || !IsWithin(target, real_folder) || StatPath(target) != PathKind::kFile) {
        problems.push_back(fmt::format("`{}` is a link {}: the server would not have what it names",
                                       rel, !lec && IsWithin(target, real_folder) ? "to a folder"
                                                                           : "out of the folder sent"));
        continue;
      }
      out.push_back(rel);
    } else if (it->is_regular_file(ec)) {
      out.push_back(rel);
    } else {
      problems.push_back(fmt::format("`{}` is not a regular file, folder or link", rel));
    }
  }
  if (ec) return Status::Io(fmt::format("{}: {}", folder, ec.message()));
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    std::string text = fmt::format("{} cannot be sent as it is:", folder);
    for (const std::string& p : problems) text += "\n  " + p;
    return Status::Invalid(text + "\n  hint: leave them out with patterns in an .amlignore beside "
                                  "them, or send a folder that holds what links name (--folder)");
  }
  std::sort(out.begin(), out.end());
  // The folders with nothing sent beneath them (their parents are made with them).
  std::set<std::string> all(out.begin(), out.end());
  all.insert(dirs.begin(), dirs.end());
  std::vector<std::string> empty;
  for (const std::string& d : dirs) {
    auto next = all.lower_bound(d + "/");
    if (next == all.end() || next->rfind(d + "/", 0) != 0) empty.push_back(d);
  }
  return Sent{std::move(out), std::move(empty)};
}

}  // namespace

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
  Result<Sent> sent = FilesOf(folder);
  if (!sent.ok()) return sent.status();
  return Bundle{folder, file.substr(folder.size() + 1), std::move(sent->files), std::move(sent->empty)};
}

Result<Bundle> BundleOfPath(const std::string& path_arg) {
  std::string path = ResolvePath(Cwd(), path_arg);
  switch (StatPath(path)) {
    case PathKind::kFile:
    {
      std::string name = std::filesystem::path(path).filename().string();
      return Bundle{DirName(path), name, {name}, {}};
    }
    case PathKind::kDirectory: {
      Result<Sent> sent = FilesOf(path);
      if (!sent.ok()) return sent.status();
      return Bundle{path, ".", std::move(sent->files), std::move(sent->empty)};
    }
    default:
      return Status::NotFound(fmt::format("{}: no such file or folder", path_arg));
  }
}

Result<std::string> ArchiveOf(const Bundle& bundle) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& f : bundle.files) entries.emplace_back(f, bundle.folder + "/" + f);
  for (const std::string& d : bundle.empty) entries.emplace_back(d, bundle.folder + "/" + d);
  std::string archive;
  Status s = WriteTarOf(entries, [&](std::string_view d) {
    archive += d;
    return true;
  });
  if (!s.ok()) return s;
  return archive;
}

namespace {

Result<std::string> Sha256OfFile(const std::string& path) {
  Sha256 hash;
  std::string chunk;
  for (uint64_t at = 0;; at += chunk.size()) {
    Status s = ReadFileFrom(path, at, 1 << 20, &chunk);
    if (!s.ok()) return s;
    if (chunk.empty()) break;
    hash.Update(chunk);
  }
  return ToHex(hash.Finish());
}

}  // namespace

Result<Json> ValidateOnServer(const RemoteArgs& remote, const std::string& file,
                              const std::string& folder, const std::vector<std::string>& sets,
                              const std::string& format) {
  Result<Bundle> bundle = BundleOf(file, folder);
  if (!bundle.ok()) return bundle.status();
  Result<std::unique_ptr<server::HttpClient>> client = remote.Connect();
  if (!client.ok()) return client.status();
  Result<std::string> upload = SendBundle(**client, *bundle, "");
  if (!upload.ok()) return upload.status();
  std::string path = "/validate?file=" + QueryValue(bundle->file) + "&upload=" + *upload;
  for (const std::string& set : sets) path += "&set=" + QueryValue(set);
  if (!format.empty()) path += "&format=" + QueryValue(format);
  return CallApi(**client, "POST", path);
}

Result<std::string> SendBundle(server::HttpClient& client, const Bundle& bundle,
                               const std::string& project) {
  constexpr int64_t kPart = 32 << 20;  // bytes of contents per request (the server takes 64 MiB)
  std::string query = project.empty() ? "" : "?project=" + QueryValue(project);
  Json files = Json::MakeArray();
  std::map<std::string, std::string> path_of;  // digest -> a file with that content
  for (const std::string& f : bundle.files) {
    std::string path = bundle.folder + "/" + f;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status::Io(fmt::format("{}: {}", path, std::strerror(errno)));
    Result<std::string> digest = Sha256OfFile(path);
    if (!digest.ok()) return digest.status();
    path_of.emplace(*digest, path);
    files.Push(Json::MakeObject()
                   .Set("path", f)
                   .Set("digest", *digest)
                   .Set("size", static_cast<int64_t>(st.st_size))
                   .Set("executable", (st.st_mode & 0111) != 0));
  }
  for (const std::string& d : bundle.empty) files.Push(Json::MakeObject().Set("path", d).Set("folder", true));
  Json manifest = Json::MakeObject().Set("files", std::move(files));
  for (int round = 0; round < 2; ++round) {
    Result<Json> offered = CallApi(client, "POST", "/uploads" + query, manifest);
    if (!offered.ok()) return offered.status();
    if (const Json* id = offered->Find("upload"); id != nullptr && id->String()) return *id->String();
    if (round == 1) return Status::Io("the server still lacks contents it was sent");
    // Send what is missing, in parts.
    std::vector<std::pair<std::string, std::string>> part;
    int64_t bytes = 0;
    auto flush = [&]() -> Status {
      if (part.empty()) return Status::Ok();
      std::string archive;
      Status s = WriteTarOf(part, [&](std::string_view d) {
        archive += d;
        return true;
      });
      if (!s.ok()) return s;
      part.clear();
      bytes = 0;
      return CallApi(client, "POST", "/uploads/contents" + query, archive, "application/x-tar").status();
    };
    for (const Json& d : *offered->Find("missing")->Items()) {
      auto it = d.String() ? path_of.find(*d.String()) : path_of.end();
      if (it == path_of.end()) return Status::Io("the server asked for a content that was not offered");
      struct stat st {};
      ::stat(it->second.c_str(), &st);
      if (bytes > 0 && bytes + st.st_size > kPart) {
        if (Status s = flush(); !s.ok()) return s;
      }
      part.emplace_back(it->first, it->second);
      bytes += st.st_size;
    }
    if (Status s = flush(); !s.ok()) return s;
  }
  return Status::Internal("unreachable");
}

}  // namespace weft::cli
