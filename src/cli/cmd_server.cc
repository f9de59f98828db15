// `weft serve`, and the commands that manage who may use a server: `weft project`, `weft token`,
// `weft audit`. Each works on the workspace itself (as its admin: whoever has its files) or,
// with --server, through a server's API as the token allows; both print the same.

#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/identity.h"
#include "app/views.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "server/serve.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.0.0"
#endif

namespace weft::cli {
namespace {

void PrintProjects(const Json& projects) {
  fmt::print("{:<20} {:>6} {:>6} {:>10} {:>8}  {:<20} {}\n", "project", "cpus", "gpus",
             "memory_mb", "running", "datastores", "description");
  for (const Json& p : *projects.Items()) {
    const Json& q = *p.Find("quota");
    auto limit = [](double v) { return v == 0 ? std::string("-") : fmt::format("{:g}", v); };
    std::string datastores;
    if (const Json* d = p.Find("datastores"); d && d->Items()) {
      for (const Json& n : *d->Items()) datastores += (datastores.empty() ? "" : ",") + *n.String();
    }
    fmt::print("{:<20} {:>6} {:>6} {:>10} {:>8}  {:<20} {}\n", TextOf(p, "name"),
               limit(q.Find("cpus")->Number().value_or(0)), limit(IntOf(q, "gpus")),
               limit(IntOf(q, "memory_mb")), limit(IntOf(q, "running")),
               datastores.empty() ? "-" : datastores, TextOf(p, "description"));
  }
}

}  // namespace

std::function<int()> SetupServe(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    server::ServeOptions serve;
    std::string expiry = "30d";
    std::string max_expiry = "365d";
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("--listen", o->serve.listen, "HOST:PORT to listen on (default 127.0.0.1:8765)");
  sub.add_option("--cert", o->serve.cert_file, "TLS certificate (PEM)");
  sub.add_option("--key", o->serve.key_file, "TLS private key (PEM)");
  sub.add_flag("--insecure", o->serve.insecure,
               "serve a non-loopback address without TLS (tokens travel in clear text)");
  sub.add_option(
      "--host-name", o->serve.host_names,
      "a name clients reach this server by (its Host header), besides the listen address");
  CLI::Option* ui = sub.add_option("--ui", o->serve.ui_dir,
                                   "the web UI's folder (default: `ui` beside the weft binary, or "
                                   "../share/weft/ui from it); `--ui ''` serves none");
  sub.add_option("--event-heartbeat", o->serve.heartbeat_s,
                 "seconds between an idle event stream's keep-alive lines (default 15)")
      ->check(CLI::Range(1, 3600));
  sub.add_option("--pass-env", o->serve.pass_env,
                 "a variable of this environment that steps get too (repeatable; steps of a "
                 "server get a scrubbed environment)")
      ->allow_extra_args(false);
  sub.add_option("--token-expiry", o->expiry, "how long new tokens live by default (default 30d)");
  sub.add_option("--token-max-expiry", o->max_expiry,
                 "the longest a token may live (default 365d)");
  return [o, ui] {
    if (ui->count() == 0) {  // the build's, else an installed one's
      std::error_code ec;
      std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
      for (const std::filesystem::path& dir : {exe / "ui", exe / ".." / "share" / "weft" / "ui"}) {
        if (!ec && std::filesystem::exists(dir / "index.html")) {
          o->serve.ui_dir = std::filesystem::weakly_canonical(dir).string();
          break;
        }
      }
    } else if (!o->serve.ui_dir.empty() &&
               !std::filesystem::exists(o->serve.ui_dir + "/index.html")) {
      return Fail(
          Status::Invalid(fmt::format("--ui {}: no index.html there (the web UI is built "
                                      "by `make build`)",
                                      o->serve.ui_dir)));
    }
    Result<int64_t> expiry = app::ParseTtl(o->expiry);
    if (!expiry.ok()) return Fail(Status::Invalid("--token-expiry: " + expiry.status().message()));
    Result<int64_t> max_expiry = app::ParseTtl(o->max_expiry);
    if (!max_expiry.ok())
      return Fail(Status::Invalid("--token-max-expiry: " + max_expiry.status().message()));
    if (*expiry > *max_expiry)
      return Fail(Status::Invalid("--token-expiry is longer than --token-max-expiry"));
    o->serve.tokens = app::TokenPolicy{*expiry, *max_expiry};
    o->serve.version = WEFT_VERSION;
    o->serve.say = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    Result<std::unique_ptr<app::Session>> s = Open(o->workspace);
    if (!s.ok()) return Fail(s.status());
    Status st = server::Serve(**s, o->serve);
    if (!st.ok()) return Fail(st);
    return 0;
  };
}

std::function<int()> SetupProject(CLI::App& sub) {
  struct Options {
    Target target;
    std::string name, description;
    std::optional<double> cpus;
    std::optional<int64_t> gpus, memory_mb, running;
    std::vector<std::string> grant, revoke;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub.require_subcommand(1);
  CLI::App* create = sub.add_subcommand("create", "make a project (admins)");
  CLI::App* list = sub.add_subcommand("list", "list the projects you see");
  CLI::App* quota = sub.add_subcommand("quota", "set a project's quotas (admins); 0 is none");
  CLI::App* datastores = sub.add_subcommand(
      "datastores", "grant a project datastores its runs may read and publish to (admins)");
  for (CLI::App* c : {create, list, quota, datastores}) o->target.AddTo(*c);
  datastores->add_option("name", o->name, "the project")->required();
  datastores->add_option("--grant", o->grant, "a datastore to grant (repeatable)")
      ->allow_extra_args(false);
  datastores->add_option("--revoke", o->revoke, "a datastore to take back (repeatable)")
      ->allow_extra_args(false);
  create->add_option("name", o->name, "the project's name")->required();
  create->add_option("--description", o->description, "what it is for");
  list->add_flag("--json", o->json, "print JSON");
  quota->add_option("name", o->name, "the project")->required();
  quota->add_option("--cpus", o->cpus, "CPUs its running steps may use at once");
  quota->add_option("--gpus", o->gpus, "GPUs its running steps may use at once");
  quota->add_option("--memory-mb", o->memory_mb, "memory its running steps may use at once");
  quota->add_option("--running", o->running, "steps it may run at once");
  return [o, create, quota, datastores] {  // (otherwise: list)
    const Target& t = o->target;
    if (datastores->parsed()) {
      Json grant = Json::MakeArray(), revoke = Json::MakeArray();
      for (const std::string& d : o->grant) grant.Push(d);
      for (const std::string& d : o->revoke) revoke.Push(d);
      Result<Json> p = t.Do(
          [&](app::Session& session) -> Result<Json> {
            Result<meta::ProjectRecord> r = app::SetDatastores(
                session.meta(), app::LocalAdmin(), o->name, o->grant, o->revoke, session.os().NowNs());
            if (!r.ok()) return r.status();
            return app::ProjectJson(*r);
          },
          "PUT", "/projects/" + QueryValue(o->name) + "/datastores",
          Json::MakeObject().Set("grant", std::move(grant)).Set("revoke", std::move(revoke)));
      if (!p.ok()) return Fail(p.status());
      PrintProjects(Json::MakeArray().Push(*p));
      return 0;
    }
    if (create->parsed()) {
      Result<Json> p = t.Do(
          [&](app::Session& session) -> Result<Json> {
            meta::MetaStore& m = session.meta();
            int64_t now = session.os().NowNs();
            Result<meta::ProjectRecord> r =
                app::CreateProject(m, app::LocalAdmin(), o->name, o->description, now);
            if (!r.ok()) return r.status();
            return app::ProjectJson(*r);
          },
          "POST", "/projects",
          Json::MakeObject().Set("name", o->name).Set("description", o->description));
      if (!p.ok()) return Fail(p.status());
      fmt::print("project {} created\n", TextOf(*p, "name"));
      return 0;
    }
    if (quota->parsed()) {
      app::Quota q{o->cpus, o->gpus, o->memory_mb, o->running};
      Json body = Json::MakeObject();
      if (q.cpus) body.Set("cpus", *q.cpus);
      if (q.gpus) body.Set("gpus", *q.gpus);
      if (q.memory_mb) body.Set("memory_mb", *q.memory_mb);
      if (q.running) body.Set("running", *q.running);
      Result<Json> p = t.Do(
          [&](app::Session& session) -> Result<Json> {
            meta::MetaStore& m = session.meta();
            int64_t now = session.os().NowNs();
            Result<meta::ProjectRecord> r = app::SetQuota(m, app::LocalAdmin(), o->name, q, now);
            if (!r.ok()) return r.status();
            return app::ProjectJson(*r);
          },
          "PUT", "/projects/" + QueryValue(o->name) + "/quota", body);
      if (!p.ok()) return Fail(p.status());
      PrintProjects(Json::MakeArray().Push(*p));
      return 0;
    }
    Result<Json> ps = t.Do(
        [&](app::Session& session) -> Result<Json> {
          meta::MetaStore& m = session.meta();
          Result<std::vector<meta::ProjectRecord>> r = app::VisibleProjects(m, app::LocalAdmin());
          if (!r.ok()) return r.status();
          Json arr = Json::MakeArray();
          for (const auto& p : *r) arr.Push(app::ProjectJson(p));
          return Json::MakeObject().Set("projects", std::move(arr));
        },
        "GET", "/projects");
    if (!ps.ok()) return Fail(ps.status());
    if (o->json) {
      fmt::print("{}\n", ps->Find("projects")->Dump());
    } else {
      PrintProjects(*ps->Find("projects"));
    }
    return 0;
  };
}

std::function<int()> SetupToken(CLI::App& sub) {
  struct Options {
    Target target;
    std::string name, project, role, expires, id;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub.require_subcommand(1);
  CLI::App* create =
      sub.add_subcommand("create", "make a token; it is printed once, alone on standard output");
  CLI::App* list = sub.add_subcommand("list", "list a project's tokens (owners, admins)");
  CLI::App* revoke = sub.add_subcommand("revoke", "revoke a token by its id");
  for (CLI::App* c : {create, list, revoke}) o->target.AddTo(*c);
  create->add_option("--name", o->name, "whose it is, or what uses it")->required();
  create->add_option("--project", o->project, "its project (not for admin tokens)");
  create->add_option("--role", o->role, "reader, contributor, owner or admin")
      ->required()
      ->check(CLI::IsMember({"reader", "contributor", "owner", "admin"}));
  create->add_option("--expires", o->expires,
                     "its lifetime, e.g. 30d, 12h (default: the server's)");
  create->add_flag("--json", o->json, "print JSON (the token and its record)");
  list->add_option("--project", o->project,
                   "the project (default: your token's; admins: "
                   "without it, the admin tokens)");
  list->add_flag("--json", o->json, "print JSON");
  revoke->add_option("id", o->id, "the token's id (`weft token list`)")->required();
  return [o, create, revoke] {
    const Target& t = o->target;
    if (create->parsed()) {
      std::optional<int64_t> ttl;
      if (!o->expires.empty()) {
        Result<int64_t> parsed = app::ParseTtl(o->expires);
        if (!parsed.ok()) return Fail(Status::Invalid("--expires: " + parsed.status().message()));
        ttl = *parsed;
      }
      Json body =
          Json::MakeObject().Set("name", o->name).Set("project", o->project).Set("role", o->role);
      if (!o->expires.empty()) body.Set("expires", o->expires);
      Result<Json> made = t.Do(
          [&](app::Session& session) -> Result<Json> {
            meta::MetaStore& m = session.meta();
            int64_t now = session.os().NowNs();
            app::TokenRequest req{o->name, o->project, *app::ParseRole(o->role), ttl};
            Result<app::IssuedToken> r =
                app::CreateToken(m, app::LocalAdmin(), req, app::TokenPolicy{}, now);
            if (!r.ok()) return r.status();
            return Json::MakeObject()
                .Set("token", r->text)
                .Set("record", app::TokenJson(r->record));
          },
          "POST", "/tokens", body);
      if (!made.ok()) return Fail(made.status());
      if (o->json) {
        fmt::print("{}\n", made->Dump());
        return 0;
      }
      const Json& r = *made->Find("record");
      fmt::print("{}\n", TextOf(*made, "token"));
      std::fflush(stdout);
      fmt::print(stderr, "token {} ({}, {} of {}), expires {}: shown once, keep it secret\n",
                 TextOf(r, "id"), TextOf(r, "name"), TextOf(r, "role"),
                 TextOf(r, "project").empty() ? "the server" : "project " + TextOf(r, "project"),
                 UtcDate(IntOf(r, "expires_ns")));
      return 0;
    }
    if (revoke->parsed()) {
      Result<Json> done = t.Do(
          [&](app::Session& session) -> Result<Json> {
            meta::MetaStore& m = session.meta();
            int64_t now = session.os().NowNs();
            Status s = app::RevokeToken(m, app::LocalAdmin(), o->id, now);
            if (!s.ok()) return s;
            return Json::MakeObject().Set("revoked", o->id);
          },
          "DELETE", "/tokens/" + QueryValue(o->id));
      if (!done.ok()) return Fail(done.status());
      fmt::print("token {} revoked\n", o->id);
      return 0;
    }
    Result<Json> ts = t.Do(
        [&](app::Session& session) -> Result<Json> {
          meta::MetaStore& m = session.meta();
          Result<std::vector<meta::TokenRecord>> r =
              app::ListTokens(m, app::LocalAdmin(), o->project);
          if (!r.ok()) return r.status();
          Json arr = Json::MakeArray();
          for (const auto& tok : *r) arr.Push(app::TokenJson(tok));
          return Json::MakeObject().Set("tokens", std::move(arr));
        },
        "GET", o->project.empty() ? "/tokens" : "/tokens?project=" + QueryValue(o->project));
    if (!ts.ok()) return Fail(ts.status());
    if (o->json) {
      fmt::print("{}\n", ts->Find("tokens")->Dump());
      return 0;
    }
    fmt::print("{:<12}  {:<20} {:<12} {:<22} {}\n", "id", "name", "role", "expires", "state");
    for (const Json& tok : *ts->Find("tokens")->Items()) {
      fmt::print(
          "{:<12}  {:<20} {:<12} {:<22} {}\n", TextOf(tok, "id"), TextOf(tok, "name"),
          TextOf(tok, "role"), UtcDate(IntOf(tok, "expires_ns")),
          IntOf(tok, "revoked_ns") ? "revoked " + UtcDate(IntOf(tok, "revoked_ns")) : "active");
    }
    return 0;
  };
}

std::function<int()> SetupAudit(CLI::App& sub) {
  struct Options {
    Target target;
    std::string project;
    int64_t limit = 50;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("--project", o->project, "one project's entries (owners: their own)");
  sub.add_option("-n,--limit", o->limit, "how many entries, newest first (default 50)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    std::string path = fmt::format("/audit?limit={}", o->limit);
    if (!o->project.empty()) path += "&project=" + QueryValue(o->project);
    Result<Json> a = o->target.Do(
        [&](app::Session& session) -> Result<Json> {
          meta::MetaStore& m = session.meta();
          Result<std::vector<meta::AuditRecord>> r =
              app::ReadAudit(m, app::LocalAdmin(), o->project, o->limit, 0);
          if (!r.ok()) return r.status();
          Json arr = Json::MakeArray();
          for (const auto& e : *r) arr.Push(app::AuditJson(e));
          return Json::MakeObject().Set("entries", std::move(arr));
        },
        "GET", path);
    if (!a.ok()) return Fail(a.status());
    if (o->json) {
      fmt::print("{}\n", a->Find("entries")->Dump());
      return 0;
    }
    for (const Json& e : *a->Find("entries")->Items()) {
      fmt::print("{}  {:<12}  {:<16} {:<14} {} {}\n", UtcDate(IntOf(e, "at_ns")), TextOf(e, "who"),
                 TextOf(e, "action"), TextOf(e, "project").empty() ? "-" : TextOf(e, "project"),
                 TextOf(e, "target"), TextOf(e, "detail"));
    }
    return 0;
  };
}

}  // namespace weft::cli
