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
#include "workspace/workspace.h"

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

// Loads and flattens the pipeline, resolving `azureml:` references against `registry`.
// Diagnostics are printed to `err`. Returns nullptr (and the exit code in `exit_code`) when the
// pipeline is invalid.
std::unique_ptr<LoadedGraph> LoadGraph(const PipelineArgs& args, const spec::Registry& registry,
                                       std::FILE* err, int* exit_code);

// The registry of the workspace that `weft run` here would use, if one exists (none is created
// just to validate or draw a file); else an empty one.
class FoundRegistry {
 public:
  FoundRegistry();
  ~FoundRegistry();
  const spec::Registry& get() const;
  // The workspace found (its configuration says which interpreter each environment is); a
  // default one, with no folder, when there is none.
  const ws::Workspace& workspace() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace weft::cli
