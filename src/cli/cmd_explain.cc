// `weft explain RUN STEP`: why a step ran or was reused.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/workspace_args.h"
#include "queries/explain.h"

namespace weft::cli {

std::function<int()> SetupExplain(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run, step;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "the step")->required();
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    Result<std::vector<std::string>> lines = queries::Explain((*ws)->meta(), (*ws)->store(), *run, o->step);
    if (!lines.ok()) return Fail(lines.status());
    for (const std::string& l : *lines) fmt::print("{}\n", l);
    return 0;
  };
}

}  // namespace weft::cli
