// The API's schedules: creating one from an Azure ML schedule file (uploaded with the files its
// job needs), listing and reading them (next firing times, past firings), enabling, disabling,
// deleting, and firing one by hand.
#include <fmt/format.h>

#include "app/schedules.h"
#include "app/upload.h"
#include "assets/registry.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Json ScheduleSchema() {
  return Obj(
      {{"project", Str()},
       {"name", Str()},
       {"file", Str()},
       {"enabled", Bool()},
       {"created_ns", Int()},
       {"created_by", Str()},
       {"updated_ns", Int()},
       {"trigger", Type("object")},
       {"job", Str()},
       {"next_fires_ns", ArrayOf(Int())},
       {"fires",
        ArrayOf(Obj({{"fire_ns", Int()}, {"at_ns", Int()}, {"run", Str()}, {"outcome", Str()}}))}});
}

Result<Json> Describe(Call& c, const ApiParts& parts, const std::string& project,
                      const std::string& name, int64_t fires, int upcoming) {
  Result<meta::ScheduleRecord> r = app::FindSchedule(c.meta, project, name);
  if (!r.ok()) return r.status();
  Result<std::vector<meta::ScheduleFireRecord>> f = c.meta.ScheduleFires(project, name, fires);
  if (!f.ok()) return f.status();
  return app::ScheduleJson(parts.ws, *r, *f, upcoming);
}

Result<Response> CreateSchedule(Call& c, const ApiParts& parts) {
  const Request& r = c.request;
  Result<std::string> project = WritableProject(c, "managing schedules");
  if (!project.ok()) return project.status();
  std::string file = r.Query("file").value_or("");
  if (file.empty()) return Status::Invalid("`file` names the schedule file in the archive");
  Result<std::string> dir = UploadedFolder(c, parts, *project);
  if (!dir.ok()) return dir.status();
  store::Store store(parts.ws.store_dir(), parts.os);
  assets::WorkspaceRegistry registry(parts.ws, c.meta, store, *project);
  Result<meta::ScheduleRecord> made =
      app::CreateSchedule(c.meta, parts.ws, registry, c.caller, {*project, *dir, file}, c.now_ns);
  if (!made.ok()) return made.status();
  Result<Json> json = Describe(c, parts, *project, made->name, 20, 5);
  if (!json.ok()) return json.status();
  Response out;
  out.status = made->created_ns == c.now_ns ? 201 : 200;
  out.body = Json::MakeObject().Set("schedule", std::move(*json)).Dump(-1);
  return out;
}

}  // namespace

std::vector<Endpoint> ScheduleEndpoints(const ApiParts& parts) {
  const QueryParam project = {"project", "string", "the project (admins; others: their own)"};
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/schedules",
      .summary =
          "Create a schedule from an Azure ML schedule file (owners), or replace the one of its "
          "name (200): the body is a tar archive of the file and of what its `create_job` needs. "
          "Its job must load and its calendar fire at least once more; problems are located in "
          "the files",
      .query = {{"file", "string", "the schedule file inside the archive (required)"}, project,
                {"upload", "string", "instead of an archive: an upload made by POST /uploads"}},
      .request_schema = Type("string").Set("format", "binary"),
      .response_schema = Obj({{"schedule", ScheduleSchema()}}),
      .success = 201,
      .body_type = "application/x-tar",
      .respond = [&parts](Call& c) { return CreateSchedule(c, parts); },
      .also_success = 200});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/schedules",
               .summary = "The project's schedules, each with its next firing and its last",
               .query = {project},
               .response_schema = Obj({{"schedules", ArrayOf(ScheduleSchema())}}),
               .handle = [&parts](Call& c) -> Result<Json> {
                 Result<std::string> p = ListedProject(c);
                 if (!p.ok()) return p.status();
                 Result<std::vector<meta::ScheduleRecord>> all = c.meta.Schedules(*p);
                 if (!all.ok()) return all.status();
                 Json arr = Json::MakeArray();
                 for (const meta::ScheduleRecord& r : *all) {
                   Result<std::vector<meta::ScheduleFireRecord>> f =
                       c.meta.ScheduleFires(r.project, r.name, 1);
                   if (!f.ok()) return f.status();
                   arr.Push(app::ScheduleJson(parts.ws, r, *f, 1));
                 }
                 return Json::MakeObject().Set("schedules", std::move(arr));
               }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/schedules/{name}",
      .summary = "A schedule: its trigger, its next five firing times and its last 20 firings "
                 "(each with its run, or why none started)",
      .query = {project},
      .response_schema = ScheduleSchema(),
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> p = OneProject(c);
        if (!p.ok()) return p.status();
        return Describe(c, parts, *p, c.request.params.at("name"), 20, 5);
      }});
  for (bool enable : {true, false}) {
    out.push_back(Endpoint{
        .method = "POST",
        .path = enable ? "/schedules/{name}/enable" : "/schedules/{name}/disable",
        .summary = enable ? "Enable a schedule (owners): it fires from its next time after now"
                          : "Disable a schedule (owners): it fires no more until enabled",
        .query = {project},
        .response_schema = ScheduleSchema(),
        .handle = [&parts, enable](Call& c) -> Result<Json> {
          Result<std::string> p = OneProject(c);
          if (!p.ok()) return p.status();
          const std::string& name = c.request.params.at("name");
          Status s = app::EnableSchedule(c.meta, parts.ws, c.caller, *p, name, enable, c.now_ns);
          if (!s.ok()) return s;
          return Describe(c, parts, *p, name, 20, 5);
        }});
  }
  out.push_back(Endpoint{.method = "DELETE",
                         .path = "/schedules/{name}",
                         .summary = "Delete a schedule and its record of firings (owners)",
                         .query = {project},
                         .response_schema = Obj({{"deleted", Str()}}),
                         .handle = [](Call& c) -> Result<Json> {
                           Result<std::string> p = OneProject(c);
                           if (!p.ok()) return p.status();
                           const std::string& name = c.request.params.at("name");
                           Status s = app::DeleteSchedule(c.meta, c.caller, *p, name, c.now_ns);
                           if (!s.ok()) return s;
                           return Json::MakeObject().Set("deleted", name);
                         }});
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/schedules/{name}/trigger",
      .summary = "Fire a schedule now (contributors), whatever its trigger says and even while its "
                 "previous run runs; its next firing is unchanged",
      .query = {project},
      .response_schema = Obj({{"fire_ns", Int()}, {"run", Str()}, {"outcome", Str()}}),
      .success = 201,
      .handle = [&parts](Call& c) -> Result<Json> {
        Result<std::string> p = WritableProject(c, "firing schedules");
        if (!p.ok()) return p.status();
        app::Scheduler scheduler(c.meta, parts.ws, ScheduleStarter(parts.host));
        Result<app::Scheduler::Fired> f =
            scheduler.FireNow(*p, c.request.params.at("name"), c.now_ns);
        if (!f.ok()) return f.status();
        if (f->run_id.empty()) return Status::Invalid(f->outcome);
        return Json::MakeObject()
            .Set("fire_ns", f->fire_ns)
            .Set("run", f->run_id)
            .Set("outcome", f->outcome);
      }});
  return out;
}

app::Scheduler::Start ScheduleStarter(app::Host& host) {
  return [&host](app::ScheduledRun run) {
    return host.Submit(std::move(run.source), std::move(run.options), std::move(run.tags));
  };
}

}  // namespace weft::server
