// The workspace's registry of components, environments and data assets: the metadata store's
// `assets` table, with every registered file kept in the store by content.
//
// `azureml:` references in pipeline files resolve here (spec::Registry), so a published Azure ML
// pipeline that names registered assets runs unchanged once they are registered with `weft
// component|environment|data create`. Versions are immutable: registering a name and version again
// with the same content is a no-op, with other content an error naming the asset.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/diag.h"
#include "base/status.h"
#include "workspace/workspace.h"
#include "graph/graph.h"
#include "meta/meta.h"
#include "spec/registry.h"
#include "store/store.h"

namespace weft::assets {

// The project an asset of a run of `project` belongs to: the workspace's own ("") for `weft run`'s
// runs (project `local`), else the server's project.
std::string AssetProject(const std::string& project);

class WorkspaceRegistry : public spec::Registry {
 public:
  // A registry as `project` sees it: its own assets, else the workspace's; what it registers is
  // the project's.
  WorkspaceRegistry(const ws::Workspace& ws, meta::MetaStore& meta, store::Store& store,
                    const std::string& project = "")
      : ws_(ws), meta_(meta), store_(store), project_(AssetProject(project)), granted_to_(project) {}

  std::optional<std::string> FindComponent(const spec::AssetRef& ref) const override;
  std::optional<std::string> FindEnvironment(const spec::AssetRef& ref) const override;
  std::optional<spec::RegisteredData> FindData(const spec::AssetRef& ref) const override;
  std::optional<spec::UriLocation> LocateUri(const std::string& uri) const override;
  std::vector<std::string> GrantedDatastores() const override;
  // `kind`: component, environment or data. No version and no label means the latest.
  std::optional<meta::AssetRecord> Find(const std::string& kind, const spec::AssetRef& ref) const;

  struct Registered {
    meta::AssetRecord asset;
    bool existed = false;  // the same name, version and content were registered before
  };
  const std::string& project() const { return project_; }
  // Registers what a YAML file defines: `component` (a command, parallel or pipeline component)
  // or `environment`, with every local file it uses (component and environment files, conda
  // files, code folders) stored by content, or `data` (a data asset file; its path is stored).
  // The file's `version`, else the next integer. Problems in the file go to `diags`.
  // With `roots` (a server's upload), every path it names must be inside them.
  Result<Registered> CreateFromFile(const std::string& kind, const std::string& file,
                                    const std::string& registry, Diagnostics& diags,
                                    const std::vector<std::string>& roots = {});
  // Registers `path` (a local file or folder, a datastore path or a mirrored URL) as data asset
  // `asset` (name, type, optional version and description); its content is stored. With `roots`,
  // only a local path inside them.
  Result<Registered> CreateData(meta::AssetRecord asset, const std::string& path,
                                const std::vector<std::string>& roots = {});

  // Records `asset` inside the caller's transaction, among its project's: a new version (the next
  // integer when it has none, unless the newest version holds the same content), or the same
  // content again (a no-op); the same version with other content is an error naming it. Used for
  // outputs registered by a run, too.
  static Result<Registered> Record(meta::MetaStore& meta, meta::AssetRecord asset);

 private:
  // Where a registered asset is in the store (and its type).
  std::optional<std::string> Locate(const std::string& kind, const spec::AssetRef& ref,
                                    std::string* type) const;
  // Record in a transaction of its own.
  Result<Registered> Put(meta::AssetRecord asset);

  const ws::Workspace& ws_;
  meta::MetaStore& meta_;
  store::Store& store_;
  std::string project_;
  std::string granted_to_;  // the project as named (its datastore grants)
};

// Registers the outputs of `step` whose values give a `name` (and maybe a `version`) as data
// versions (model versions for model types), inside the caller's transaction: all of them or
// none (an error names the output and the asset).
Status RegisterStepOutputs(meta::MetaStore& meta, const std::string& run_id,
                           const std::string& project, const graph::Step& step,
                           const std::map<std::string, store::ObjectRef>& outputs);

}  // namespace weft::assets
