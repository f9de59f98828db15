#include "app/assets.h"

#include <fmt/format.h>

namespace weft::app {

Result<spec::AssetRef> ParseAssetRef(const std::string& text) {
  std::optional<spec::AssetRef> ref =
      spec::ParseAssetRef(text.rfind("azureml:", 0) == 0 ? text : "azureml:" + text);
  if (!ref) {
    return Status::Invalid(fmt::format("`{}`: name an asset as NAME, NAME:VERSION or NAME@latest", text));
  }
  return *ref;
}

Result<std::vector<meta::AssetRecord>> VisibleAssets(meta::MetaStore& meta, const Caller& caller,
                                                     const std::string& kind,
                                                     const std::string& name, bool archived) {
  Result<std::vector<meta::AssetRecord>> all = meta.Assets(kind, name, archived);
  if (!all.ok()) return all.status();
  std::erase_if(*all, [&](const meta::AssetRecord& a) {
    return !a.project.empty() && !caller.Sees(a.project);
  });
  return all;
}

Result<meta::AssetRecord> FindAsset(const assets::WorkspaceRegistry& registry,
                                    const std::string& kind, const std::string& ref) {
  Result<spec::AssetRef> parsed = ParseAssetRef(ref);
  if (!parsed.ok()) return parsed.status();
  std::optional<meta::AssetRecord> found = registry.Find(kind, *parsed);
  if (!found) return Status::NotFound(fmt::format("no {} `{}` is registered", kind, ref));
  return *found;
}

Status ArchiveAsset(meta::MetaStore& meta, const Caller& caller, const meta::AssetRecord& asset,
                    int64_t now_ns) {
  bool allowed = asset.project.empty() ? caller.admin()
                                       : caller.Can(Role::kContributor, asset.project);
  if (!allowed) {
    return Status::Denied(asset.project.empty()
                              ? "archiving the workspace's own assets needs an admin's token"
                              : "archiving an asset needs a contributor's token");
  }
  Status s = meta::InTransaction(meta, [&] { return meta.ArchiveAsset(asset); });
  if (!s.ok()) return s;
  return Audit(meta, caller, asset.project, "asset.archive",
               fmt::format("{} {}:{}", asset.kind, asset.name, asset.version), "", now_ns);
}

Json AssetJson(const meta::AssetRecord& a) {
  Json j = Json::MakeObject();
  j.Set("kind", a.kind).Set("name", a.name).Set("version", a.version);
  if (!a.registry.empty()) j.Set("registry", a.registry);
  j.Set("type", a.type).Set("digest", "sha256:" + a.digest).Set("description", a.description);
  j.Set("source", a.source).Set("created_ns", a.created_ns).Set("archived", a.archived);
  if (!a.project.empty()) j.Set("project", a.project);
  return j;
}

}  // namespace weft::app
