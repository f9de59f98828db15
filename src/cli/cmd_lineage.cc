// `weft lineage REF [--downstream] [--json]`: where an object came from, or who used it.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "queries/lineage.h"

namespace weft::cli {
namespace {

using queries::LineageNode;

std::string Assets(const LineageNode& n) {
  std::string out;
  for (const meta::AssetRecord& a : n.assets) {
    out += fmt::format("{}{} {}:{}", out.empty() ? "" : ", ", a.kind, a.name, a.version);
  }
  return out;
}

std::string Line(const LineageNode& n, bool downstream) {
  switch (n.kind) {
    case LineageNode::Kind::kValue:
      return fmt::format("{} = {}", n.port, n.value);
    case LineageNode::Kind::kStep: {
      const meta::StepRecord& s = n.step;
      std::string how = s.status == meta::StepStatus::kReused ? fmt::format("reused from {}", s.reused_run)
                                                              : std::string(meta::Name(s.status));
      std::string line = downstream ? fmt::format("input {} of step {} in run {} ({})", n.port, s.name, s.run_id, how)
                                    : fmt::format("made by step {} in run {} ({})", s.name, s.run_id, how);
      return n.repeated ? line + "  (outputs shown above)" : line;
    }
    case LineageNode::Kind::kObject: {
      std::string line = n.port.empty() ? "" : n.port + "  ";
      line += "sha256:" + n.digest.substr(0, 12);
      if (!n.assets.empty()) line += "  [" + Assets(n) + "]";
      if (!n.value.empty()) line += "  from " + n.value;
      if (n.repeated) line += "  (shown above)";
      return line;
    }
  }
  return {};
}

void Print(const LineageNode& n, bool downstream, const std::string& indent, bool last, bool root) {
  fmt::print("{}{}{}\n", indent, root ? "" : last ? "└── " : "├── ", Line(n, downstream));
  std::string next = root ? "" : indent + (last ? "    " : "│   ");
  for (size_t i = 0; i < n.children.size(); ++i) {
    Print(n.children[i], downstream, next, i + 1 == n.children.size(), false);
  }
}

Json ToJson(const LineageNode& n) {
  Json j = Json::MakeObject();
  switch (n.kind) {
    case LineageNode::Kind::kValue:
      j.Set("kind", "value").Set("input", n.port).Set("value", n.value);
      break;
    case LineageNode::Kind::kStep:
      j.Set("kind", "step").Set("run", n.step.run_id).Set("step", n.step.name);
      j.Set("status", std::string(meta::Name(n.step.status)));
      if (!n.port.empty()) j.Set("input", n.port);
      if (n.step.status == meta::StepStatus::kReused) j.Set("reused_run", n.step.reused_run);
      if (n.repeated) j.Set("repeated", true);
      break;
    case LineageNode::Kind::kObject: {
      j.Set("kind", "object").Set("digest", "sha256:" + n.digest);
      if (!n.port.empty()) j.Set("port", n.port);
      if (!n.value.empty()) j.Set("source", n.value);
      Json assets = Json::MakeArray();
      for (const meta::AssetRecord& a : n.assets) {
        Json aj = Json::MakeObject();
        assets.Push(aj.Set("kind", a.kind).Set("name", a.name).Set("version", a.version));
      }
      j.Set("assets", assets);
      if (n.repeated) j.Set("repeated", true);
      break;
    }
  }
  Json children = Json::MakeArray();
  for (const LineageNode& c : n.children) children.Push(ToJson(c));
  return j.Set("children", children);
}

}  // namespace

std::function<int()> SetupLineage(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string ref;
    bool downstream = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("ref", o->ref,
                 "sha256:DIGEST (or 8+ leading digits), RUN/STEP.OUTPUT, or a data or model asset "
                 "NAME:VERSION / NAME@latest")
      ->required();
  sub.add_flag("--downstream", o->downstream, "who used it, instead of where it came from");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<queries::LineageRoot> root = queries::FindLineageRoot((*ws)->meta(), o->ref);
    if (!root.ok()) return Fail(root.status());
    Result<LineageNode> tree = o->downstream ? queries::TraceDownstream((*ws)->meta(), root->digest)
                                             : queries::TraceUpstream((*ws)->meta(), root->digest);
    if (!tree.ok()) return Fail(tree.status());
    if (o->json) {
      Json j = Json::MakeObject();
      j.Set("ref", o->ref).Set("described", root->described);
      j.Set("direction", o->downstream ? "downstream" : "upstream").Set("tree", ToJson(*tree));
      fmt::print("{}\n", j.Dump());
      return 0;
    }
    fmt::print("{}\n", root->described);
    Print(*tree, o->downstream, "", true, true);
    return 0;
  };
}

}  // namespace weft::cli
