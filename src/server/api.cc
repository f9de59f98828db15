#include "server/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "app/upload.h"
#include "app/views.h"
#include "base/fs.h"

namespace weft::server {
namespace {

constexpr int64_t kDefaultPage = 50;
constexpr int64_t kMaxPage = 1000;

// JSON Schema pieces for the OpenAPI document (3.1: its schemas are JSON Schema 2020-12).
Json Type(const char* type) {
  return Json::MakeObject().Set("type", type);
}
Json Str() {
  return Type("string");
}
Json Int() {
  return Type("integer");
}
Json Num() {
  return Type("number");
}
Json Nullable(const char* type) {
  return Json::MakeObject().Set("type", Json::MakeArray().Push(type).Push("null"));
}
Json ArrayOf(Json items) {
  return Type("array").Set("items", std::move(items));
}
Json StringMap() {
  return Type("object").Set("additionalProperties", Str());
}
// An object with exactly these members, every one of them required.
Json Obj(std::vector<std::pair<std::string, Json>> members) {
  Json props = Json::MakeObject();
  Json required = Json::MakeArray();
  for (auto& [name, schema] : members) {
    required.Push(name);
    props.Set(name, std::move(schema));
  }
  return Type("object")
      .Set("properties", std::move(props))
      .Set("required", std::move(required))
      .Set("additionalProperties", false);
}
// A request body: these members, only `required` of them required, no others.
Json Body(std::vector<std::pair<std::string, Json>> members, std::vector<std::string> required) {
  Json props = Json::MakeObject();
  for (auto& [name, schema] : members) props.Set(name, std::move(schema));
  Json req = Json::MakeArray();
  for (auto& r : required) req.Push(r);
  return Type("object")
      .Set("properties", std::move(props))
      .Set("required", std::move(req))
      .Set("additionalProperties", false);
}

Json ErrorSchema() {
  return Obj({{"error", Obj({{"code", Str()}, {"message", Str()}})}});
}

std::vector<std::pair<std::string, Json>> RunSummaryMembers() {
  return {{"id", Str()},         {"name", Str()},        {"experiment", Str()},
          {"project", Str()},    {"status", Str()},      {"exit_code", Int()},
          {"created_ns", Int()}, {"finished_ns", Int()}, {"pipeline_file", Str()},
          {"tags", StringMap()}};
}

Json RunSummarySchema() {
  return Obj(RunSummaryMembers());
}

Json RunDetailSchema() {
  Json job = Obj({{"job", Int()},
                  {"status", Str()},
                  {"attempt", Int()},
                  {"started_ns", Int()},
                  {"finished_ns", Int()},
                  {"exit_code", Int()},
                  {"message", Str()}});
  Json step = Obj({{"name", Str()},
                   {"status", Str()},
                   {"component", Str()},
                   {"fingerprint", Str()},
                   {"reused_from", Str()},
                   {"started_ns", Int()},
                   {"finished_ns", Int()},
                   {"exit_code", Int()},
                   {"message", Str()},
                   {"outputs", ArrayOf(Obj({{"name", Str()}, {"digest", Str()}}))},
                   {"jobs", ArrayOf(std::move(job))}});
  std::vector<std::pair<std::string, Json>> members = RunSummaryMembers();
  members.emplace_back("steps", ArrayOf(std::move(step)));
  return Obj(std::move(members));
}

Json ProjectSchema() {
  return Obj({{"name", Str()},
              {"description", Str()},
              {"created_ns", Int()},
              {"quota",
               Obj({{"cpus", Num()}, {"gpus", Int()}, {"memory_mb", Int()}, {"running", Int()}})}});
}

Json TokenSchema() {
  return Obj({{"id", Str()},
              {"name", Str()},
              {"project", Str()},
              {"role", Str()},
              {"created_ns", Int()},
              {"expires_ns", Int()},
              {"revoked_ns", Int()},
              {"created_by", Str()}});
}

Json AuditSchema() {
  return Obj({{"seq", Int()},
              {"at_ns", Int()},
              {"who", Str()},
              {"project", Str()},
              {"action", Str()},
              {"target", Str()},
              {"detail", Str()}});
}

Result<int64_t> IntQuery(const Request& r, const std::string& name, int64_t fallback, int64_t min,
                         int64_t max) {
  std::optional<std::string> v = r.Query(name);
  if (!v) return fallback;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
    return Status::Invalid(fmt::format("`{}` is an integer from {} to {}", name, min, max));
  }
  return n;
}

Result<Json> ParseBody(const Request& r) {
  std::string why;
  std::optional<Json> body = Json::Parse(r.body, &why);
  if (!body || !body->Members()) {
    return Status::Invalid(body ? "the body is a JSON object" : "the body is not JSON: " + why);
  }
  return *body;
}

// A member of a JSON body that must be a string, if present.
Result<std::string> StringMember(const Json& body, const char* name, bool required) {
  const Json* v = body.Find(name);
  if (v == nullptr || v->IsNull()) {
    if (required) return Status::Invalid(fmt::format("`{}` is required", name));
    return std::string();
  }
  if (!v->String()) return Status::Invalid(fmt::format("`{}` is a string", name));
  return *v->String();
}

// The project a listing is for: the caller's own, or (admins) the one asked for, or every one.
Result<std::string> ListedProject(Call& c) {
  std::string asked = c.request.Query("project").value_or("");
  if (c.caller.admin()) return asked;
  if (!asked.empty() && asked != c.caller.project) {
    return Status::NotFound(fmt::format("no project `{}`", asked));
  }
  return c.caller.project;
}

// A run the caller may see; any other is as absent as one that never existed.
Result<meta::RunRecord> VisibleRun(Call& c, const std::string& ref) {
  auto absent = [&] { return Status::NotFound(fmt::format("no run `{}`", ref)); };
  std::optional<meta::RunRecord> run;
  if (ref == "last") {
    meta::RunFilter f;
    if (!c.caller.admin()) f.project = c.caller.project;
    Result<std::vector<meta::RunRecord>> runs = c.meta.Runs(1, f);
    if (!runs.ok()) return runs.status();
    if (!runs->empty()) run = runs->front();
  } else {
    Result<std::optional<meta::RunRecord>> found = c.meta.FindRun(ref);
    if (!found.ok()) return found.status();
    run = *found;
  }
  if (!run || !c.caller.Sees(run->project)) return absent();
  return *run;
}

}  // namespace

MetaPool::Lease::~Lease() {
  if (!m_) return;
  std::lock_guard<std::mutex> lock(pool_->mu_);
  pool_->idle_.push_back(std::move(m_));
}

Result<MetaPool::Lease> MetaPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<meta::MetaStore> m = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(m));
    }
  }
  Result<std::unique_ptr<meta::MetaStore>> m = open_();
  if (!m.ok()) return m.status();
  return Lease(*this, std::move(*m));
}

Api::Api(ApiParts parts, ApiOptions options) : parts_(parts), options_(std::move(options)) {
  const std::vector<QueryParam> run_filters = {
      {"project", "string", "only this project's runs (admins; others see their own project's)"},
      {"experiment", "string", "only runs of this experiment"},
      {"status", "string", "running, succeeded, failed, canceled or interrupted"},
      {"since", "string", "created on or after this date (YYYY-MM-DD, UTC)"},
      {"tag", "string", "KEY or KEY=VALUE"},
      {"limit", "integer", "at most this many (default 50, at most 1000)"},
      {"before", "integer", "the page after `next` of the previous page"},
  };

  endpoints_ = {
      {"GET",
       "/health",
       "Whether the server is up (no token needed)",
       false,
       {},
       nullptr,
       Obj({{"status", Str()}, {"version", Str()}}),
       200,
       [this](Call&) -> Result<Json> {
         return Json::MakeObject().Set("status", "ok").Set("version", options_.version);
       }},
      {"GET",
       "/openapi.json",
       "This API's OpenAPI document",
       true,
       {},
       nullptr,
       Type("object"),
       200,
       [this](Call&) -> Result<Json> { return OpenApi(); }},
      {"GET",
       "/whoami",
       "The token's identity: its id, project and role",
       true,
       {},
       nullptr,
       Obj({{"token", Str()}, {"project", Str()}, {"role", Str()}}),
       200,
       [](Call& c) -> Result<Json> {
         return Json::MakeObject()
             .Set("token", c.caller.token)
             .Set("project", c.caller.project)
             .Set("role", std::string(app::Name(c.caller.role)));
       }},

      {"GET",
       "/projects",
       "The projects the token sees (admins: all)",
       true,
       {},
       nullptr,
       Obj({{"projects", ArrayOf(ProjectSchema())}}),
       200,
       [](Call& c) -> Result<Json> {
         Result<std::vector<meta::ProjectRecord>> ps = app::VisibleProjects(c.meta, c.caller);
         if (!ps.ok()) return ps.status();
         Json arr = Json::MakeArray();
         for (const auto& p : *ps) arr.Push(app::ProjectJson(p));
         return Json::MakeObject().Set("projects", std::move(arr));
       }},
      {"POST",
       "/projects",
       "Create a project (admins)",
       true,
       {},
       Body({{"name", Str()}, {"description", Str()}}, {"name"}),
       ProjectSchema(),
       201,
       [](Call& c) -> Result<Json> {
         Result<Json> body = ParseBody(c.request);
         if (!body.ok()) return body.status();
         Result<std::string> name = StringMember(*body, "name", true);
         if (!name.ok()) return name.status();
         Result<std::string> description = StringMember(*body, "description", false);
         if (!description.ok()) return description.status();
         Result<meta::ProjectRecord> p =
             app::CreateProject(c.meta, c.caller, *name, *description, c.now_ns);
         if (!p.ok()) return p.status();
         return app::ProjectJson(*p);
       }},
      {"PUT",
       "/projects/{project}/quota",
       "Set a project's quotas (admins): concurrent CPUs, GPUs, memory and running steps; 0 is "
       "none",
       true,
       {},
       Body({{"cpus", Num()}, {"gpus", Int()}, {"memory_mb", Int()}, {"running", Int()}}, {}),
       ProjectSchema(),
       200,
       [](Call& c) -> Result<Json> {
         Result<Json> body = ParseBody(c.request);
         if (!body.ok()) return body.status();
         app::Quota q;
         if (const Json* v = body->Find("cpus")) {
           if (!v->Number()) return Status::Invalid("`cpus` is a number");
           q.cpus = *v->Number();
         }
         std::pair<const char*, std::optional<int64_t>*> ints[] = {
             {"gpus", &q.gpus}, {"memory_mb", &q.memory_mb}, {"running", &q.running}};
         for (auto& [name, slot] : ints) {
           if (const Json* v = body->Find(name)) {
             if (!v->Int()) return Status::Invalid(fmt::format("`{}` is an integer", name));
             *slot = *v->Int();
           }
         }
         Result<meta::ProjectRecord> p =
             app::SetQuota(c.meta, c.caller, c.request.params.at("project"), q, c.now_ns);
         if (!p.ok()) return p.status();
         return app::ProjectJson(*p);
       }},

      {"GET",
       "/tokens",
       "A project's tokens (owners; admins: admin tokens without `project`)",
       true,
       {{"project", "string", "the project (default: the token's own)"}},
       nullptr,
       Obj({{"tokens", ArrayOf(TokenSchema())}}),
       200,
       [](Call& c) -> Result<Json> {
         std::string project = c.request.Query("project").value_or(c.caller.project);
         Result<std::vector<meta::TokenRecord>> ts = app::ListTokens(c.meta, c.caller, project);
         if (!ts.ok()) return ts.status();
         Json arr = Json::MakeArray();
         for (const auto& t : *ts) arr.Push(app::TokenJson(t));
         return Json::MakeObject().Set("tokens", std::move(arr));
       }},
      {"POST",
       "/tokens",
       "Make a token (owners for their project; admins for any, and admin tokens). The token is "
       "in this response only",
       true,
       {},
       Body({{"name", Str()}, {"project", Str()}, {"role", Str()}, {"expires", Str()}},
            {"name", "role"}),
       Obj({{"token", Str()}, {"record", TokenSchema()}}),
       201,
       [this](Call& c) -> Result<Json> {
         Result<Json> body = ParseBody(c.request);
         if (!body.ok()) return body.status();
         app::TokenRequest req;
         Result<std::string> name = StringMember(*body, "name", true);
         if (!name.ok()) return name.status();
         req.name = *name;
         Result<std::string> project = StringMember(*body, "project", false);
         if (!project.ok()) return project.status();
         Result<std::string> role = StringMember(*body, "role", true);
         if (!role.ok()) return role.status();
         std::optional<app::Role> r = app::ParseRole(*role);
         if (!r) return Status::Invalid("`role` is reader, contributor, owner or admin");
         req.role = *r;
         req.project = *r == app::Role::kAdmin ? *project
                       : project->empty()      ? c.caller.project
                                               : *project;
         Result<std::string> expires = StringMember(*body, "expires", false);
         if (!expires.ok()) return expires.status();
         if (!expires->empty()) {
           Result<int64_t> ttl = app::ParseTtl(*expires);
           if (!ttl.ok()) return ttl.status();
           req.ttl_s = *ttl;
         }
         Result<app::IssuedToken> t =
             app::CreateToken(c.meta, c.caller, req, options_.tokens, c.now_ns);
         if (!t.ok()) return t.status();
         return Json::MakeObject().Set("token", t->text).Set("record", app::TokenJson(t->record));
       }},
      {"DELETE",
       "/tokens/{id}",
       "Revoke a token (owners of its project; admins)",
       true,
       {},
       nullptr,
       Obj({{"revoked", Str()}}),
       200,
       [](Call& c) -> Result<Json> {
         const std::string& id = c.request.params.at("id");
         Status s = app::RevokeToken(c.meta, c.caller, id, c.now_ns);
         if (!s.ok()) return s;
         return Json::MakeObject().Set("revoked", id);
       }},

      {"GET",
       "/audit",
       "The audit log, newest first (admins: all; owners: their project's)",
       true,
       {{"project", "string", "one project's entries"},
        {"limit", "integer", "at most this many (default 50, at most 1000)"},
        {"before", "integer", "entries before this sequence number (the previous page's `next`)"}},
       nullptr,
       Obj({{"entries", ArrayOf(AuditSchema())}, {"next", Nullable("integer")}}),
       200,
       [](Call& c) -> Result<Json> {
         std::string project =
             c.request.Query("project").value_or(c.caller.admin() ? "" : c.caller.project);
         Result<int64_t> limit = IntQuery(c.request, "limit", kDefaultPage, 1, kMaxPage);
         if (!limit.ok()) return limit.status();
         Result<int64_t> before = IntQuery(c.request, "before", 0, 0, INT64_MAX);
         if (!before.ok()) return before.status();
         Result<std::vector<meta::AuditRecord>> entries =
             app::ReadAudit(c.meta, c.caller, project, *limit, *before);
         if (!entries.ok()) return entries.status();
         Json arr = Json::MakeArray();
         for (const auto& e : *entries) arr.Push(app::AuditJson(e));
         Json next =
             static_cast<int64_t>(entries->size()) == *limit ? Json(entries->back().seq) : Json();
         return Json::MakeObject().Set("entries", std::move(arr)).Set("next", std::move(next));
       }},

      {"GET", "/runs", "Runs, newest first, with the filters of `weft runs`, a page at a time",
       true, run_filters, nullptr,
       Obj({{"runs", ArrayOf(RunSummarySchema())}, {"next", Nullable("integer")}}), 200,
       [](Call& c) -> Result<Json> {
         const Request& r = c.request;
         Result<meta::RunFilter> f =
             app::ParseRunFilter(r.Query("experiment").value_or(""), r.Query("status").value_or(""),
                                 r.Query("since").value_or(""), r.Query("tag").value_or(""));
         if (!f.ok()) return f.status();
         Result<std::string> project = ListedProject(c);
         if (!project.ok()) return project.status();
         f->project = *project;
         Result<int64_t> limit = IntQuery(r, "limit", kDefaultPage, 1, kMaxPage);
         if (!limit.ok()) return limit.status();
         Result<int64_t> before = IntQuery(r, "before", 0, 0, INT64_MAX);
         if (!before.ok()) return before.status();
         f->before_seq = *before;
         Result<std::vector<meta::RunRecord>> runs = c.meta.Runs(*limit, *f);
         if (!runs.ok()) return runs.status();
         Json arr = Json::MakeArray();
         for (const auto& run : *runs) arr.Push(app::RunSummaryJson(run));
         Json next = static_cast<int64_t>(runs->size()) == *limit ? Json(runs->back().seq) : Json();
         return Json::MakeObject().Set("runs", std::move(arr)).Set("next", std::move(next));
       }},
      {"POST",
       "/runs",
       "Submit a pipeline: the body is a tar archive (plain, gzip, xz or zstd) of the files it "
       "needs; `file` names the pipeline in it. It reads only those files, registered assets and "
       "its project's datastores (contributors)",
       true,
       {{"file", "string", "the pipeline file inside the archive (required)"},
        {"experiment", "string", "the run's experiment (default: the pipeline's)"},
        {"tag", "string", "KEY=VALUE, repeatable"},
        {"set", "string", "inputs.NAME=VALUE, repeatable"},
        {"project", "string", "the project to run in (admins; others run in their own)"}},
       Type("string").Set("format", "binary"),
       Obj({{"run", RunSummarySchema()}}),
       201,
       [this](Call& c) -> Result<Json> {
         const Request& r = c.request;
         std::string project =
             c.caller.admin() ? r.Query("project").value_or("") : c.caller.project;
         if (project.empty())
           return Status::Invalid("an admin names the project to run in: ?project=");
         if (c.caller.admin()) {
           Result<std::optional<meta::ProjectRecord>> p = c.meta.FindProject(project);
           if (!p.ok()) return p.status();
           if (!*p) return Status::NotFound(fmt::format("no project `{}`", project));
         }
         if (!c.caller.Can(app::Role::kContributor, project)) {
           return Status::Denied("submitting runs needs a contributor's token");
         }
         std::optional<std::string> file = r.Query("file");
         if (!file || file->empty())
           return Status::Invalid("`file` names the pipeline in the archive");
         Result<std::string> dir = app::Unpack(parts_.ws, r.body);
         if (!dir.ok()) return dir.status();
         app::PipelineSource source{*dir + "/" + *file, {}, *dir, {*dir}};
         if (!IsWithin(source.file, *dir) || StatPath(source.file) != PathKind::kFile) {
           return Status::Invalid(fmt::format("the archive holds no file `{}`", *file));
         }
         std::vector<std::string> tags;
         for (auto [it, end] = r.query.equal_range("set"); it != end; ++it)
           source.sets.push_back(it->second);
         for (auto [it, end] = r.query.equal_range("tag"); it != end; ++it)
           tags.push_back(it->second);
         engine::RunOptions options;
         options.experiment = r.Query("experiment").value_or("");
         options.workdir = *dir;
         options.sets = source.sets;
         options.project = project;
         options.user = c.caller.token;
         Result<meta::RunRecord> run = parts_.host.Submit(source, options, tags);
         if (!run.ok()) return run.status();
         Status logged =
             app::Audit(c.meta, c.caller, project, "run.submit", run->id, *file, c.now_ns);
         if (!logged.ok()) return logged;
         return Json::MakeObject().Set("run", app::RunSummaryJson(*run));
       },
       "application/x-tar"},
      {"POST",
       "/runs/{run}/cancel",
       "Cancel a running run: its steps get their grace period (contributors)",
       true,
       {},
       nullptr,
       Obj({{"canceled", Str()}}),
       200,
       [this](Call& c) -> Result<Json> {
         Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
         if (!run.ok()) return run.status();
         if (!c.caller.Can(app::Role::kContributor, run->project)) {
           return Status::Denied("canceling runs needs a contributor's token");
         }
         Status s = parts_.host.Cancel(run->id);
         if (s.code() == Code::kNotFound) {
           return Status::Invalid(
               fmt::format("run {} is not running (it {})", run->id, meta::Name(run->status)));
         }
         if (!s.ok()) return s;
         Status logged =
             app::Audit(c.meta, c.caller, run->project, "run.cancel", run->id, "", c.now_ns);
         if (!logged.ok()) return logged;
         return Json::MakeObject().Set("canceled", run->id);
       }},
      {"GET",
       "/runs/{run}",
       "A run and its steps (`last`: the newest the token sees)",
       true,
       {},
       nullptr,
       RunDetailSchema(),
       200,
       [](Call& c) -> Result<Json> {
         Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
         if (!run.ok()) return run.status();
         return app::RunDetailJson(c.meta, *run);
       }},
  };
}

Response Api::Dispatch(const Endpoint& e, const Request& request) const {
  Result<MetaPool::Lease> meta = parts_.pool.Acquire();
  if (!meta.ok()) return ErrorResponse(meta.status());
  int64_t now = parts_.os.NowNs();
  app::Caller caller;
  if (e.needs_token) {
    std::string auth = request.Header("Authorization").value_or("");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) {
      Status logged =
          app::Audit(**meta, app::Caller{"-", "", app::Role::kReader}, "", "auth.failed", "-",
                     fmt::format("no bearer token: {} {}", request.method, request.path), now);
      if (!logged.ok()) return ErrorResponse(logged);
      return ErrorResponse(Status::Unauthenticated(
          "this endpoint needs a token: send it as `Authorization: Bearer <token>`"));
    }
    Result<app::Caller> who =
        app::Authenticate(**meta, std::string_view(auth).substr(kBearer.size()), now);
    if (!who.ok()) return ErrorResponse(who.status());
    caller = *who;
  }
  Call call{request, caller, **meta, now};
  Result<Json> out = e.handle(call);
  if (!out.ok()) return ErrorResponse(out.status());
  Response r;
  r.status = e.success;
  r.body = out->Dump(-1);
  return r;
}

std::vector<Route> Api::Routes() const {
  std::vector<Route> routes;
  for (const Endpoint& e : endpoints_) {
    routes.push_back(Route{e.method, "/api/v1" + e.path,
                           [this, &e](const Request& r) { return Dispatch(e, r); }});
  }
  return routes;
}

Json Api::OpenApi() const {
  Json paths = Json::MakeObject();
  // Members of one path are grouped: the table lists each method once.
  std::vector<std::pair<std::string, Json>> by_path;
  for (const Endpoint& e : endpoints_) {
    Json params = Json::MakeArray();
    for (size_t i = e.path.find('{'); i != std::string::npos; i = e.path.find('{', i + 1)) {
      std::string name = e.path.substr(i + 1, e.path.find('}', i) - i - 1);
      params.Push(Json::MakeObject()
                      .Set("name", name)
                      .Set("in", "path")
                      .Set("required", true)
                      .Set("schema", Str()));
    }
    for (const QueryParam& q : e.query) {
      params.Push(Json::MakeObject()
                      .Set("name", q.name)
                      .Set("in", "query")
                      .Set("required", false)
                      .Set("description", q.description)
                      .Set("schema", Type(q.type.c_str())));
    }
    auto content = [](Json schema) {
      return Json::MakeObject().Set("application/json",
                                    Json::MakeObject().Set("schema", std::move(schema)));
    };
    Json responses = Json::MakeObject().Set(std::to_string(e.success),
                                            Json::MakeObject()
                                                .Set("description", "success")
                                                .Set("content", content(e.response_schema)));
    for (const char* code : {"400", "401", "403", "404", "413", "421", "500"}) {
      if (!e.needs_token && (std::string_view(code) == "401" || std::string_view(code) == "403"))
        continue;
      responses.Set(
          code,
          Json::MakeObject().Set("description", "error").Set("content", content(ErrorSchema())));
    }
    Json op = Json::MakeObject()
                  .Set("summary", e.summary)
                  .Set("operationId", e.method + " " + e.path)
                  .Set("parameters", std::move(params));
    if (!e.request_schema.IsNull()) {
      op.Set("requestBody", Json::MakeObject()
                                .Set("required", true)
                                .Set("content", Json::MakeObject().Set(
                                                    e.body_type, Json::MakeObject().Set(
                                                                     "schema", e.request_schema))));
    }
    op.Set("responses", std::move(responses));
    op.Set("security", e.needs_token ? Json::MakeArray().Push(
                                           Json::MakeObject().Set("bearer", Json::MakeArray()))
                                     : Json::MakeArray());
    std::string method = e.method;
    for (char& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto it = std::find_if(by_path.begin(), by_path.end(),
                           [&](const auto& p) { return p.first == "/api/v1" + e.path; });
    if (it == by_path.end()) {
      by_path.emplace_back("/api/v1" + e.path, Json::MakeObject());
      it = by_path.end() - 1;
    }
    it->second.Set(method, std::move(op));
  }
  for (auto& [path, item] : by_path) paths.Set(path, std::move(item));
  return Json::MakeObject()
      .Set("openapi", "3.1.0")
      .Set("info", Json::MakeObject().Set("title", "weft").Set("version", options_.version))
      .Set("paths", std::move(paths))
      .Set("components",
           Json::MakeObject().Set(
               "securitySchemes",
               Json::MakeObject().Set(
                   "bearer", Json::MakeObject().Set("type", "http").Set("scheme", "bearer"))));
}

}  // namespace weft::server
