#include "spec/model.h"

#include <algorithm>

namespace weft::spec {

bool IsUri(std::string_view path) {
  if (path.rfind("azureml:", 0) == 0 || path.rfind("runs:/", 0) == 0) return true;
  size_t scheme = path.find("://");
  return scheme != std::string_view::npos && path.substr(0, scheme) != "file";
}

std::string_view WithoutFileScheme(std::string_view path) {
  for (std::string_view scheme : {"file://", "file:"}) {
    if (path.rfind(scheme, 0) == 0) return path.substr(scheme.size());
  }
  return path;
}
namespace {

struct TypeName {
  PortType type;
  std::string_view name;
};
constexpr TypeName kTypes[] = {
    {PortType::kUriFile, "uri_file"},         {PortType::kUriFolder, "uri_folder"},
    {PortType::kMltable, "mltable"},          {PortType::kMlflowModel, "mlflow_model"},
    {PortType::kCustomModel, "custom_model"}, {PortType::kTritonModel, "triton_model"},
    {PortType::kPath, "path"},                {PortType::kInteger, "integer"},
    {PortType::kNumber, "number"},            {PortType::kString, "string"},
    {PortType::kBoolean, "boolean"},
};

template <typename Port>
const Port* FindPort(const std::vector<Port>& ports, std::string_view n) {
  auto it = std::find_if(ports.begin(), ports.end(), [&](const Port& p) { return p.name == n; });
  return it == ports.end() ? nullptr : &*it;
}

}  // namespace

std::optional<PortType> ParsePortType(std::string_view text) {
  for (const TypeName& t : kTypes) {
    if (t.name == text) return t.type;
  }
  // Azure accepts a few aliases in older files.
  if (text == "float") return PortType::kNumber;
  if (text == "int") return PortType::kInteger;
  if (text == "bool") return PortType::kBoolean;
  if (text == "str") return PortType::kString;
  return std::nullopt;
}

const char* PortTypeName(PortType t) {
  for (const TypeName& n : kTypes) {
    if (n.type == t) return n.name.data();
  }
  return "unknown";
}

const char* NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kCommand:
      return "command";
    case NodeType::kPipeline:
      return "pipeline";
    case NodeType::kParallel:
      return "parallel";
    case NodeType::kSweep:
      return "sweep";
  }
  return "command";
}

const InputPort* ComponentBase::FindInput(std::string_view n) const {
  return FindPort(inputs, n);
}
const OutputPort* ComponentBase::FindOutput(std::string_view n) const {
  return FindPort(outputs, n);
}

namespace {

void CollectNames(const std::vector<SearchDimension>& space, std::vector<std::string>& out) {
  for (const SearchDimension& d : space) {
    bool plain = !d.nested();
    for (size_t k = 0; k < d.options.size(); ++k) {
      if (d.options[k].empty()) plain = true;
      CollectNames(d.options[k], out);
    }
    if (plain && std::find(out.begin(), out.end(), d.name) == out.end()) out.push_back(d.name);
  }
}

}  // namespace

std::vector<std::string> HyperparameterNames(const std::vector<SearchDimension>& space) {
  std::vector<std::string> out;
  CollectNames(space, out);
  return out;
}

}  // namespace weft::spec
