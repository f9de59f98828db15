// The API's published pipelines: publishing a version (a tar archive of its files), listing and
// reading them (a version's declared inputs, for forms), moving the default version, and
// starting runs of a version with typed inputs.
#include <charconv>

#include <fmt/format.h>

#include "app/pipelines.h"
#include "app/upload.h"
#include "assets/registry.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

// A pipeline's versions' JSON and its default version.
Result<Json> PipelineJson(Call& c, const std::string& project, const std::string& name) {
  Result<std::vector<meta::PipelineVersionRecord>> versions =
      c.meta.PipelineVersions(project, name);
  if (!versions.ok()) return versions.status();
  if (versions->empty()) return Status::NotFound(fmt::format("no published pipeline `{}`", name));
  Result<meta::PipelineVersionRecord> def = app::FindPipelineVersion(c.meta, project, name, 0);
  if (!def.ok()) return def.status();
  Json arr = Json::MakeArray();
  for (const auto& v : *versions) arr.Push(app::PipelineVersionJson(v, def->version));
  return Json::MakeObject()
      .Set("project", project)
      .Set("name", name)
      .Set("default_version", def->version)
      .Set("versions", std::move(arr));
}

// `3`, or `default`.
Result<int64_t> VersionParam(const std::string& text) {
  if (text == "default") return int64_t{0};
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1) {
    return Status::Invalid(fmt::format("`{}`: a version is a number from 1, or `default`", text));
  }
  return v;
}

Json VersionSchema() {
  return Obj({{"project", Str()},
              {"name", Str()},
              {"version", Int()},
              {"default", Bool()},
              {"digest", Str()},
              {"file", Str()},
              {"description", Str()},
              {"created_ns", Int()},
              {"created_by", Str()}});
}

Json PipelineSchema() {
  return Obj({{"project", Str()},
              {"name", Str()},
              {"default_version", Int()},
              {"versions", ArrayOf(VersionSchema())}});
}

Result<Response> PublishVersion(Call& c, const ApiParts& parts) {
  const Request& r = c.request;
  Result<std::string> project = WritableProject(c, "publishing pipelines");
  if (!project.ok()) return project.status();
  std::string name = r.Query("name").value_or("");
  std::string file = r.Query("file").value_or("");
  if (name.empty() || file.empty()) {
    return Status::Invalid("`name` names the pipeline, `file` its file in the archive");
  }
  Result<std::string> dir = UploadedFolder(c, parts, *project);
  if (!dir.ok()) return dir.status();
  store::Store store(parts.ws.store_dir(), parts.os);
  assets::WorkspaceRegistry registry(parts.ws, c.meta, store, *project);
  Result<app::Published> p =
      app::Publish(c.meta, parts.ws, registry, c.caller,
                   {*project, name, r.Query("description").value_or(""), *dir, file}, c.now_ns);
  if (!p.ok()) return p.status();
  Result<meta::PipelineVersionRecord> def = app::FindPipelineVersion(c.meta, *project, name, 0);
  if (!def.ok()) return def.status();
  Response out;
  out.status = p->created ? 201 : 200;
  out.body = Json::MakeObject()
                 .Set("version", app::PipelineVersionJson(p->version, def->version))
                 .Set("created", p->created)
                 .Dump(-1);
  return out;
}

Result<Response> RunVersion(Call& c, const ApiParts& parts) {
  Result<std::string> project = WritableProject(c, "starting runs");
  if (!project.ok()) return project.status();
  const std::string& name = c.request.params.at("name");
  Result<Json> body = ParseBody(c.request);
  if (!body.ok()) return body.status();
  for (const auto& [member, value] : *body->Members()) {
    if (member != "inputs" && member != "version" && member != "experiment" && member != "tags") {
      return Status::Invalid(
          fmt::format("`{}`: a run takes `inputs`, `version`, `experiment` and `tags`", member));
    }
  }
  int64_t version = 0;
  if (const Json* v = body->Find("version"); v && !v->IsNull()) {
    if (!v->Int() || *v->Int() < 1) return Status::Invalid("`version` is a number from 1");
    version = *v->Int();
  }
  Result<meta::PipelineVersionRecord> v = app::FindPipelineVersion(c.meta, *project, name, version);
  if (!v.ok()) return v.status();
  const Json* inputs = body->Find("inputs");
  Result<std::vector<std::string>> sets = app::InputSets(inputs ? *inputs : Json());
  if (!sets.ok()) return sets.status();
  Result<std::string> experiment = StringMember(*body, "experiment", false);
  if (!experiment.ok()) return experiment.status();
  std::vector<std::string> tags;
  if (const Json* t = body->Find("tags"); t && !t->IsNull()) {
    if (!t->Members()) return Status::Invalid("`tags` is an object of strings");
    for (const auto& [k, value] : *t->Members()) {
      if (!value.String()) return Status::Invalid(fmt::format("tags.{}: a string", k));
      tags.push_back(k + "=" + *value.String());
    }
  }
  // Which version ran is a tag of the run (`weft runs --tag weft.pipeline=NAME:VERSION`).
  tags.push_back(fmt::format("weft.pipeline={}:{}", v->name, v->version));
  std::string what = fmt::format("pipeline {}:{}", v->name, v->version);
  return StartRun(c, parts, *project, what, [&]() -> Result<meta::RunRecord> {
    app::PipelineSource source = app::VersionSource(parts.ws, *v, *sets);
    engine::RunOptions options;
    options.experiment = *experiment;
    options.default_experiment = v->name;
    return parts.host.Submit(source, RunOptionsFor(c, *project, source, options), tags);
  });
}

}  // namespace

std::vector<Endpoint> PipelineEndpoints(const ApiParts& parts) {
  const QueryParam project = {"project", "string", "the project (admins; others: their own)"};
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/pipelines",
      .summary =
          "Publish a pipeline version (contributors): the body is a tar archive of its files, "
          "as for POST /runs. Versions of a name are numbered 1, 2, ...; the same content again "
          "is the version it already is (200, `created` false)",
      .query = {{"name", "string", "the pipeline's name (required)"},
                {"file", "string", "the pipeline file inside the archive (required)"},
                {"upload", "string", "instead of an archive: an upload made by POST /uploads"},
                {"description", "string", "what this version is"},
                project},
      .request_schema = Type("string").Set("format", "binary"),
      .response_schema = Obj({{"version", VersionSchema()}, {"created", Bool()}}),
      .success = 201,
      .body_type = "application/x-tar",
      .respond = [&parts](Call& c) { return PublishVersion(c, parts); },
      .also_success = 200});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/pipelines",
               .summary = "The project's published pipelines",
               .query = {project},
               .response_schema = Obj({{"pipelines", ArrayOf(Obj({{"project", Str()},
                                                                  {"name", Str()},
                                                                  {"default_version", Int()},
                                                                  {"latest_version", Int()}}))}}),
               .handle = [](Call& c) -> Result<Json> {
                 Result<std::string> p = ListedProject(c);
                 if (!p.ok()) return p.status();
                 Result<std::vector<meta::PipelineRecord>> all = c.meta.Pipelines(*p);
                 if (!all.ok()) return all.status();
                 Json arr = Json::MakeArray();
                 for (const meta::PipelineRecord& r : *all) {
                   arr.Push(Json::MakeObject()
                                .Set("project", r.project)
                                .Set("name", r.name)
                                .Set("default_version", r.default_version)
                                .Set("latest_version", r.latest_version));
                 }
                 return Json::MakeObject().Set("pipelines", std::move(arr));
               }});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/pipelines/{name}",
               .summary = "A published pipeline's versions, oldest first, and its default version",
               .query = {project},
               .response_schema = PipelineSchema(),
               .handle = [](Call& c) -> Result<Json> {
                 Result<std::string> p = OneProject(c);
                 if (!p.ok()) return p.status();
                 return PipelineJson(c, *p, c.request.params.at("name"));
               }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/pipelines/{name}/versions/{version}",
      .summary = "A version (a number, or `default`) and the inputs its pipeline declares, with "
                 "their types, defaults and whether they are optional",
      .query = {project},
      .response_schema = Obj({{"version", VersionSchema()},
                              {"inputs", ArrayOf(Obj({{"name", Str()},
                                                      {"type", Str()},
                                                      {"default", Json::MakeObject()},
                                                      {"optional", Bool()}}))}}),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> p = OneProject(c);
        if (!p.ok()) return p.status();
        const std::string& name = c.request.params.at("name");
        Result<int64_t> number = VersionParam(c.request.params.at("version"));
        if (!number.ok()) return number.status();
        Result<meta::PipelineVersionRecord> v = app::FindPipelineVersion(c.meta, *p, name, *number);
        if (!v.ok()) return v.status();
        Result<meta::PipelineVersionRecord> def = app::FindPipelineVersion(c.meta, *p, name, 0);
        if (!def.ok()) return def.status();
        store::Store store(parts.ws.store_dir(), parts.os);
        assets::WorkspaceRegistry registry(parts.ws, c.meta, store, *p);
        Result<Json> inputs = app::DeclaredInputs(parts.ws, registry, *v);
        if (!inputs.ok()) return inputs.status();
        return Json::MakeObject()
            .Set("version", app::PipelineVersionJson(*v, def->version))
            .Set("inputs", std::move(*inputs));
      }});
  out.push_back(Endpoint{.method = "PUT",
                         .path = "/pipelines/{name}/default",
                         .summary = "Make a version the one runs use when they name none (owners)",
                         .query = {project},
                         .request_schema = Body({{"version", Int()}}, {"version"}),
                         .response_schema = PipelineSchema(),
                         .handle = [](Call& c) -> Result<Json> {
                           Result<std::string> p = OneProject(c);
                           if (!p.ok()) return p.status();
                           Result<Json> body = ParseBody(c.request);
                           if (!body.ok()) return body.status();
                           const Json* v = body->Find("version");
                           if (v == nullptr || !v->Int())
                             return Status::Invalid("`version` is a number from 1");
                           const std::string& name = c.request.params.at("name");
                           Status s = app::SetDefaultVersion(c.meta, c.caller, *p, name, *v->Int(),
                                                             c.now_ns);
                           if (!s.ok()) return s;
                           return PipelineJson(c, *p, name);
                         }});
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/pipelines/{name}/runs",
      .summary =
          "Start a run of a published pipeline (contributors): `inputs` are checked against the "
          "ones it declares (an error names the input, and nothing starts); `version` defaults "
          "to the default version. The run is tagged `weft.pipeline=NAME:VERSION`. With an "
          "`Idempotency-Key` header, the same request sent again starts no second run",
      .query = {project},
      .request_schema = Body({{"inputs", Type("object")},
                              {"version", Int()},
                              {"experiment", Str()},
                              {"tags", StringMap()}},
                             {}),
      .response_schema = StartedRunSchema(),
      .success = 201,
      .respond = [&parts](Call& c) { return RunVersion(c, parts); },
      .also_success = 200});
  return out;
}

}  // namespace weft::server
