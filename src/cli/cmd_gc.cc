// `weft gc [--keep-runs N] [--dry-run] [--wait]`: free the space nothing needs (maint/gc.h), here
// or (--server, admins) on a server's workspace.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/views.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "maint/gc.h"

namespace weft::cli {

std::function<int()> SetupGc(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    RemoteArgs remote;
    int64_t keep_runs = -1;
    bool dry_run = false, wait = false, verbose = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  o->remote.AddTo(sub);
  sub.add_option("--keep-runs", o->keep_runs,
                 "keep what the newest N runs use (default: every run); older runs keep their "
                 "records, and their steps run again when next needed")
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--dry-run", o->dry_run, "say what would be removed; remove nothing");
  sub.add_flag("--wait", o->wait, "wait for running commands to finish instead of giving up");
  sub.add_flag("-v,--verbose", o->verbose, "list every object removed");
  return [o] {
    Result<Json> report = [&]() -> Result<Json> {
      if (o->remote.remote()) {
        Result<std::unique_ptr<server::HttpClient>> client = o->remote.Connect();
        if (!client.ok()) return client.status();
        Json body = Json::MakeObject().Set("dry_run", o->dry_run);
        if (o->keep_runs >= 0) body.Set("keep_runs", o->keep_runs);
        return o->wait ? CallApiWhenFree(**client, "POST", "/gc", body)
                       : CallApi(**client, "POST", "/gc", body);
      }
      Result<std::unique_ptr<app::Session>> ws = OpenAlone(o->workspace, o->wait, "gc");
      if (!ws.ok()) return ws.status();
      Result<maint::GcReport> r = maint::CollectGarbage((*ws)->meta(), (*ws)->store(),
                                                        (*ws)->workspace(), {o->keep_runs, o->dry_run});
      if (!r.ok()) return r.status();
      return app::GcReportJson(*r, o->dry_run);
    }();
    if (!report.ok()) return Fail(report.status());
    const Json& r = *report;
    const char* verb = o->dry_run ? "would remove" : "removed";
    auto items = [&](const char* key) -> const Json::Array& { return *r.Find(key)->Items(); };
    if (o->verbose) {
      for (const Json& d : items("removed")) fmt::print("{} sha256:{}\n", verb, *d.String());
      for (const Json& f : items("folders")) fmt::print("{} {}\n", verb, *f.String());
      for (const Json& f : items("batches")) fmt::print("{} {}\n", verb, *f.String());
    }
    double mb = 1024.0 * 1024.0;
    int64_t store_bytes = IntOf(r, "store_bytes"), run_bytes = IntOf(r, "run_bytes");
    int64_t bytes = store_bytes + run_bytes;
    std::string batches = items("batches").empty()
                              ? ""
                              : fmt::format(" and {} kept mini-batch results", items("batches").size());
    fmt::print("{} {} of {} objects and {} working folders of runs{}; {} {:.1f} MB ({} bytes: {:.1f} MB "
               "in the store, {:.1f} MB in run folders){}\n",
               verb, items("removed").size(), IntOf(r, "objects"), items("folders").size(), batches,
               o->dry_run ? "would free" : "freed", bytes / mb, bytes, store_bytes / mb,
               run_bytes / mb, o->dry_run ? "; nothing removed" : "");
    return 0;
  };
}

}  // namespace weft::cli
