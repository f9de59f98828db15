// `weft validate FILE`: load, flatten and check a pipeline; print a summary (here, or on a server
// with --server: the same checks against the server's registry, the same output).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/pipeline_args.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"

namespace weft::cli {
namespace {

const char* Plural(size_t n) { return n == 1 ? "" : "s"; }

// What a check found, as `weft validate` prints it; the exit code.
struct Found {
  bool loaded = false;
  std::string report;  // the load's diagnostics
  size_t errors = 0, warnings = 0;
  std::string check;   // what `weft run` would refuse
  size_t check_errors = 0;
  std::string kind, name;
  size_t steps = 0, edges = 0, groups = 0, files = 0;
};

int Print(const std::string& file, const Found& f) {
  std::fputs(f.report.c_str(), stderr);
  if (!f.loaded) {
    std::fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", file.c_str(), f.errors,
                 Plural(f.errors), f.warnings, Plural(f.warnings));
    return static_cast<int>(kExitInvalid);
  }
  if (f.check_errors > 0) {
    std::fputs(f.check.c_str(), stderr);
    std::fprintf(stderr, "%s: invalid: %zu error%s\n", file.c_str(), f.check_errors, Plural(f.check_errors));
    return static_cast<int>(kExitInvalid);
  }
  std::string name = f.name.empty() ? "" : fmt::format(" `{}`", f.name);
  fmt::print("{}: valid {}{}: {} steps, {} edges, {} groups, {} files, {} warning{}\n", file, f.kind,
             name, f.steps, f.edges, f.groups, f.files, f.warnings, Plural(f.warnings));
  return 0;
}

}  // namespace

std::function<int()> SetupValidate(CLI::App& sub) {
  struct Options {
    PipelineArgs pipeline;
    RemoteArgs remote;
    std::string folder;
  };
  auto o = std::make_shared<Options>();
  o->pipeline.AddTo(sub);
  o->remote.AddTo(sub);
  sub.add_option("--folder", o->folder,
                 "with --server: the folder whose files are sent (default: the pipeline's own folder)");
  return [o] {
    Found f;
    if (o->remote.remote()) {
      Result<Json> r = ValidateOnServer(o->remote, o->pipeline.file, o->folder, o->pipeline.sets);
      if (!r.ok()) return Fail(r.status());
      f = Found{r->Find("loaded")->Bool() && *r->Find("loaded")->Bool(), TextOf(*r, "report"),
                static_cast<size_t>(IntOf(*r, "errors")), static_cast<size_t>(IntOf(*r, "warnings")),
                TextOf(*r, "check"), static_cast<size_t>(IntOf(*r, "check_errors")),
                TextOf(*r, "kind"), TextOf(*r, "name"), static_cast<size_t>(IntOf(*r, "steps")),
                static_cast<size_t>(IntOf(*r, "edges")), static_cast<size_t>(IntOf(*r, "groups")),
                static_cast<size_t>(IntOf(*r, "files"))};
      return Print(o->pipeline.file, f);
    }
    app::FoundRegistry registry(Cwd());
    Result<std::unique_ptr<app::LoadedGraph>> g =
        app::LoadGraph({o->pipeline.file, o->pipeline.sets, Cwd(), {}}, registry.get());
    if (!g.ok()) {
      std::fprintf(stderr, "error: %s\n", g.status().message().c_str());
      return static_cast<int>(kExitInvalid);
    }
    const Diagnostics& d = (*g)->diags;
    f.loaded = (*g)->ok();
    f.report = d.FormatAll();
    f.errors = d.error_count();
    f.warnings = d.warning_count();
    if (f.loaded) {
      Diagnostics found;
      app::CheckBeforeRun((*g)->graph, registry.workspace(), found);
      f.check = found.FormatAll();
      f.check_errors = found.error_count();
      f.kind = spec::DocumentKindName((*g)->pipeline->kind);
      f.name = (*g)->graph.name;
      f.steps = (*g)->graph.steps.size();
      f.edges = (*g)->graph.edges.size();
      f.groups = (*g)->graph.groups.size();
      f.files = (*g)->pipeline->files.size();
    }
    return Print(o->pipeline.file, f);
  };
}

}  // namespace weft::cli
