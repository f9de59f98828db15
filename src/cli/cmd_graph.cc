// `weft graph FILE [--format text|dot|mermaid|json]`: draw the flattened graph, here or (--server)
// with a server's registered assets.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/pipeline_args.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "graph/render.h"

namespace weft::cli {

std::function<int()> SetupGraph(CLI::App& sub) {
  struct Options {
    PipelineArgs pipeline;
    RemoteArgs remote;
    std::string folder;
    std::string format = "text";
  };
  auto o = std::make_shared<Options>();
  o->pipeline.AddTo(sub);
  o->remote.AddTo(sub);
  sub.add_option("--folder", o->folder,
                 "with --server: the folder whose files are sent (default: the pipeline's own folder)");
  sub.add_option("--format,-f", o->format, "text, dot, mermaid or json")
      ->check(CLI::IsMember({"text", "dot", "mermaid", "json"}));
  return [o] {
    if (o->remote.remote()) {  // (printed as a load here prints it)
      Result<Json> r =
          ValidateOnServer(o->remote, o->pipeline.file, o->folder, o->pipeline.sets, o->format);
      if (!r.ok()) return Fail(r.status());
      std::fputs(TextOf(*r, "report").c_str(), stderr);
      const Json* loaded = r->Find("loaded");
      if (!loaded || !loaded->Bool() || !*loaded->Bool()) {
        int64_t errors = IntOf(*r, "errors"), warnings = IntOf(*r, "warnings");
        std::fprintf(stderr, "%s: invalid: %lld error%s, %lld warning%s\n", o->pipeline.file.c_str(),
                     static_cast<long long>(errors), errors == 1 ? "" : "s",
                     static_cast<long long>(warnings), warnings == 1 ? "" : "s");
        return static_cast<int>(kExitInvalid);
      }
      fmt::print("{}", TextOf(*r, "graph"));
      return 0;
    }
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
