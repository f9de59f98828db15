// Uploads deduplicated by content (app/upload.h): a manifest first, then only the contents the
// project has not sent before; runs, published versions, schedules and validations then name
// the upload.
#include <fmt/format.h>

#include "app/pipeline.h"
#include "app/upload.h"
#include "assets/registry.h"
#include "base/fs.h"
#include "graph/render.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Result<std::vector<app::ManifestFile>> ManifestOf(const Request& r) {
  Result<Json> body = ParseBody(r);
  if (!body.ok()) return body.status();
  const Json* files = body->Find("files");
  if (files == nullptr || files->Items() == nullptr) return Status::Invalid("`files` is a list");
  std::vector<app::ManifestFile> out;
  for (const Json& f : *files->Items()) {
    Result<std::string> path = StringMember(f, "path", true);
    if (!path.ok()) return path.status();
    if (const Json* folder = f.Find("folder"); folder && folder->Bool() && *folder->Bool()) {
      out.push_back({*path, "", 0, false, true});
      continue;
    }
    Result<std::string> digest = StringMember(f, "digest", true);
    if (!digest.ok()) return digest.status();
    const Json* size = f.Find("size");
    const Json* exec = f.Find("executable");
    if (size == nullptr || size->Int() == nullptr) {
      return Status::Invalid(fmt::format("`{}`: `size` is an integer", *path));
    }
    out.push_back({*path, *digest, *size->Int(), exec != nullptr && exec->Bool() && *exec->Bool()});
  }
  return app::CheckManifest(std::move(out));
}

}  // namespace

Result<std::string> UploadedFolder(Call& c, const ApiParts& parts, const std::string& project) {
  if (std::optional<std::string> id = c.request.Query("upload")) {
    if (!c.request.body.empty()) {
      return Status::Invalid("a request that names an `upload` sends no archive");
    }
    return app::UploadFolder(parts.ws, project, *id);
  }
  return app::Unpack(parts.ws, c.request.body);
}

std::vector<Endpoint> UploadEndpoints(const ApiParts& parts) {
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/uploads",
      .summary = "Offer an upload by its files' manifest: the answer lists the contents the "
                 "project has not sent yet (send them to /uploads/contents, then offer the "
                 "manifest again); with none missing, the upload's id, for `?upload=` of "
                 "POST /runs, /pipelines and /schedules. An entry `{\"path\": P, \"folder\": "
                 "true}` is an empty folder",
      .query = {{"project", "string", "the project (admins)"}},
      .request_schema = Body({{"files", ArrayOf(Body({{"path", Str()},
                                                     {"digest", Str()},
                                                     {"size", Int()},
                                                     {"executable", Bool()},
                                                     {"folder", Bool()}},
                                                    {"path"}))}},
                             {"files"}),
      .response_schema = Obj({{"upload", Nullable("string")}, {"missing", ArrayOf(Str())}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> project = WritableProject(c, "uploading");
        if (!project.ok()) return project.status();
        Result<std::vector<app::ManifestFile>> files = ManifestOf(c.request);
        if (!files.ok()) return files.status();
        std::vector<std::string> missing = app::MissingContent(parts.ws, *project, *files);
        Json list = Json::MakeArray();
        for (const std::string& d : missing) list.Push(d);
        Json out = Json::MakeObject();
        if (!missing.empty()) return out.Set("upload", nullptr).Set("missing", std::move(list));
        Result<std::string> id = app::Assemble(parts.ws, *project, *files);
        if (!id.ok()) return id.status();
        return out.Set("upload", *id).Set("missing", std::move(list));
      }});
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/uploads/contents",
      .summary = "Send contents an upload's manifest named as missing: a tar archive of files "
                 "each named by its SHA-256 (hex), each checked",
      .query = {{"project", "string", "the project (admins)"}},
      .request_schema = Type("string").Set("format", "binary"),
      .response_schema = Obj({{"kept", Int()}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> project = WritableProject(c, "uploading");
        if (!project.ok()) return project.status();
        Result<int64_t> kept = app::KeepContent(parts.ws, *project, c.request.body);
        if (!kept.ok()) return kept.status();
        return Json::MakeObject().Set("kept", *kept);
      },
      .body_type = "application/x-tar"});
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/validate",
      .summary = "Check a pipeline as `weft validate` does (nothing runs, nothing is recorded): "
                 "its problems, located in its files (paths inside the upload), and what it holds",
      .query = {{"file", "string", "the pipeline file inside the archive (required)"},
                {"upload", "string", "instead of an archive: an upload made by POST /uploads"},
                {"set", "string", "inputs.NAME=VALUE, settings.NAME=VALUE or outputs.NAME=PATH; repeatable"},
                {"format", "string", "text, dot, mermaid or json: also draw its graph (`weft graph`)"},
                {"project", "string", "the project (admins)"}},
      .request_schema = Type("string").Set("format", "binary"),
      .response_schema = Obj({{"loaded", Bool()},
                              {"graph", Str()},
                              {"report", Str()},
                              {"errors", Int()},
                              {"warnings", Int()},
                              {"check", Str()},
                              {"check_errors", Int()},
                              {"kind", Str()},
                              {"name", Str()},
                              {"steps", Int()},
                              {"edges", Int()},
                              {"groups", Int()},
                              {"files", Int()}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> project = WritableProject(c, "validating uploads");
        if (!project.ok()) return project.status();
        std::string file = c.request.Query("file").value_or("");
        if (file.empty()) return Status::Invalid("`file` names the pipeline in the archive");
        std::optional<graph::Format> format;
        if (std::optional<std::string> f = c.request.Query("format")) {
          format = graph::ParseFormat(*f);
          if (!format) return Status::Invalid("`format` is text, dot, mermaid or json");
        }
        Result<std::string> dir = UploadedFolder(c, parts, *project);
        if (!dir.ok()) return dir.status();
        app::PipelineSource source{*dir + "/" + file, {}, *dir, {*dir}};
        if (!IsWithin(source.file, *dir) || StatPath(source.file) != PathKind::kFile) {
          return Status::Invalid(fmt::format("the archive holds no file `{}`", file));
        }
        for (auto [it, end] = c.request.query.equal_range("set"); it != end; ++it) {
          source.sets.push_back(it->second);
        }
        store::Store store(parts.ws.store_dir(), parts.os);
        assets::WorkspaceRegistry registry(parts.ws, c.meta, store, *project);
        Result<std::unique_ptr<app::LoadedGraph>> g = app::LoadGraph(source, registry);
        if (!g.ok()) return g.status();
        // Paths as the submitter named them: inside the upload.
        auto relative = [&](std::string text) {
          std::string prefix = *dir + "/";
          for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
          return text;
        };
        const Diagnostics& d = (*g)->diags;
        Json out = Json::MakeObject()
                       .Set("loaded", (*g)->ok())
                       .Set("graph", (*g)->ok() && format ? graph::Render((*g)->graph, *format) : "")
                       .Set("report", relative(d.FormatAll()))
                       .Set("errors", static_cast<int64_t>(d.error_count()))
                       .Set("warnings", static_cast<int64_t>(d.warning_count()));
        Diagnostics found;
        if ((*g)->ok()) app::CheckBeforeRun((*g)->graph, parts.ws, found);
        out.Set("check", relative(found.FormatAll()))
            .Set("check_errors", static_cast<int64_t>(found.error_count()));
        bool whole = (*g)->pipeline != nullptr;
        out.Set("kind", whole ? spec::DocumentKindName((*g)->pipeline->kind) : "")
            .Set("name", (*g)->graph.name)
            .Set("steps", static_cast<int64_t>((*g)->graph.steps.size()))
            .Set("edges", static_cast<int64_t>((*g)->graph.edges.size()))
            .Set("groups", static_cast<int64_t>((*g)->graph.groups.size()))
            .Set("files", static_cast<int64_t>(whole ? (*g)->pipeline->files.size() : 0));
        return out;
      }});
  return out;
}

}  // namespace weft::server
