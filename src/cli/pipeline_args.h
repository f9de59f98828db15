// What `validate`, `graph` (and later `run`) share: a pipeline file, `--set` overrides, and the
// load-then-build sequence that reports diagnostics.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/diag.h"
#include "graph/graph.h"
#include "spec/loader.h"

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

struct LoadedGraph {
  std::unique_ptr<spec::LoadedPipeline> pipeline;
  graph::Graph graph;
  Diagnostics diags;
};

// Loads and flattens the pipeline. Diagnostics are printed to `err`. Returns nullptr (and the
// exit code in `exit_code`) when the pipeline is invalid.
std::unique_ptr<LoadedGraph> LoadGraph(const PipelineArgs& args, std::FILE* err, int* exit_code);

}  // namespace weft::cli
