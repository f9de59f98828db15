// What `validate`, `graph` and `run` share: a pipeline file and `--set` overrides, loaded through
// the application layer (app/pipeline.h) with its diagnostics printed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/pipeline.h"

namespace CLI {
class App;
}

namespace weft::cli {

struct PipelineArgs {
  std::string file;
  std::vector<std::string> sets;  // "inputs.NAME=VALUE"

  // Adds FILE and --set to a subcommand.
  void AddTo(CLI::App& sub);
};

// Loads and flattens `source`, printing its diagnostics to stderr. Returns nullptr (and the exit
// code in `exit_code`) when the pipeline is invalid.
std::unique_ptr<app::LoadedGraph> Load(const app::PipelineSource& source,
                                       const spec::Registry& registry, int* exit_code);

}  // namespace weft::cli
