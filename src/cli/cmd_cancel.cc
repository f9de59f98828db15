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
    Result<OpenWorkspaceResult> ws = OpenWorkspace(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = FindRun(*ws->meta, o->run);
    if (!run.ok()) return Fail(run.status());
    if (run->status != "running") {
      return Fail(Status::Invalid(fmt::format("run {} is not running (it {})", run->id, run->status)));
    }
    if (engine::OwnerAlive(run->owner)) {
      // The owner stops its steps, records them canceled and exits with 130.
      int64_t owner = engine::OwnerPid(run->owner);
      ::kill(static_cast<pid_t>(owner), SIGTERM);
      for (int i = 0; i < 600; ++i) {
        Result<meta::RunRecord> now = FindRun(*ws->meta, run->id);
        if (now.ok() && now->status != "running") {
          fmt::print("run {} {} (its process, pid {}, stopped every step)\n", run->id, now->status, owner);
          return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return Fail(Status::Io(fmt::format("run {}: its process (pid {}) did not stop within 60 s",
                                         run->id, owner)));
    }
    // The owner is gone (killed, or the machine restarted): stop what it left running.
    Status st = engine::StopLeftovers(*ws->meta, *run, "canceled",
                                      "canceled by weft cancel (the run's process was gone)",
                                      kExitCanceled);
    if (!st.ok()) return Fail(st);
    fmt::print("run {} canceled (its process was gone; weft stopped the steps it left running)\n",
               run->id);
    return 0;
  };
}

}  // namespace weft::cli
