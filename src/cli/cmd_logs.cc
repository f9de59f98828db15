// `weft logs RUN STEP [-f]`: a step's output (for a reused step, the attempt it reuses).
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/workspace_args.h"
#include "engine/resume.h"

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
    Result<OpenWorkspaceResult> ws = OpenWorkspace(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = FindRun(*ws->meta, o->run);
    if (!run.ok()) return Fail(run.status());
    Result<std::optional<meta::StepRecord>> step = ws->meta->FindStep(run->id, o->step);
    if (!step.ok()) return Fail(step.status());
    if (!*step) {
      return Fail(Status::NotFound(fmt::format("run {} has no step `{}`", run->id, o->step)));
    }
    const meta::StepRecord& s = **step;
    auto [src_run, src_idx] = s.ResultAttempt();
    if (s.attempt == 0 && s.status != meta::StepStatus::kReused) {
      return Fail(Status::NotFound(fmt::format("step {} did not run ({}: {})", o->step, s.status,
                                               s.message)));
    }
    int64_t attempt = s.status == meta::StepStatus::kReused ? 1 : s.attempt;
    std::string path = fmt::format("{}/{}/{}.{}/log", ws->ws.runs_dir(), src_run, src_idx, attempt);
    if (s.status == meta::StepStatus::kReused) fmt::print(stderr, "(reused: the log of {} step {})\n", src_run, o->step);
    std::ifstream in(path);
    if (!in) return Fail(Status::NotFound(fmt::format("{}: no log", path)));
    std::string line;
    while (true) {
      while (std::getline(in, line)) fmt::print("{}\n", line);
      if (!o->follow) break;
      in.clear();
      // Follow while the step runs and the run's weft is alive (a dead run is settled, so that
      // it shows as interrupted from now on).
      Result<std::optional<meta::StepRecord>> now = ws->meta->FindStep(run->id, o->step);
      bool live = engine::OwnerAlive(run->owner);
      if (!live) engine::SettleDeadRuns(*ws->meta).ok();
      if (!live || !now.ok() || !*now || (*now)->status != meta::StepStatus::kRunning) {
        while (std::getline(in, line)) fmt::print("{}\n", line);
        break;
      }
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return 0;
  };
}

}  // namespace weft::cli
