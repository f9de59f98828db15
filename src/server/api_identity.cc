// The API's projects, tokens and audit log.
#include <fmt/format.h>

#include "app/identity.h"
#include "app/views.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Json ProjectSchema() {
  return Obj({{"name", Str()},
              {"description", Str()},
              {"created_ns", Int()},
              {"quota",
               Obj({{"cpus", Num()}, {"gpus", Int()}, {"memory_mb", Int()}, {"running", Int()}})},
              {"datastores", ArrayOf(Str())}});
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

}  // namespace

std::vector<Endpoint> IdentityEndpoints(const ApiParts& parts, const ApiOptions& options) {
  return {
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
       [&parts](Call& c) -> Result<Json> {
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
         parts.host.SetQuota(*p);  // (steps already running go on; new ones wait for room)
         return app::ProjectJson(*p);
       }},
      {"PUT",
       "/projects/{project}/datastores",
       "Grant a project datastores of the workspace's configuration, or take them back (admins): "
       "its runs read from and publish to only those it is granted",
       true,
       {},
       Body({{"grant", ArrayOf(Str())}, {"revoke", ArrayOf(Str())}}, {}),
       ProjectSchema(),
       200,
       [](Call& c) -> Result<Json> {
         Result<Json> body = ParseBody(c.request);
         if (!body.ok()) return body.status();
         std::vector<std::string> lists[2];
         const char* names[2] = {"grant", "revoke"};
         for (int k = 0; k < 2; ++k) {
           const Json* v = body->Find(names[k]);
           if (v == nullptr) continue;
           if (!v->Items()) return Status::Invalid(fmt::format("`{}` is a list of names", names[k]));
           for (const Json& n : *v->Items()) {
             if (!n.String()) return Status::Invalid(fmt::format("`{}` is a list of names", names[k]));
             lists[k].push_back(*n.String());
           }
         }
         Result<meta::ProjectRecord> p = app::SetDatastores(
             c.meta, c.caller, c.request.params.at("project"), lists[0], lists[1], c.now_ns);
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
       [&options](Call& c) -> Result<Json> {
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
             app::CreateToken(c.meta, c.caller, req, options.tokens, c.now_ns);
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
       }}};
}

}  // namespace weft::server
