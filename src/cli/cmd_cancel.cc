// `weft cancel RUN`: stop a run from another terminal.
#include <signal.h>

#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/status.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "engine/resume.h"

namespace weft::cli {

std::function<int()> SetupCancel(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  return [o] {
    // Not settled on opening: a dead run named here is canceled, not merely interrupted.
    Result<OpenWorkspaceResult> ws = OpenWorkspace(o->workspace, ws::WorkspaceLock::Mode::kShared,
                                                   true, false);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = FindRun(*ws->meta, o->run);
    if (!run.ok()) return Fail(run.status());
    if (run->status != meta::RunStatus::kRunning) {
      return Fail(Status::Invalid(fmt::format("run {} is not running (it {})", run->id, run->status)));
    }
    if (engine::OwnerAlive(run->owner)) {
      // The owner stops its steps (it records a step canceled only once every process of it has
      // gone), records the run canceled and exits with 130.
      int64_t owner = engine::OwnerPid(run->owner);
      ::kill(static_cast<pid_t>(owner), SIGTERM);
      for (int i = 0; i < 600; ++i) {
        Result<meta::RunRecord> now = FindRun(*ws->meta, run->id);
        if (now.ok() && now->status != meta::RunStatus::kRunning) {
          fmt::print("run {} {}: its weft process (pid {}) stopped every step\n", run->id,
                     now->status, owner);
          return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return Fail(Status::Io(fmt::format("run {}: its process (pid {}) did not stop within 60 s",
                                         run->id, owner)));
    }
    // The owner is gone (killed, or the machine restarted): stop what it left running.
    Result<exec::Cgroups::Stopped> stopped = engine::StopLeftovers(
        *ws->meta, *run, meta::RunStatus::kCanceled, "canceled by weft cancel (the run's process was gone)",
        kExitCanceled);
    if (!stopped.ok()) return Fail(stopped.status());
    if (!stopped->all_gone) {
      return Fail(Status::Io(fmt::format(
          "run {}: its weft process was gone and some of the {} processes its steps left could "
          "not be stopped",
          run->id, stopped->processes)));
    }
    if (stopped->processes == 0) {
      fmt::print("run {} canceled: its weft process was gone, and nothing of it was still running\n",
                 run->id);
    } else {
      fmt::print("run {} canceled: its weft process was gone; weft stopped the {} process{} its "
                 "steps left (none remains)\n",
                 run->id, stopped->processes, stopped->processes == 1 ? "" : "es");
    }
    return 0;
  };
}

}  // namespace weft::cli
