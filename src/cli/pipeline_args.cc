#include "cli/pipeline_args.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/status.h"
#include "spec/registry.h"

namespace weft::cli {

void PipelineArgs::AddTo(CLI::App& sub) {
  sub.add_option("file", file, "the pipeline job YAML file (Azure ML CLI v2)")->required();
  sub.add_option("--set", sets,
                 "override a pipeline input: --set inputs.NAME=VALUE (typed by the declared type)")
      ->take_all();
}

std::unique_ptr<LoadedGraph> LoadGraph(const PipelineArgs& args, std::FILE* err, int* exit_code) {
  auto out = std::make_unique<LoadedGraph>();
  graph::BuildOptions options;
  for (const std::string& s : args.sets) {
    size_t eq = s.find('=');
    if (s.rfind("inputs.", 0) != 0 || eq == std::string::npos || eq == 7) {
      std::fprintf(err, "error: --set %s: expected inputs.NAME=VALUE\n", s.c_str());
      *exit_code = kExitInvalid;
      return nullptr;
    }
    options.set_inputs.emplace_back(s.substr(7, eq - 7), s.substr(eq + 1));
  }
  spec::EmptyRegistry registry;
  out->pipeline = spec::LoadPipeline(args.file, registry, out->diags);
  if (out->pipeline) out->graph = graph::Build(*out->pipeline, options, out->diags);
  std::string report = out->diags.FormatAll();
  std::fputs(report.c_str(), err);
  if (!out->pipeline || out->diags.has_errors()) {
    std::fprintf(err, "%s: invalid: %zu error%s, %zu warning%s\n", args.file.c_str(),
                 out->diags.error_count(), out->diags.error_count() == 1 ? "" : "s",
                 out->diags.warning_count(), out->diags.warning_count() == 1 ? "" : "s");
    *exit_code = kExitInvalid;
    return nullptr;
  }
  *exit_code = kExitOk;
  return out;
}

}  // namespace weft::cli
