// Asset references (`azureml:...`) and the registry that resolves them.
//
// Published Azure ML files name registered components, environments and data assets. weft resolves
// those names against its own local registry (filled by `weft component|environment|data create`).
// The loader only sees this interface.
#pragma once

#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace weft::spec {

// A parsed `azureml:` reference. Forms (docs/format.md):
//   azureml:NAME:VERSION, azureml:NAME@LABEL, azureml:NAME,
//   azureml:/subscriptions/.../workspaces/W/KIND/NAME/versions/V (long ARM id),
//   azureml://registries/R/KIND/NAME/versions/V or .../labels/LABEL.
struct AssetRef {
  std::string registry;  // empty for the workspace's own
  std::string kind;      // components, environments, data, models; empty when the form omits it
  std::string name;
  std::string version;   // empty when a label or the default is meant
  std::string label;     // "latest" for @latest and /labels/latest
};

// Parses `text`, which must start with "azureml:". Returns nullopt when it is not a well-formed
// asset reference (datastore and job URIs such as azureml://datastores/... are not asset references).
std::optional<AssetRef> ParseAssetRef(std::string_view text);
bool IsDatastoreUri(std::string_view text);

// What the registry knows of a data asset version.
struct RegisteredData {
  std::string type;  // uri_file, uri_folder, mltable
  std::string path;  // a local path or URI
};

// Where a data URI (a datastore path, a URL) is on this machine, or why it is nowhere.
struct UriLocation {
  std::string path;
  std::string error, hint;
};

class Registry {
 public:
  virtual ~Registry() = default;
  // Where the workspace keeps the data `uri` names; nullopt when there is no workspace to ask.
  virtual std::optional<UriLocation> LocateUri(const std::string& uri) const {
    (void)uri;
    return std::nullopt;
  }
  // The path of the YAML file that defines the component, when registered.
  virtual std::optional<std::string> FindComponent(const AssetRef& ref) const = 0;
  // The path of the environment's YAML file, when registered.
  virtual std::optional<std::string> FindEnvironment(const AssetRef& ref) const = 0;
  virtual std::optional<RegisteredData> FindData(const AssetRef& ref) const = 0;
  // The datastores a pipeline confined to its uploaded files (a server's) may read from and
  // publish to: its project's grants.
  virtual std::vector<std::string> GrantedDatastores() const { return {}; }
};

// A registry with nothing in it.
class EmptyRegistry : public Registry {
 public:
  std::optional<std::string> FindComponent(const AssetRef&) const override { return std::nullopt; }
  std::optional<std::string> FindEnvironment(const AssetRef&) const override {
    return std::nullopt;
  }
  std::optional<RegisteredData> FindData(const AssetRef&) const override { return std::nullopt; }
};

}  // namespace weft::spec
