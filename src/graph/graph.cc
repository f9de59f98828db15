#include "graph/graph.h"

namespace weft::graph {

using spec::NodeType;

std::string ComponentLabel(const spec::Node& node) {
  auto label = [](const std::string& name, const std::string& version) {
    if (name.empty()) return std::string("(inline)");
    return version.empty() ? name : name + ":" + version;
  };
  switch (node.type) {
    case NodeType::kCommand:
      return node.command ? label(node.command->name, node.command->version) : "(inline)";
    case NodeType::kParallel:
      return node.parallel ? label(node.parallel->name, node.parallel->version) : "(inline)";
    case NodeType::kSweep:
      return node.sweep && node.sweep->trial
                 ? label(node.sweep->trial->name, node.sweep->trial->version)
                 : "(inline)";
    case NodeType::kPipeline:
      return node.pipeline ? label(node.pipeline->name, node.pipeline->version) : "(inline)";
  }
  return "(inline)";
}

std::vector<uint32_t> TopologicalOrder(const Graph& g) {
  size_t n = g.steps.size();
  std::vector<uint32_t> pending(n);
  std::vector<std::vector<uint32_t>> consumers(n);
  for (uint32_t i = 0; i < n; ++i) {
    pending[i] = static_cast<uint32_t>(g.steps[i].deps.size());
    for (uint32_t d : g.steps[i].deps) consumers[d].push_back(i);
  }
  std::vector<uint32_t> order;
  order.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (pending[i] == 0) order.push_back(i);
  }
  for (size_t k = 0; k < order.size(); ++k) {
    for (uint32_t c : consumers[order[k]]) {
      if (--pending[c] == 0) order.push_back(c);
    }
  }
  return order;
}

std::string Step::ComponentLabel() const { return graph::ComponentLabel(*node); }

const std::string& StepOutput::PublishPath() const {
  static const std::string kNone;
  if (setting != nullptr && !setting->path.text.empty()) return setting->path.text;
  if (pipeline_setting != nullptr) return pipeline_setting->path.text;
  return kNone;
}

std::string StepOutput::FileName() const {
  const std::string& path = PublishPath();
  size_t slash = path.find_last_of('/');
  std::string last = slash == std::string::npos ? "" : path.substr(slash + 1);
  // A name of its own (no expression, not a folder): the file keeps it, extension included.
  if (last.empty() || last == "." || last == ".." || last.find("${{") != std::string::npos) {
    return name;
  }
  return last;
}

}  // namespace weft::graph
