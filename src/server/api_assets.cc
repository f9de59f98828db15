// Registered assets through the API: listing, showing and archiving, as the caller's project
// sees them (its own and the workspace's).
#include <fmt/format.h>

#include "app/assets.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Result<std::string> Kind(const std::string& kind) {
  for (const char* k : {"component", "environment", "data", "model"}) {
    if (kind == k) return kind;
  }
  return Status::Invalid(fmt::format("`{}` is not component, environment, data or model", kind));
}

// The caller's project's registry (an admin's: the one `?project=` names, else the workspace's).
Result<meta::AssetRecord> Resolve(Call& c, const ApiParts& parts) {
  Result<std::string> kind = Kind(c.request.params.at("kind"));
  if (!kind.ok()) return kind.status();
  std::string project = c.caller.admin() ? c.request.Query("project").value_or("") : c.caller.project;
  store::Store store(parts.ws.store_dir(), parts.os);
  assets::WorkspaceRegistry registry(parts.ws, c.meta, store, project);
  return app::FindAsset(registry, *kind, c.request.params.at("ref"));
}

}  // namespace

std::vector<Endpoint> AssetEndpoints(const ApiParts& parts) {
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/assets",
      .summary = "Registered asset versions the caller sees (its project's and the workspace's), "
                 "newest first, as `weft data list --json`",
      .query = {{"kind", "string", "component, environment, data or model (required)"},
                {"name", "string", "only this name"},
                {"archived", "string", "true: archived versions too"}},
      .response_schema = Obj({{"assets", ArrayOf(Type("object"))}}),
      .handle = [](Call& c) -> Result<Json> {
        Result<std::string> kind = Kind(c.request.Query("kind").value_or(""));
        if (!kind.ok()) return kind.status();
        Result<std::vector<meta::AssetRecord>> all = app::VisibleAssets(
            c.meta, c.caller, *kind, c.request.Query("name").value_or(""),
            c.request.Query("archived").value_or("") == "true");
        if (!all.ok()) return all.status();
        Json list = Json::MakeArray();
        for (const meta::AssetRecord& a : *all) list.Push(app::AssetJson(a));
        return Json::MakeObject().Set("assets", std::move(list));
      }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/assets/{kind}/{ref}",
      .summary = "An asset as the caller's pipelines resolve it: NAME (the latest), NAME:VERSION "
                 "or NAME@latest",
      .query = {{"project", "string", "the project whose view (admins; default the workspace's)"}},
      .response_schema = Obj({{"asset", Type("object")}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<meta::AssetRecord> a = Resolve(c, parts);
        if (!a.ok()) return a.status();
        return Json::MakeObject().Set("asset", app::AssetJson(*a));
      }});
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/assets/{kind}/{ref}/archive",
      .summary = "Hide a version from listings and @latest (its project's contributors; the "
                 "workspace's own: admins)",
      .query = {{"project", "string", "the project whose asset (admins)"}},
      .response_schema = Obj({{"asset", Type("object")}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        if (c.request.params.at("ref").find(':') == std::string::npos) {
          return Status::Invalid("name the version to archive: NAME:VERSION");
        }
        Result<meta::AssetRecord> a = Resolve(c, parts);
        if (!a.ok()) return a.status();
        Status s = app::ArchiveAsset(c.meta, c.caller, *a, c.now_ns);
        if (!s.ok()) return s;
        a->archived = true;
        return Json::MakeObject().Set("asset", app::AssetJson(*a));
      }});
  return out;
}

}  // namespace weft::server
