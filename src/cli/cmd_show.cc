// `weft show RUN`: a run and its steps.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

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
    Result<std::vector<meta::StepRecord>> steps = (*ws)->meta().Steps(run->id);
    if (!steps.ok()) return Fail(steps.status());
    // A step with several jobs (a sweep's trials, a parallel step's workers): each one's line.
    auto jobs_of = [&](const meta::StepRecord& s) {
      if (s.jobs <= 1) return std::vector<meta::JobRecord>{};  // (no query per step of a big run)
      auto [src_run, src_idx] = s.ResultAttempt();
      Result<std::vector<meta::JobRecord>> jobs = (*ws)->meta().Jobs(src_run, src_idx);
      return jobs.ok() ? *jobs : std::vector<meta::JobRecord>{};
    };
    if (o->json) {
      Json arr = Json::MakeArray();
      for (const auto& s : *steps) {
        Json outs = Json::MakeArray();
        auto [src_run, src_idx] = s.ResultAttempt();
        Result<std::vector<meta::OutputRecord>> o2 = (*ws)->meta().Outputs(src_run, src_idx);
        if (o2.ok()) {
          for (const auto& out : *o2) {
            outs.Push(Json::MakeObject().Set("name", out.name).Set("digest", "sha256:" + out.digest));
          }
        }
        Json jobs = Json::MakeArray();
        for (const meta::JobRecord& j : jobs_of(s)) {
          jobs.Push(Json::MakeObject()
                        .Set("job", j.job)
                        .Set("status", std::string(meta::Name(j.status)))
                        .Set("attempt", j.attempt)
                        .Set("exit_code", j.exit_code)
                        .Set("message", j.message));
        }
        arr.Push(Json::MakeObject()
                     .Set("name", s.name)
                     .Set("status", std::string(meta::Name(s.status)))
                     .Set("component", s.component)
                     .Set("fingerprint", s.fingerprint)
                     .Set("reused_from", s.reused_run)
                     .Set("started_ns", s.started_ns)
                     .Set("finished_ns", s.finished_ns)
                     .Set("exit_code", s.exit_code)
                     .Set("message", s.message)
                     .Set("outputs", std::move(outs))
                     .Set("jobs", std::move(jobs)));
      }
      fmt::print("{}\n", Json::MakeObject()
                             .Set("id", run->id)
                             .Set("name", run->name)
                             .Set("experiment", run->experiment)
                             .Set("status", std::string(meta::Name(run->status)))
                             .Set("exit_code", run->exit_code)
                             .Set("pipeline_file", run->pipeline_file)
                             .Set("steps", std::move(arr))
                             .Dump());
      return 0;
    }
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
