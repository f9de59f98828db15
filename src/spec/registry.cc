#include "spec/registry.h"

#include <vector>

namespace weft::spec {
namespace {

std::vector<std::string_view> SplitSlash(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    parts.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// KIND/NAME/versions/V or KIND/NAME/labels/L at the end of `parts`.
std::optional<AssetRef> FromTail(const std::vector<std::string_view>& parts, size_t at) {
  if (parts.size() != at + 4) return std::nullopt;
  AssetRef r;
  r.kind = parts[at];
  r.name = parts[at + 1];
  if (parts[at + 2] == "versions") {
    r.version = parts[at + 3];
  } else if (parts[at + 2] == "labels") {
    r.label = parts[at + 3];
  } else {
    return std::nullopt;
  }
  if (!ValidName(r.name) || (r.version.empty() && r.label.empty())) return std::nullopt;
  return r;
}

}  // namespace

bool IsDatastoreUri(std::string_view text) {
  return text.rfind("azureml://datastores/", 0) == 0 || text.rfind("azureml://jobs/", 0) == 0 ||
         text.rfind("azureml://subscriptions/", 0) == 0 ||
         text.rfind("azureml://locations/", 0) == 0;
}

std::optional<AssetRef> ParseAssetRef(std::string_view text) {
  constexpr std::string_view kPrefix = "azureml:";
  if (text.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string_view rest = text.substr(kPrefix.size());
  if (rest.rfind("//registries/", 0) == 0) {
    std::vector<std::string_view> parts = SplitSlash(rest.substr(2));  // registries/R/KIND/...
    if (parts.size() < 2 || parts[1].empty()) return std::nullopt;
    std::optional<AssetRef> r = FromTail(parts, 2);
    if (r) r->registry = parts[1];
    return r;
  }
  if (rest.rfind("//", 0) == 0) return std::nullopt;  // a datastore or job URI
  if (rest.rfind("/subscriptions/", 0) == 0) {
    std::vector<std::string_view> parts = SplitSlash(rest.substr(1));
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (parts[i] == "workspaces") return FromTail(parts, i + 2);
    }
    return std::nullopt;
  }
  AssetRef r;
  size_t at = rest.find('@');
  size_t colon = rest.find(':');
  if (at != std::string_view::npos) {
    r.name = rest.substr(0, at);
    r.label = rest.substr(at + 1);
    if (r.label.empty()) return std::nullopt;
  } else if (colon != std::string_view::npos) {
    r.name = rest.substr(0, colon);
    r.version = rest.substr(colon + 1);
    if (r.version.empty() || r.version.find(':') != std::string::npos) return std::nullopt;
  } else {
    r.name = rest;
  }
  if (!ValidName(r.name)) return std::nullopt;
  return r;
}

}  // namespace weft::spec
