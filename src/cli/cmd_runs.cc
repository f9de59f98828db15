// `weft runs`: the runs of this workspace, newest first.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupRuns(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    int64_t limit = 20;
    bool json = false;
    std::string experiment;
    std::string since;
    std::string tag;
    std::string status;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("-n,--limit", o->limit, "how many runs to list (default 20)");
  sub.add_option("--experiment", o->experiment, "only runs of this experiment");
  sub.add_option("--status", o->status, "only runs with this status")
      ->check(CLI::IsMember({"running", "succeeded", "failed", "canceled", "interrupted"}));
  sub.add_option("--since", o->since, "only runs created on or after this date (YYYY-MM-DD, UTC)");
  sub.add_option("--tag", o->tag, "only runs with this tag: KEY or KEY=VALUE");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunFilter> filter = app::ParseRunFilter(o->experiment, o->status, o->since, o->tag);
    if (!filter.ok()) return Fail(Status::Invalid("--" + filter.status().message()));
    Result<std::vector<meta::RunRecord>> runs = (*ws)->meta().Runs(o->limit, *filter);
    if (!runs.ok()) return Fail(runs.status());
    if (o->json) {
      Json arr = Json::MakeArray();
      for (const auto& r : *runs) arr.Push(app::RunSummaryJson(r));
      fmt::print("{}\n", arr.Dump());
      return 0;
    }
    fmt::print("{:<6} {:<10} {:>9}  {:<16} {}\n", "run", "status", "duration", "experiment", "pipeline");
    for (const auto& r : *runs) {
      int64_t end = r.status == meta::RunStatus::kRunning ? (*ws)->os().NowNs() : r.finished_ns;  // a live run counts up
      double secs = end > r.created_ns ? (end - r.created_ns) / 1e9 : 0;
      fmt::print("{:<6} {:<10} {:>8.1f}s  {:<16} {}\n", r.id, r.status, secs, r.experiment,
                 r.name.empty() ? r.pipeline_file : r.name);
    }
    return 0;
  };
}

}  // namespace weft::cli
