// `weft schedule create|list|show|enable|disable|delete|trigger`: Azure ML schedules, kept and
// fired by `weft serve`. Each works through a server (--server) or on the workspace itself (as
// its admin; its schedules fire while `weft serve` runs on it), printing the same; `trigger`
// starts a run, so it needs the server.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/schedules.h"
#include "app/upload.h"
#include "base/fs.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"

namespace weft::cli {
namespace {

std::string TriggerText(const Json& t) {
  std::string type = TextOf(t, "type");
  std::string zone = TextOf(t, "time_zone");
  std::string in = zone.empty() || zone == "UTC" ? "" : " (" + zone + ")";
  if (type == "cron") return fmt::format("cron \"{}\"{}", TextOf(t, "expression"), in);
  if (type == "recurrence") {
    int64_t n = IntOf(t, "interval");
    std::string unit = TextOf(t, "frequency");
    return n == 1 ? fmt::format("every {}{}", unit, in)
                  : fmt::format("every {} {}s{}", n, unit, in);
  }
  if (type == "data") {
    if (!TextOf(t, "asset").empty()) return "new versions of data " + TextOf(t, "asset");
    return fmt::format("changes to {} (settled {} s)", TextOf(t, "path"), IntOf(t, "interval"));
  }
  return "unreadable: " + TextOf(t, "error");
}

std::string NextText(const Json& s) {
  if (const Json* t = s.Find("trigger"); t && TextOf(*t, "type") == "data") {
    return *s.Find("enabled")->Bool() ? "on data" : "disabled";
  }
  if (!*s.Find("enabled")->Bool()) return "disabled";
  const Json* next = s.Find("next_fires_ns");
  if (next == nullptr || next->Items()->empty()) return "no more";
  return UtcDate(*next->Items()->front().Int(), true);
}

void PrintList(const Json& schedules) {
  fmt::print("{:<24} {:<22} {:<44} {}\n", "schedule", "next", "trigger", "last");
  for (const Json& s : *schedules.Items()) {
    const Json& fires = *s.Find("fires");
    std::string last = fires.Items()->empty()
                           ? "-"
                           : UtcDate(IntOf(fires.Items()->front(), "fire_ns"), true) + " " +
                                 TextOf(fires.Items()->front(), "outcome");
    fmt::print("{:<24} {:<22} {:<44} {}\n", TextOf(s, "name"), NextText(s),
               TriggerText(*s.Find("trigger")), last);
  }
}

void PrintSchedule(const Json& s) {
  fmt::print("schedule   {} (project {})\n", TextOf(s, "name"), TextOf(s, "project"));
  fmt::print("file       {}\n", TextOf(s, "file"));
  fmt::print("job        {}\n", TextOf(s, "job"));
  fmt::print("trigger    {}\n", TriggerText(*s.Find("trigger")));
  fmt::print("enabled    {}\n", *s.Find("enabled")->Bool() ? "yes" : "no");
  const Json& next = *s.Find("next_fires_ns");
  if (!next.Items()->empty()) {
    fmt::print("next       ");
    bool first = true;
    for (const Json& t : *next.Items()) {
      fmt::print("{}{}", first ? "" : ", ", UtcDate(*t.Int(), true));
      first = false;
    }
    fmt::print("\n");
  }
  const Json& fires = *s.Find("fires");
  if (fires.Items()->empty()) {
    fmt::print("fired      never\n");
    return;
  }
  fmt::print("fired\n");
  for (const Json& f : *fires.Items()) {
    std::string run = TextOf(f, "run");
    fmt::print("  {}  {}{}\n", UtcDate(IntOf(f, "fire_ns"), true), TextOf(f, "outcome"),
               run.empty() ? "" : ": run " + run);
  }
}

// The schedule's JSON, from a session (the workspace's admin).
Result<Json> Describe(app::Session& session, const std::string& project, const std::string& name) {
  Result<meta::ScheduleRecord> r = app::FindSchedule(session.meta(), project, name);
  if (!r.ok()) return r.status();
  Result<std::vector<meta::ScheduleFireRecord>> f = session.meta().ScheduleFires(project, name, 20);
  if (!f.ok()) return f.status();
  return app::ScheduleJson(session.workspace(), *r, *f, 5);
}

}  // namespace

std::function<int()> SetupSchedule(CLI::App& sub) {
  struct Options {
    Target target;
    std::string file, folder, name;
    std::string project;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub.require_subcommand(1);
  CLI::App* create = sub.add_subcommand(
      "create", "create a schedule from an Azure ML schedule file, or replace the one of its name");
  CLI::App* list = sub.add_subcommand("list", "list the project's schedules");
  CLI::App* show = sub.add_subcommand("show", "a schedule: its next firings and its past ones");
  CLI::App* enable = sub.add_subcommand("enable", "let a schedule fire again, from now on");
  CLI::App* disable = sub.add_subcommand("disable", "stop a schedule from firing");
  CLI::App* del = sub.add_subcommand("delete", "delete a schedule");
  CLI::App* trigger = sub.add_subcommand("trigger", "fire a schedule now (through a server)");
  for (CLI::App* c : {create, list, show, enable, disable, del, trigger}) {
    o->target.AddTo(*c);
    c->add_option("--project", o->project,
                  "the project (admins; others: their token's; on the workspace: local)");
  }
  create->add_option("-f,--file", o->file, "the schedule file")->required();
  create->add_option("--folder", o->folder,
                     "the folder whose files go with it (default: the schedule file's own)");
  for (CLI::App* c : {show, enable, disable, del, trigger}) {
    c->add_option("name", o->name, "the schedule's name")->required();
  }
  for (CLI::App* c : {list, show}) c->add_flag("--json", o->json, "print JSON");

  return [o, create, show, enable, disable, del, trigger] {  // (otherwise: list)
    const Target& t = o->target;
    bool remote = t.remote.remote();
    // Locally the workspace's admin acts in `local` unless told otherwise.
    std::string local_project = o->project.empty() ? "local" : o->project;
    std::string query = o->project.empty() ? "" : "?project=" + QueryValue(o->project);
    std::string path = "/schedules/" + QueryValue(o->name);

    if (create->parsed()) {
      Result<Bundle> bundle = BundleOf(o->file, o->folder);
      if (!bundle.ok()) return Fail(bundle.status());
      Result<Json> made = Status::Internal("unset");
      if (remote) {
        Result<std::unique_ptr<server::HttpClient>> client = t.remote.Connect();
        if (!client.ok()) return Fail(client.status());
        Result<std::string> upload = SendBundle(**client, *bundle, o->project);
        if (!upload.ok()) return Fail(upload.status());
        std::string p = "/schedules?file=" + QueryValue(bundle->file) + "&upload=" + *upload;
        if (!o->project.empty()) p += "&project=" + QueryValue(o->project);
        made = CallApi(**client, "POST", p);
        if (made.ok()) made = *made->Find("schedule");
      } else {
        Result<std::unique_ptr<app::Session>> s = Open(t.workspace);
        if (!s.ok()) return Fail(s.status());
        app::Session& session = **s;
        Result<std::string> archive = ArchiveOf(*bundle);
        if (!archive.ok()) return Fail(archive.status());
        Result<std::string> dir = app::Unpack(session.workspace(), *archive);
        if (!dir.ok()) return Fail(dir.status());
        Result<meta::ScheduleRecord> r = app::CreateSchedule(
            session.meta(), session.workspace(), session.registry(), app::LocalAdmin(),
            {local_project, *dir, bundle->file}, session.os().NowNs());
        if (!r.ok()) return Fail(r.status());
        made = Describe(session, local_project, r->name);
      }
      if (!made.ok()) return Fail(made.status());
      fmt::print("schedule {}: {}; next: {}\n", TextOf(*made, "name"),
                 TriggerText(*made->Find("trigger")), NextText(*made));
      return 0;
    }
    if (trigger->parsed()) {
      if (!remote) {
        return Fail(Status::Invalid(
            "a schedule's runs start on the server that keeps it: give it with --server URL (or "
            "$WEFT_SERVER)"));
      }
      Result<std::unique_ptr<server::HttpClient>> client = t.remote.Connect();
      if (!client.ok()) return Fail(client.status());
      Result<Json> fired = CallApi(**client, "POST", path + "/trigger" + query);
      if (!fired.ok()) return Fail(fired.status());
      fmt::print("schedule {} fired: run {}\n", o->name, TextOf(*fired, "run"));
      return 0;
    }
    if (del->parsed()) {
      Result<Json> gone = t.Do(
          [&](app::Session& session) -> Result<Json> {
            Status s = app::DeleteSchedule(session.meta(), app::LocalAdmin(), local_project,
                                           o->name, session.os().NowNs());
            if (!s.ok()) return s;
            return Json::MakeObject().Set("deleted", o->name);
          },
          "DELETE", path + query);
      if (!gone.ok()) return Fail(gone.status());
      fmt::print("schedule {} deleted\n", TextOf(*gone, "deleted"));
      return 0;
    }
    if (enable->parsed() || disable->parsed()) {
      bool on = enable->parsed();
      Result<Json> s = t.Do(
          [&](app::Session& session) -> Result<Json> {
            Status st = app::EnableSchedule(session.meta(), session.workspace(), app::LocalAdmin(),
                                            local_project, o->name, on, session.os().NowNs());
            if (!st.ok()) return st;
            return Describe(session, local_project, o->name);
          },
          "POST", path + (on ? "/enable" : "/disable") + query);
      if (!s.ok()) return Fail(s.status());
      fmt::print("schedule {} {}; next: {}\n", o->name, on ? "enabled" : "disabled", NextText(*s));
      return 0;
    }
    if (show->parsed()) {
      Result<Json> s =
          t.Do([&](app::Session& session) { return Describe(session, local_project, o->name); },
               "GET", path + query);
      if (!s.ok()) return Fail(s.status());
      if (o->json) {
        fmt::print("{}\n", s->Dump());
      } else {
        PrintSchedule(*s);
      }
      return 0;
    }
    Result<Json> all = t.Do(
        [&](app::Session& session) -> Result<Json> {
          Result<std::vector<meta::ScheduleRecord>> rs =
              session.meta().Schedules(o->project.empty() ? "" : o->project);
          if (!rs.ok()) return rs.status();
          Json arr = Json::MakeArray();
          for (const meta::ScheduleRecord& r : *rs) {
            Result<std::vector<meta::ScheduleFireRecord>> f =
                session.meta().ScheduleFires(r.project, r.name, 1);
            if (!f.ok()) return f.status();
            arr.Push(app::ScheduleJson(session.workspace(), r, *f, 1));
          }
          return Json::MakeObject().Set("schedules", std::move(arr));
        },
        "GET", "/schedules" + query);
    if (!all.ok()) return Fail(all.status());
    if (o->json) {
      fmt::print("{}\n", all->Find("schedules")->Dump());
    } else {
      PrintList(*all->Find("schedules"));
    }
    return 0;
  };
}

}  // namespace weft::cli
