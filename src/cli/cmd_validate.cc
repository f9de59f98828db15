// `weft validate FILE`: load, flatten and check a pipeline; print a summary.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/pipeline_args.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupValidate(CLI::App& sub) {
  auto args = std::make_shared<PipelineArgs>();
  args->AddTo(sub);
  return [args] {
    int code = 0;
    app::FoundRegistry registry(Cwd());
    std::unique_ptr<app::LoadedGraph> g = Load({args->file, args->sets, Cwd(), {}}, registry.get(), &code);
    if (!g) return code;
    // What `weft run` would refuse before anything runs: packages an environment lacks, code
    // folders it cannot snapshot.
    Diagnostics found;
    app::CheckBeforeRun(g->graph, registry.workspace(), found);
    if (found.has_errors()) {
      std::fputs(found.FormatAll().c_str(), stderr);
      std::fprintf(stderr, "%s: invalid: %zu error%s\n", args->file.c_str(), found.error_count(),
                   found.error_count() == 1 ? "" : "s");
      return static_cast<int>(kExitInvalid);
    }
    const spec::LoadedPipeline& p = *g->pipeline;
    std::string name = g->graph.name.empty() ? "" : fmt::format(" `{}`", g->graph.name);
    size_t warnings = g->diags.warning_count();
    fmt::print("{}: valid {}{}: {} steps, {} edges, {} groups, {} files, {} warning{}\n", args->file,
               spec::DocumentKindName(p.kind), name, g->graph.steps.size(), g->graph.edges.size(),
               g->graph.groups.size(), p.files.size(), warnings, warnings == 1 ? "" : "s");
    return 0;
  };
}

}  // namespace weft::cli
