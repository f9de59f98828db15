// The loader's private interface, shared by loader.cc and the parse_*.cc files that implement it.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>

#include "spec/checks.h"
#include "spec/fields.h"
#include "spec/loader.h"

namespace weft::spec {

class Loader {
 public:
  Loader(const Registry& registry, Diagnostics& diags, const LoadOptions& options,
         LoadedPipeline& out)
      : registry_(registry), diags_(diags), options_(options), out_(out) {}

  bool LoadTop(const std::string& path);

  // --- files (loader.cc)
  // Parses `path` once; later calls return the same document. nullptr after reporting at `from`.
  const yaml::Document* Open(const std::string& path, const SourceLoc& from);
  // Whether `path` is inside the roots the options allow (an error at `at` when it is not).
  // Every path the pipeline writes is checked before it is looked at.
  bool Confined(const std::string& path, std::string_view written, const SourceLoc& at);
  // A local path named in a file: `file:` prefix removed, resolved against the file's folder.
  // Reports a missing path at `at`, naming what it is (`what`). Empty when missing.
  std::string LocalPath(const Source& src, std::string_view written, const SourceLoc& at,
                        const What& what, bool want_dir);

  // --- pipelines and nodes (loader.cc, parse_node.cc)
  void ParsePipelineJob(const Source& src, const yaml::Node* root, PipelineJob& job);
  std::shared_ptr<const PipelineComponent> ParsePipelineComponent(const Source& src,
                                                                  const yaml::Node* root);
  void ParseJobs(const Source& src, const yaml::Node* jobs, SourceLoc owner,
                 std::vector<Node>& out);
  std::optional<Node> ParseNode(const Source& src, const yaml::Node* key, const yaml::Node* value);
  void ParseNodeCommon(Fields& f, Node& node);
  void ParseCommandNode(Fields& f, Node& node);
  void ParsePipelineNode(Fields& f, Node& node);
  void ParseParallelNode(Fields& f, Node& node);
  void ParseSweepNode(Fields& f, Node& node);

  // --- components (parse_component.cc)
  // What a `component:` (or `trial:`) field names: a file, a registry entry, or an inline mapping.
  struct ComponentSource {
    const Source* src = nullptr;  // where the definition is
    const yaml::Node* node = nullptr;
    std::string type;  // the definition's `type` (command when absent)
    bool is_inline = false;  // written inside the node rather than in its own file
  };
  std::optional<ComponentSource> ResolveComponent(const Source& src, const yaml::Node* ref,
                                                  std::string* ref_text);
  std::shared_ptr<const CommandComponent> CommandComponentFrom(const ComponentSource& cs);
  // The fields every component has (name, version, ports, ...), read from `f` into `c`.
  void ParseComponentBase(Fields& f, ComponentBase& c, bool name_required);
  std::shared_ptr<const CommandComponent> ParseCommandComponent(const Source& src,
                                                                const yaml::Node* root);
  std::shared_ptr<const ParallelComponent> ParseParallelComponent(const Source& src,
                                                                  const yaml::Node* root);
  // The parallel-specific fields, shared by parallel component files and inline parallel nodes.
  void ParseParallelFields(Fields& f, ParallelComponent& pc, bool own_run_settings);
  void CheckParallel(const Source& src, const ParallelComponent& pc);
  SweepSpec ParseSweepFields(Fields& f, const Node& node);
  void CheckCommandTemplate(const Source& src, const Text& text,
                            const std::vector<InputPort>& inputs,
                            const std::vector<OutputPort>& outputs, const What& what);

  // --- ports and values (parse_ports.cc)
  std::vector<InputPort> ParseInputPorts(const Source& src, const yaml::Node* map);
  std::vector<OutputPort> ParseOutputPorts(const Source& src, const yaml::Node* map);
  std::vector<std::pair<std::string, InputValue>> ParseInputValues(const Source& src,
                                                                   const yaml::Node* map,
                                                                   bool pipeline_level);
  std::optional<InputValue> ParseInputValue(const Source& src, const yaml::Node* n,
                                            std::string_view name, bool pipeline_level);
  std::vector<std::pair<std::string, OutputValue>> ParseOutputValues(const Source& src,
                                                                     const yaml::Node* map,
                                                                     bool pipeline_level);
  // Ports inferred from an inline job's values (Azure derives them the same way).
  static std::vector<InputPort> PortsFromValues(
      const std::vector<std::pair<std::string, InputValue>>& values);
  static std::vector<OutputPort> PortsFromValues(
      const std::vector<std::pair<std::string, OutputValue>>& values);
  Text ParseText(const Source& src, const yaml::Node* n);

  // --- environments and run settings (parse_env.cc)
  Environment ParseEnvironment(const Source& src, const yaml::Node* n);
  Resources ParseResources(const Source& src, const yaml::Node* n);
  Distribution ParseDistribution(const Source& src, const yaml::Node* n);

  const Registry& registry() const { return registry_; }
  Diagnostics& diags() { return diags_; }

 private:
  using AnyComponent = std::variant<std::shared_ptr<const CommandComponent>,
                                    std::shared_ptr<const PipelineComponent>,
                                    std::shared_ptr<const ParallelComponent>>;
  void ReadEnvironmentFile(const Source& src, const std::string& path, const SourceLoc& at,
                           Environment& env);
  void ReadCondaFile(const Source& src, const yaml::Node* root, Environment& env);

  const Registry& registry_;
  Diagnostics& diags_;
  const LoadOptions& options_;
  LoadedPipeline& out_;
  std::map<std::string, const yaml::Document*> documents_;  // by resolved path
  std::map<const yaml::Document*, std::string> paths_;      // each one's path, as opened
  std::vector<std::unique_ptr<yaml::Document>> parsed_;     // owned until loading ends
  std::map<std::string, std::unique_ptr<Source>> sources_;  // one Source per document
  std::map<const yaml::Node*, AnyComponent> components_;    // parsed component definitions
  std::set<const yaml::Node*> in_progress_;                 // pipeline components being parsed
  // Environment references already looked up in the registry (nullopt: not registered, warned).
  std::map<std::string, std::optional<Environment>> referenced_;
  // Component references already resolved, by folder and text: a file used by many nodes is
  // looked up once.
  std::map<std::pair<std::string, std::string>, ComponentSource> resolved_;

 public:
  const Source& SourceFor(const yaml::Document* doc);
  template <typename T>
  std::shared_ptr<const T> Cached(const yaml::Node* def) const {
    auto it = components_.find(def);
    if (it == components_.end()) return nullptr;
    auto* p = std::get_if<std::shared_ptr<const T>>(&it->second);
    return p ? *p : nullptr;
  }
  template <typename T>
  void Remember(const yaml::Node* def, std::shared_ptr<const T> c) {
    components_[def] = std::move(c);
  }
  bool BeginPipeline(const yaml::Node* def) { return in_progress_.insert(def).second; }
  void EndPipeline(const yaml::Node* def) { in_progress_.erase(def); }
};

}  // namespace weft::spec
