// `weft fsck [--wait] [--json]`: re-hash the store, quarantine what does not match its name, and
// check every reference the database holds; here or (--server, admins) on a server's workspace.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "maint/fsck.h"

namespace weft::cli {

std::function<int()> SetupFsck(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    RemoteArgs remote;
    bool wait = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  o->remote.AddTo(sub);
  sub.add_flag("--wait", o->wait, "wait for running commands to finish instead of giving up");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<Json> report = [&]() -> Result<Json> {
      if (o->remote.remote()) {
        Result<std::unique_ptr<server::HttpClient>> client = o->remote.Connect();
        if (!client.ok()) return client.status();
        return o->wait ? CallApiWhenFree(**client, "POST", "/fsck") : CallApi(**client, "POST", "/fsck");
      }
      Result<std::unique_ptr<app::Session>> ws = OpenAlone(o->workspace, o->wait, "fsck");
      if (!ws.ok()) return ws.status();
      Result<maint::FsckReport> r = maint::CheckStore((*ws)->meta(), (*ws)->store());
      if (!r.ok()) return r.status();
      return app::FsckReportJson(*r);
    }();
    if (!report.ok()) return Fail(report.status());
    const Json& r = *report;
    const Json* clean_member = r.Find("clean");
    bool clean = clean_member && clean_member->Bool() && *clean_member->Bool();
    if (o->json) {
      fmt::print("{}\n", r.Dump());
      return clean ? 0 : 1;
    }
    auto items = [&](const char* key) -> const Json::Array& { return *r.Find(key)->Items(); };
    for (const Json& d : items("quarantined_blobs")) {
      fmt::print("damaged content sha256:{}: quarantined\n", *d.String());
    }
    for (const Json& d : items("quarantined_objects")) {
      fmt::print("damaged object sha256:{}: quarantined; steps that made it will run again\n",
                 *d.String());
    }
    for (const Json& a : items("missing_assets")) fmt::print("missing: the object of {}\n", *a.String());
    size_t damaged = items("quarantined_blobs").size() + items("quarantined_objects").size() +
                     items("missing_assets").size();
    fmt::print("checked {} objects, {} file contents ({:.1f} MB): {}\n", IntOf(r, "objects"),
               IntOf(r, "blobs"), IntOf(r, "bytes") / (1024.0 * 1024.0),
               clean ? "all intact" : fmt::format("{} damaged", damaged));
    if (int64_t missing = IntOf(r, "missing_run_objects"); missing > 0) {
      fmt::print("{} objects that runs refer to are not in the store (removed by `weft gc` or "
                 "quarantined); steps that need them run again\n",
                 missing);
    }
    return clean ? 0 : 1;
  };
}

}  // namespace weft::cli
