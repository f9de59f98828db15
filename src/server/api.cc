#include "server/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "base/fs.h"
#include "server/api_internal.h"

namespace weft::server {

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
Json Bool() {
  return Type("boolean");
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

Result<std::string> StringMember(const Json& body, const char* name, bool required) {
  const Json* v = body.Find(name);
  if (v == nullptr || v->IsNull()) {
    if (required) return Status::Invalid(fmt::format("`{}` is required", name));
    return std::string();
  }
  if (!v->String()) return Status::Invalid(fmt::format("`{}` is a string", name));
  return *v->String();
}

Result<std::string> ListedProject(Call& c) {
  std::string asked = c.request.Query("project").value_or("");
  if (c.caller.admin()) return asked;
  if (!asked.empty() && asked != c.caller.project) {
    return Status::NotFound(fmt::format("no project `{}`", asked));
  }
  return c.caller.project;
}

Result<std::string> OneProject(Call& c) {
  Result<std::string> p = ListedProject(c);
  if (!p.ok()) return p.status();
  if (p->empty()) return Status::Invalid("an admin names the project: ?project=");
  return *p;
}

Result<std::string> WritableProject(Call& c, const char* what) {
  std::string project =
      c.caller.admin() ? c.request.Query("project").value_or("") : c.caller.project;
  if (project.empty()) return Status::Invalid("an admin names the project: ?project=");
  if (c.caller.admin()) {
    Result<std::optional<meta::ProjectRecord>> p = c.meta.FindProject(project);
    if (!p.ok()) return p.status();
    if (!*p) return Status::NotFound(fmt::format("no project `{}`", project));
  }
  if (!c.caller.Can(app::Role::kContributor, project)) {
    return Status::Denied(fmt::format("{} needs a contributor's token", what));
  }
  return project;
}

Result<meta::RunRecord> VisibleRun(Call& c, const std::string& ref) {
  auto absent = [&] {
    return Status::NotFound(ref == "last" ? std::string("this project has no runs yet")
                                          : fmt::format("no run `{}`", ref));
  };
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
       }}
  };
  for (std::vector<Endpoint> more : {IdentityEndpoints(parts_, options_), RunEndpoints(parts_),
                                     ResultEndpoints(parts_), PipelineEndpoints(parts_), ScheduleEndpoints(parts_), WebhookEndpoints(),
                                     EventEndpoints(parts_, options_), MlflowEndpoints(parts_),
                                     UploadEndpoints(parts_), AssetEndpoints(parts_),
                                     MaintenanceEndpoints(parts_)}) {
    for (Endpoint& e : more) endpoints_.push_back(std::move(e));
  }
}

Response Api::Dispatch(const Endpoint& e, const Request& request) const {
  auto error = [&e](const Status& s) { return e.mlflow ? MlflowError(s) : ErrorResponse(s); };
  Result<MetaPool::Lease> meta = parts_.pool.Acquire();
  if (!meta.ok()) return error(meta.status());
  int64_t now = parts_.os.NowNs();
  app::Caller caller;
  app::TrackingScope tracking;
  if (e.needs_token) {
    std::string auth = request.Header("Authorization").value_or("");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) {
      Status logged =
          app::Audit(**meta, app::Caller{"-", "", app::Role::kReader}, "", "auth.failed", "-",
                     fmt::format("no bearer token: {} {}", request.method, request.path), now);
      if (!logged.ok()) return error(logged);
      return error(Status::Unauthenticated(
          "this endpoint needs a token: send it as `Authorization: Bearer <token>`"));
    }
    std::string_view token = std::string_view(auth).substr(kBearer.size());
    if (e.mlflow && parts_.step_tokens != nullptr && app::StepTokens::Looks(token)) {
      Result<app::TrackingScope> scope = app::StepScope(**meta, *parts_.step_tokens, token);
      if (!scope.ok()) {
        Status logged = app::Audit(**meta, app::Caller{"-", "", app::Role::kReader}, "",
                                   "auth.failed", "-", "a step's token: " + scope.status().message(), now);
        return error(logged.ok() ? scope.status() : logged);
      }
      tracking = *scope;
      caller = app::Caller{"step:" + tracking.only_run, tracking.project, app::Role::kContributor};
    } else {
      Result<app::Caller> who = app::Authenticate(**meta, token, now);
      if (!who.ok()) return error(who.status());
      caller = *who;
      if (e.mlflow) {
        if (caller.admin()) {
          return error(Status::Denied(
              "the MLflow endpoint keeps a project's runs: use a token of that project"));
        }
        tracking = app::TrackingScope{caller.project, caller.token,
                                      caller.Can(app::Role::kContributor, caller.project), ""};
      }
    }
  }
  Call call{request, caller, **meta, now, tracking};
  if (e.respond) {
    Result<Response> r = e.respond(call);
    if (!r.ok()) return error(r.status());
    return std::move(*r);
  }
  Result<Json> out = e.handle(call);
  if (!out.ok()) return error(out.status());
  Response r;
  r.status = e.success;
  r.body = out->Dump(-1);
  return r;
}

std::vector<Route> Api::Routes() const {
  std::vector<Route> routes;
  for (const Endpoint& e : endpoints_) {
    routes.push_back(Route{e.method, e.mlflow ? e.path : "/api/v1" + e.path,
                           [this, &e](const Request& r) { return Dispatch(e, r); }});
  }
  return routes;
}

Json Api::OpenApi() const {
  Json paths = Json::MakeObject();
  // Members of one path are grouped: the table lists each method once.
  std::vector<std::pair<std::string, Json>> by_path;
  for (const Endpoint& e : endpoints_) {
    std::string path = e.mlflow ? e.path : "/api/v1" + e.path;
    for (size_t d; (d = path.find("...}")) != std::string::npos;) path.erase(d, 3);
    Json params = Json::MakeArray();
    for (size_t i = e.path.find('{'); i != std::string::npos; i = e.path.find('{', i + 1)) {
      std::string name = e.path.substr(i + 1, e.path.find('}', i) - i - 1);
      if (name.size() > 3 && name.compare(name.size() - 3, 3, "...") == 0) name.resize(name.size() - 3);
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
    auto content = [](Json schema, const std::string& type = "application/json") {
      return Json::MakeObject().Set(type, Json::MakeObject().Set("schema", std::move(schema)));
    };
    Json responses =
        Json::MakeObject().Set(std::to_string(e.success),
                               Json::MakeObject()
                                   .Set("description", "success")
                                   .Set("content", content(e.response_schema, e.response_type)));
    if (e.also_success != 0) {
      responses.Set(std::to_string(e.also_success),
                    Json::MakeObject()
                        .Set("description", "success, as before")
                        .Set("content", content(e.response_schema, e.response_type)));
    }
    for (const char* code : {"400", "401", "403", "404", "409", "413", "421", "429", "500"}) {
      if (!e.needs_token && (std::string_view(code) == "401" || std::string_view(code) == "403"))
        continue;
      // (Only event streams are limited in number.)
      if (std::string_view(code) == "429" && e.response_type != "text/event-stream") continue;
      responses.Set(code, Json::MakeObject().Set("description", "error").Set(
                              "content", content(e.mlflow ? MlflowErrorSchema() : ErrorSchema())));
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
                           [&](const auto& p) { return p.first == path; });
    if (it == by_path.end()) {
      by_path.emplace_back(path, Json::MakeObject());
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
