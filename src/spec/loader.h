// Loading a pipeline file and everything it references into the model (spec/model.h).
//
// LoadPipeline reads the top-level file, every component file it names (recursively, through
// nested pipeline components), environment and conda files, and checks each local path it meets.
// It reports every problem it finds to the Diagnostics in one pass; a caller decides what to do
// with a model that has errors (validate prints them; run refuses). Bindings between nodes are
// resolved later, by graph/.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "spec/model.h"
#include "spec/registry.h"
#include "spec/yaml.h"

namespace weft::spec {

// What the top-level file is. Components and single jobs are wrapped into a PipelineJob with one
// node so that every command can treat them alike.
enum class DocumentKind {
  kPipelineJob,
  kPipelineComponent,
  kCommandJob,
  kCommandComponent,
  kParallelComponent,
  kSweepJob,
  kDataAsset,
  kEnvironmentAsset,
};
const char* DocumentKindName(DocumentKind k);

struct LoadOptions {
  yaml::ParseLimits limits;
  size_t max_file_bytes = size_t{256} << 20;
  // The folders every file and folder the pipeline names by path must be in, links resolved
  // (empty: anywhere); registered assets are found wherever the registry keeps them. A server
  // confines a submitted pipeline to the files uploaded with it: any other path is an error where
  // it is named, and is never opened (nor is its existence told).
  std::vector<std::string> roots;
};

struct LoadedPipeline {
  DocumentKind kind = DocumentKind::kPipelineJob;
  PipelineJob job;
  // Every file read (pipeline, components, environments), in the order they were first read. The
  // model's locations point at these names, so they live as long as the model. (The YAML trees
  // themselves are gone once loading ends.)
  std::vector<std::shared_ptr<const std::string>> files;
};

// Loads `path`. Returns nullptr when the top-level file cannot be read or parsed at all; otherwise
// returns the model, complete as far as the errors allowed.
std::unique_ptr<LoadedPipeline> LoadPipeline(const std::string& path, const Registry& registry,
                                             Diagnostics& diags, const LoadOptions& options = {});

}  // namespace weft::spec
