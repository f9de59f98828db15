// Registered assets as a caller sees them: a project's own and the workspace's (registered on the
// workspace itself, which every project's pipelines may name); admins see every project's.
#pragma once

#include <string>
#include <vector>

#include "app/identity.h"
#include "assets/registry.h"
#include "base/json.h"
#include "base/status.h"
#include "meta/meta.h"

namespace weft::app {

// NAME, NAME:VERSION, NAME@latest, or any azureml: form.
Result<spec::AssetRef> ParseAssetRef(const std::string& text);

// Every version of `kind` (of `name`, when given) the caller sees, newest first.
Result<std::vector<meta::AssetRecord>> VisibleAssets(meta::MetaStore& meta, const Caller& caller,
                                                     const std::string& kind,
                                                     const std::string& name, bool archived);
// An asset as the caller's pipelines would resolve it (its project's own, else the
// workspace's); NotFound otherwise.
Result<meta::AssetRecord> FindAsset(const assets::WorkspaceRegistry& registry,
                                    const std::string& kind, const std::string& ref);
// Hides a version from listings and @latest: a contributor of its project, or an admin (the
// workspace's own need an admin); audited.
Status ArchiveAsset(meta::MetaStore& meta, const Caller& caller, const meta::AssetRecord& asset,
                    int64_t now_ns);

Json AssetJson(const meta::AssetRecord& a);

}  // namespace weft::app
