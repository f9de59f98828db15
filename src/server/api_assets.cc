// Registered assets through the API: listing, showing and archiving, as the caller's project
// sees them (its own and the workspace's).
#include <fmt/format.h>

#include "app/assets.h"
#include "base/fs.h"
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
      .method = "POST",
      .path = "/assets/{kind}",
      .summary = "Register a version for the caller's project from an upload (POST /uploads): "
                 "`file=` a component, environment or data YAML file in it, or (data) `path=` a "
                 "file or folder in it with `name=`; everything it names must be in the upload",
      .query = {{"upload", "string", "the upload (required)"},
                {"file", "string", "the YAML file inside the upload"},
                {"path", "string", "data: the file or folder inside the upload (`.`: all of it)"},
                {"name", "string", "data with `path`: the asset's name"},
                {"type", "string", "data with `path`: uri_file, uri_folder or mltable"},
                {"version", "string", "data with `path`: default the next integer"},
                {"description", "string", "data with `path`"},
                {"project", "string", "the project (admins)"}},
      .response_schema = Obj({{"asset", Type("object")}, {"existed", Bool()}}),
      .success = 201,
      .handle = [&parts](Call& c) -> Result<Json> {
        const Request& r = c.request;
        Result<std::string> kind = Kind(r.params.at("kind"));
        if (!kind.ok()) return kind.status();
        Result<std::string> project = WritableProject(c, "registering assets");
        if (!project.ok()) return project.status();
        std::optional<std::string> id = r.Query("upload");
        if (!id) return Status::Invalid("`upload` names the files to register (POST /uploads)");
        Result<std::string> dir = UploadedFolder(c, parts, *project);
        if (!dir.ok()) return dir.status();
        store::Store store(parts.ws.store_dir(), parts.os);
        assets::WorkspaceRegistry registry(parts.ws, c.meta, store, *project);
        std::string file = r.Query("file").value_or(""), path = r.Query("path").value_or("");
        if (file.empty() == path.empty() || (!path.empty() && *kind != "data")) {
          return Status::Invalid("give `file` (a YAML file in the upload), or for data `path` and `name`");
        }
        std::string full = *dir + "/" + (file.empty() ? path : file);
        if (!IsWithin(full, *dir) || StatPath(full) == PathKind::kMissing) {
          return Status::Invalid(fmt::format("the upload holds no `{}`", file.empty() ? path : file));
        }
        Result<assets::WorkspaceRegistry::Registered> made = Status::Ok();
        if (!file.empty()) {
          Diagnostics diags;
          made = registry.CreateFromFile(*kind, full, "", diags, {*dir});
          if (!made.ok() && diags.has_errors()) {
            std::string report = diags.FormatAll();
            for (size_t at; (at = report.find(*dir + "/")) != std::string::npos;) report.erase(at, dir->size() + 1);
            return Status::Invalid(fmt::format("{}:\n{}", made.status().message(), report));
          }
        } else {
          meta::AssetRecord a;
          a.name = r.Query("name").value_or("");
          a.type = r.Query("type").value_or("");
          a.version = r.Query("version").value_or("");
          a.description = r.Query("description").value_or("");
          if (a.name.empty()) return Status::Invalid("`name` names the data asset");
          made = registry.CreateData(a, full, {*dir});
        }
        if (!made.ok()) return made.status();
        Status logged = app::Audit(c.meta, c.caller, *project, "asset.register",
                                   fmt::format("{} {}:{}", *kind, made->asset.name, made->asset.version),
                                   made->existed ? "already registered" : "", c.now_ns);
        if (!logged.ok()) return logged;
        return Json::MakeObject().Set("asset", app::AssetJson(made->asset)).Set("existed", made->existed);
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
