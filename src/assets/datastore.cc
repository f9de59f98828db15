#include "assets/datastore.h"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::assets {
namespace {

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string Fill(std::string text, const OutputPlace& place) {
  for (const char* open : {"${{", "${{ "}) {
    for (const char* close : {"}}", " }}"}) {
      auto token = [&](const char* name) { return std::string(open) + name + close; };
      text = ReplaceAll(text, token("name"), place.step);
      text = ReplaceAll(text, token("output_name"), place.output);
      text = ReplaceAll(text, token("default_datastore"), place.default_datastore);
    }
  }
  return text;
}

// A datastore URI's datastore and path inside it (placeholders filled in).
Result<std::pair<std::string, std::filesystem::path>> SplitDatastoreUri(const std::string& uri) {
  constexpr std::string_view kPrefix = "azureml://datastores/";
  std::string rest;
  if (uri.rfind(kPrefix, 0) == 0) {
    rest = uri.substr(kPrefix.size());
  } else if (size_t ds = uri.find("/datastores/");
             uri.rfind("azureml://subscriptions/", 0) == 0 && ds != std::string::npos) {
    rest = uri.substr(ds + 12);  // the long form: .../workspaces/W/datastores/NAME/paths/PATH
  }
  if (rest.empty()) {
    return Status::Invalid(fmt::format("`{}` is not a datastore path "
                                       "(azureml://datastores/NAME/paths/PATH)",
                                       uri));
  }
  size_t paths = rest.find("/paths/");
  if (paths == std::string::npos || paths == 0) {
    return Status::Invalid(fmt::format("`{}` is not a datastore path "
                                       "(azureml://datastores/NAME/paths/PATH)",
                                       uri));
  }
  std::string name = rest.substr(0, paths);
  if (name.rfind("azureml:", 0) == 0) name = name.substr(8);
  std::filesystem::path rel = std::filesystem::path(rest.substr(paths + 7)).lexically_normal();
  if (rel.empty() || rel.is_absolute() || *rel.begin() == ".." || name.find('/') != std::string::npos ||
      name == ".." || name == ".") {
    return Status::Invalid(fmt::format("`{}` leaves its datastore's folder", uri));
  }
  return std::pair{name, rel};
}

}  // namespace

std::string DatastoreName(const std::string& uri_template, const OutputPlace& place) {
  Result<std::pair<std::string, std::filesystem::path>> split =
      SplitDatastoreUri(Fill(uri_template, place));
  return split.ok() ? split->first : "";
}

Result<std::string> DatastorePath(const ws::Workspace& ws, const std::string& uri_template,
                                  const OutputPlace& place) {
  Result<std::pair<std::string, std::filesystem::path>> split =
      SplitDatastoreUri(Fill(uri_template, place));
  if (!split.ok()) return split.status();
  const auto& [name, rel] = *split;
  std::string path = (std::filesystem::path(ws.Datastore(name)) / rel).string();
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

spec::UriLocation LocateData(const ws::Workspace& ws, const std::string& uri) {
  spec::UriLocation at;
  if (uri.rfind("azureml:", 0) == 0) {
    Result<std::string> path = DatastorePath(ws, uri, OutputPlace{});
    if (!path.ok()) {
      at.error = path.status().message();
    } else if (StatPath(*path) == PathKind::kMissing) {
      at.error = fmt::format("datastore path `{}` does not exist", uri);
      at.hint = fmt::format("looked for {}", *path);
    } else {
      at.path = *path;
    }
    return at;
  }
  std::string url = uri.substr(0, uri.find_first_of("?#"));  // without a SAS token or fragment
  const std::pair<const std::string, std::string>* mirror = nullptr;
  for (const auto& m : ws.config.mirrors) {
    bool boundary = url.size() == m.first.size() || m.first.ends_with('/') ||
                    url[m.first.size()] == '/';
    if (url.rfind(m.first, 0) == 0 && boundary &&
        (mirror == nullptr || m.first.size() > mirror->first.size())) {
      mirror = &m;
    }
  }
  size_t scheme = url.find("://");
  if (mirror == nullptr) {
    if (scheme == std::string::npos) {
      at.error = fmt::format("`{}` is not data weft can read here", uri);
      at.hint = "give a local path, a datastore path (azureml://datastores/NAME/paths/PATH) or a "
                "registered data asset (azureml:NAME:VERSION)";
      return at;
    }
    size_t host_end = url.find('/', scheme + 3);
    at.error = fmt::format("`{}` has no local mirror", uri);
    at.hint = fmt::format("add its prefix under `mirrors:` in {}, e.g. `mirrors: {{\"{}/\": "
                          "/path/to/a/copy}}`",
                          ws.config_path(), url.substr(0, host_end));
    return at;
  }
  std::filesystem::path rel = std::filesystem::path(url.substr(mirror->first.size())).relative_path();
  rel = rel.lexically_normal();
  if (!rel.empty() && *rel.begin() == "..") {
    at.error = fmt::format("`{}` leaves its mirror's folder", uri);
    return at;
  }
  std::string path = (std::filesystem::path(mirror->second) / rel).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (StatPath(path) == PathKind::kMissing) {
    at.error = fmt::format("`{}` is not in its mirror", uri);
    at.hint = fmt::format("looked for {} (mirrors: `{}`)", path, mirror->first);
    return at;
  }
  at.path = path;
  return at;
}

Status PublishToDatastore(const ws::Workspace& ws, const std::string& uri_template,
                          const OutputPlace& place, const std::string& object_path) {
  Result<std::string> dest = DatastorePath(ws, uri_template, place);
  if (!dest.ok()) return dest.status();
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::symlink_status(*dest, ec);
  if (std::filesystem::exists(st)) {
    if (std::filesystem::is_symlink(st) && std::filesystem::read_symlink(*dest, ec) == object_path) {
      return Status::Ok();
    }
    return Status::Invalid(fmt::format("datastore path {} already holds something else; weft does "
                                       "not overwrite it",
                                       *dest));
  }
  Status s = MakeDirs(DirName(*dest));
  if (!s.ok()) return s;
  if (::symlink(object_path.c_str(), dest->c_str()) != 0) {
    return Status::Io(fmt::format("{}: cannot link the output there: {}", *dest,
                                  std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace weft::assets
