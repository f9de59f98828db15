// `weft show RUN`: a run and its steps.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupShow(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run = "last";
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` by default)");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    if (o->json) {
      Result<Json> detail = app::RunDetailJson((*ws)->meta(), *run);
      if (!detail.ok()) return Fail(detail.status());
      fmt::print("{}\n", detail->Dump());
      return 0;
    }
    Result<std::vector<meta::StepRecord>> steps = (*ws)->meta().Steps(run->id);
    if (!steps.ok()) return Fail(steps.status());
    auto jobs_of = [&](const meta::StepRecord& s) {
      Result<std::vector<meta::JobRecord>> jobs = app::JobsOf((*ws)->meta(), s);
      return jobs.ok() ? *jobs : std::vector<meta::JobRecord>{};
    };
    fmt::print("run {}  {}  {}  (experiment {}, {})\n", run->id, run->status,
               run->name.empty() ? "(unnamed)" : run->name, run->experiment, run->pipeline_file);
    size_t width = 4;
    for (const auto& s : *steps) {
      width = std::max(width, s.name.size());
      if (s.jobs > 1) width = std::max(width, fmt::format("  job {}", s.jobs - 1).size());
    }
    fmt::print("{:<{}}  {:<10} {:>9}  {:<20}  {}\n", "step", width, "status", "duration",
               "fingerprint", "note");
    for (const auto& s : *steps) {
      int64_t end = s.status == meta::StepStatus::kRunning ? (*ws)->os().NowNs() : s.finished_ns;  // a running step counts up
      double secs = s.started_ns && end > s.started_ns ? (end - s.started_ns) / 1e9 : 0;
      fmt::print("{:<{}}  {:<10} {:>8.1f}s  {:<20}  {}\n", s.name, width, s.status, secs,
                 s.fingerprint.substr(0, 19), s.message);
      for (const meta::JobRecord& j : jobs_of(s)) {
        double job_secs = j.started_ns && j.finished_ns > j.started_ns ? (j.finished_ns - j.started_ns) / 1e9 : 0;
        fmt::print("{:<{}}  {:<10} {:>8.1f}s  {:<20}  {}\n", fmt::format("  job {}", j.job), width,
                   meta::Name(j.status), job_secs, "", j.message);
      }
    }
    return 0;
  };
}

}  // namespace weft::cli
