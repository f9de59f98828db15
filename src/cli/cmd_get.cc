// `weft get RUN OUTPUT DEST`: copy an output out of the store.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/runs.h"
#include "cli/command.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupGet(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run, output, dest;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("output", o->output, "STEP.OUTPUT, for example train.model")->required();
  sub.add_option("dest", o->dest, "where to copy it (must not exist)")->required();
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    Result<meta::OutputRecord> out = app::CopyOutput(**ws, *run, o->output, o->dest);
    if (!out.ok()) return Fail(out.status());
    fmt::print("{} -> {} (sha256:{})\n", o->output, o->dest, out->digest.substr(0, 12));
    return 0;
  };
}

}  // namespace weft::cli
