// `weft graph FILE [--format text|dot|mermaid|json]`: draw the flattened graph.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/pipeline_args.h"
#include "cli/workspace_args.h"
#include "graph/render.h"

namespace weft::cli {

std::function<int()> SetupGraph(CLI::App& sub) {
  struct Options {
    PipelineArgs pipeline;
    std::string format = "text";
  };
  auto o = std::make_shared<Options>();
  o->pipeline.AddTo(sub);
  sub.add_option("--format,-f", o->format, "text, dot, mermaid or json")
      ->check(CLI::IsMember({"text", "dot", "mermaid", "json"}));
  return [o] {
    int code = 0;
    app::FoundRegistry registry(Cwd());
    std::unique_ptr<app::LoadedGraph> g =
        Load({o->pipeline.file, o->pipeline.sets, Cwd(), {}}, registry.get(), &code);
    if (!g) return code;
    fmt::print("{}", graph::Render(g->graph, *graph::ParseFormat(o->format)));
    return 0;
  };
}

}  // namespace weft::cli
