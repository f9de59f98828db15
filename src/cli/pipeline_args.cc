#include "cli/pipeline_args.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/status.h"

namespace weft::cli {

void PipelineArgs::AddTo(CLI::App& sub) {
  sub.add_option("file", file, "the pipeline job YAML file (Azure ML CLI v2)")->required();
  sub.add_option("--set", sets,
                 "override a pipeline input: --set inputs.NAME=VALUE (typed by the declared type); "
                 "also settings.NAME=VALUE, and outputs.NAME=PATH (where an output is published)")
      ->take_all();
}

std::unique_ptr<app::LoadedGraph> Load(const app::PipelineSource& source,
                                       const spec::Registry& registry, int* exit_code) {
  Result<std::unique_ptr<app::LoadedGraph>> g = app::LoadGraph(source, registry);
  if (!g.ok()) {
    std::fprintf(stderr, "error: %s\n", g.status().message().c_str());
    *exit_code = kExitInvalid;
    return nullptr;
  }
  const Diagnostics& diags = (*g)->diags;
  std::string report = diags.FormatAll();
  std::fputs(report.c_str(), stderr);
  if (!(*g)->ok()) {
    std::fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", source.file.c_str(),
                 diags.error_count(), diags.error_count() == 1 ? "" : "s", diags.warning_count(),
                 diags.warning_count() == 1 ? "" : "s");
    *exit_code = kExitInvalid;
    return nullptr;
  }
  *exit_code = kExitOk;
  return std::move(*g);
}

}  // namespace weft::cli
