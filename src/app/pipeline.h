// Loading a pipeline for a run, a check or a drawing: the file, `--set` overrides, and the
// load -> flatten -> locate data sequence, with every problem in the returned diagnostics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/os.h"
#include "engine/engine.h"
#include "graph/graph.h"
#include "spec/loader.h"
#include "spec/registry.h"
#include "workspace/workspace.h"

namespace weft::app {

struct PipelineSource {
  std::string file;
  std::vector<std::string> sets;  // "inputs.NAME=VALUE"
  std::string base_dir;           // what relative `--set` paths are relative to
  // Where every path the pipeline names (files, code, data, datastores) must be (empty:
  // anywhere): a server's uploads (spec::LoadOptions::roots).
  std::vector<std::string> roots;
};

struct LoadedGraph {
  std::unique_ptr<spec::LoadedPipeline> pipeline;
  graph::Graph graph;
  Diagnostics diags;
  bool ok() const { return pipeline != nullptr && !diags.has_errors(); }
  // What the engine is asked to run: this pipeline, with its load warnings to keep with the run.
  engine::RunRequest Request(const engine::RunOptions& options) const;
};

// Loads and flattens the pipeline, resolving `azureml:` references and data URIs against
// `registry`. A malformed `--set` is an error Status; problems in the files are in the result's
// diagnostics (and then !ok()).
Result<std::unique_ptr<LoadedGraph>> LoadGraph(const PipelineSource& source,
                                               const spec::Registry& registry);

// For `weft validate`: what `weft run` would refuse before anything runs, as errors where it is
// written: packages an environment's interpreter lacks, code folder entries it cannot snapshot.
void CheckBeforeRun(const graph::Graph& graph, const ws::Workspace& ws, Diagnostics& diags);

// The registry of the workspace that `weft run` from `cwd` would use, if one exists (none is
// created just to validate or draw a file); else an empty one.
class FoundRegistry {
 public:
  explicit FoundRegistry(const std::string& cwd, const Os& os = RealOs());
  ~FoundRegistry();
  const spec::Registry& get() const;
  // The workspace found (its configuration says which interpreter each environment is); a
  // default one, with no folder, when there is none.
  const ws::Workspace& workspace() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace weft::app
