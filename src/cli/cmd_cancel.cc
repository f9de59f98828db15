// `weft cancel RUN`: stop a run from another terminal.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/status.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "app/runs.h"

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
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace, false);
    if (!ws.ok()) return Fail(ws.status());
    Result<app::Canceled> c = app::CancelRun(**ws, o->run);
    if (!c.ok()) return Fail(c.status());
    if (c->owner_pid != 0) {
      fmt::print("run {} {}: its weft process (pid {}) stopped every step\n", c->run.id,
                 c->run.status, c->owner_pid);
    } else if (c->leftovers.processes == 0) {
      fmt::print("run {} canceled: its weft process was gone, and nothing of it was still running\n",
                 c->run.id);
    } else {
      fmt::print("run {} canceled: its weft process was gone; weft stopped the {} process{} its "
                 "steps left (none remains)\n",
                 c->run.id, c->leftovers.processes, c->leftovers.processes == 1 ? "" : "es");
    }
    return 0;
  };
}

}  // namespace weft::cli
