// `weft gc [--keep-runs N] [--dry-run] [--wait]`: free the space nothing needs (maint/gc.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/workspace_args.h"
#include "maint/gc.h"

namespace weft::cli {

std::function<int()> SetupGc(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    int64_t keep_runs = -1;
    bool dry_run = false, wait = false, verbose = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("--keep-runs", o->keep_runs,
                 "keep what the newest N runs use (default: every run); older runs keep their "
                 "records, and their steps run again when next needed")
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--dry-run", o->dry_run, "say what would be removed; remove nothing");
  sub.add_flag("--wait", o->wait, "wait for running commands to finish instead of giving up");
  sub.add_flag("-v,--verbose", o->verbose, "list every object removed");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = OpenAlone(o->workspace, o->wait, "gc");
    if (!ws.ok()) return Fail(ws.status());
    maint::GcOptions options{o->keep_runs, o->dry_run};
    Result<maint::GcReport> r =
        maint::CollectGarbage((*ws)->meta(), (*ws)->store(), (*ws)->workspace(), options);
    if (!r.ok()) return Fail(r.status());
    const char* verb = o->dry_run ? "would remove" : "removed";
    if (o->verbose) {
      for (const std::string& d : r->removed) fmt::print("{} sha256:{}\n", verb, d);
      for (const std::string& f : r->folders) fmt::print("{} {}\n", verb, f);
      for (const std::string& f : r->batches) fmt::print("{} {}\n", verb, f);
    }
    double mb = 1024.0 * 1024.0;
    uint64_t bytes = r->store_bytes + r->run_bytes;
    std::string batches = r->batches.empty()
                              ? ""
                              : fmt::format(" and {} kept mini-batch results", r->batches.size());
    fmt::print("{} {} of {} objects and {} working folders of runs{}; {} {:.1f} MB ({} bytes: {:.1f} MB "
               "in the store, {:.1f} MB in run folders){}\n",
               verb, r->removed.size(), r->objects, r->folders.size(), batches,
               o->dry_run ? "would free" : "freed", bytes / mb, bytes, r->store_bytes / mb,
               r->run_bytes / mb, o->dry_run ? "; nothing removed" : "");
    return 0;
  };
}

}  // namespace weft::cli
