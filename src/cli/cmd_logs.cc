// `weft logs RUN STEP [-f]`: a step's output (for a reused step, the attempt it reuses).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/workspace_args.h"
#include "app/runs.h"

namespace weft::cli {

std::function<int()> SetupLogs(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run;
    std::string step;
    bool follow = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "the step")->required();
  sub.add_flag("-f,--follow", o->follow, "keep printing while the step runs");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    Result<app::StepLog> log = app::FindLog(**ws, *run, o->step);
    if (!log.ok()) return Fail(log.status());
    if (log->step.status == meta::StepStatus::kReused) {
      fmt::print(stderr, "(reused: the log of {} step {})\n", log->step.reused_run, o->step);
    }
    Status s = app::ReadLog(**ws, *run, o->step, o->follow, [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    });
    return s.ok() ? 0 : Fail(s);
  };
}

}  // namespace weft::cli
