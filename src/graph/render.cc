#include "graph/render.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/json.h"

namespace weft::graph {
namespace {

// Children of each group (-1 = top level), steps and groups interleaved in creation order.
struct Tree {
  std::vector<std::vector<uint32_t>> steps;   // by group + 1
  std::vector<std::vector<int32_t>> groups;   // by group + 1
};

Tree MakeTree(const Graph& g) {
  Tree t;
  t.steps.resize(g.groups.size() + 1);
  t.groups.resize(g.groups.size() + 1);
  for (uint32_t i = 0; i < g.steps.size(); ++i) t.steps[g.steps[i].group + 1].push_back(i);
  for (int32_t i = 0; i < static_cast<int32_t>(g.groups.size()); ++i) {
    t.groups[g.groups[i].parent + 1].push_back(i);
  }
  return t;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string MermaidLabel(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"') out += "#quot;";
    else if (c == '<') out += "#lt;";
    else if (c == '>') out += "#gt;";
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out;
}

size_t NameWidth(const Graph& g) {
  size_t w = 0;
  for (const Step& s : g.steps) w = std::max(w, s.name.size());
  return std::min<size_t>(w, 40);
}

// One line per step (name, type, component), then one indented line per input that comes from
// another step; nested pipelines are indented under a line of their own.
void TextGroup(const Graph& g, const Tree& t, int32_t group, int depth, size_t width,
               std::string& out) {
  std::string pad(2 * depth + 2, ' ');
  for (uint32_t i : t.steps[group + 1]) {
    const Step& s = g.steps[i];
    out += fmt::format("{}{:<{}}  {:<8} {}\n", pad, s.name, width, spec::NodeTypeName(s.type()),
                       s.ComponentLabel());
    for (const StepInput& in : s.inputs) {
      if (in.source.kind != ValueSource::Kind::kStepOutput) continue;
      out += fmt::format("{}    {} <- {}\n", pad, in.name, DescribeSource(g, in.source));
    }
  }
  for (int32_t c : t.groups[group + 1]) {
    out += fmt::format("{}{}/  (pipeline {})\n", pad, g.groups[c].name, g.groups[c].component);
    TextGroup(g, t, c, depth + 1, width, out);
  }
}

std::string RenderText(const Graph& g) {
  std::string out = fmt::format("pipeline {}: {} steps, {} edges, {} groups\n",
                                g.name.empty() ? "(unnamed)" : g.name, g.steps.size(),
                                g.edges.size(), g.groups.size());
  TextGroup(g, MakeTree(g), -1, 0, NameWidth(g), out);
  for (const PipelineOutput& o : g.outputs) {
    out += fmt::format("  output {} <- {}.outputs.{}\n", o.name, g.steps[o.step].name, o.output);
  }
  return out;
}

void DotGroup(const Graph& g, const Tree& t, int32_t group, int depth, std::string& out) {
  std::string pad(2 * depth + 2, ' ');
  for (uint32_t i : t.steps[group + 1]) {
    const Step& s = g.steps[i];
    out += fmt::format("{}s{} [label={}];\n", pad, i,
                       Quote(s.name + "\n" + spec::NodeTypeName(s.type()) + " " +
                             s.ComponentLabel()));
  }
  for (int32_t c : t.groups[group + 1]) {
    out += fmt::format("{}subgraph cluster_{} {{\n{}  label={};\n", pad, c, pad,
                       Quote(g.groups[c].name + " (" + g.groups[c].component + ")"));
    DotGroup(g, t, c, depth + 1, out);
    out += pad + "}\n";
  }
}

std::string RenderDot(const Graph& g) {
  std::string out = "digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n";
  DotGroup(g, MakeTree(g), -1, 0, out);
  for (const Edge& e : g.edges) {
    out += fmt::format("  s{} -> s{} [label={}];\n", e.from, e.to, Quote(e.output + " -> " + e.input));
  }
  return out + "}\n";
}

void MermaidGroup(const Graph& g, const Tree& t, int32_t group, int depth, std::string& out) {
  std::string pad(2 * depth + 2, ' ');
  for (uint32_t i : t.steps[group + 1]) {
    const Step& s = g.steps[i];
    out += fmt::format("{}s{}[\"{}<br/>{} {}\"]\n", pad, i, MermaidLabel(s.name),
                       spec::NodeTypeName(s.type()), MermaidLabel(s.ComponentLabel()));
  }
  for (int32_t c : t.groups[group + 1]) {
    out += fmt::format("{}subgraph g{}[\"{}\"]\n", pad, c, MermaidLabel(g.groups[c].name));
    MermaidGroup(g, t, c, depth + 1, out);
    out += pad + "end\n";
  }
}

std::string RenderMermaid(const Graph& g) {
  std::string out = "flowchart LR\n";
  MermaidGroup(g, MakeTree(g), -1, 0, out);
  for (const Edge& e : g.edges) {
    out += fmt::format("  s{} -->|\"{}\"| s{}\n", e.from, MermaidLabel(e.output + " → " + e.input),
                       e.to);
  }
  return out;
}

Json SourceJson(const Graph& g, const ValueSource& s) {
  Json j = Json::MakeObject();
  switch (s.kind) {
    case ValueSource::Kind::kNone:
      j.Set("kind", "none");
      break;
    case ValueSource::Kind::kLiteral:
      j.Set("kind", "literal").Set("type", s.literal.KindName()).Set("value", s.literal.Render());
      break;
    case ValueSource::Kind::kData:
      j.Set("kind", "data").Set("type", spec::PortTypeName(s.type)).Set("path", s.uri);
      if (!s.local_path.empty()) j.Set("local_path", s.local_path);
      if (!s.mode.empty()) j.Set("mode", s.mode);
      break;
    case ValueSource::Kind::kStepOutput:
      j.Set("kind", "step_output").Set("step", g.steps[s.step].name).Set("output", s.output);
      break;
    case ValueSource::Kind::kSearchSpace:
      j.Set("kind", "search_space");
      break;
  }
  return j;
}

}  // namespace

Json GraphJson(const Graph& g) {
  Json root = Json::MakeObject();
  root.Set("name", g.name);
  Json steps = Json::MakeArray();
  for (const Step& s : g.steps) {
    Json js = Json::MakeObject();
    js.Set("name", s.name).Set("type", spec::NodeTypeName(s.type())).Set("component",
                                                                          s.ComponentLabel());
    js.Set("group", s.group >= 0 ? Json(g.groups[s.group].name) : Json(nullptr));
    if (!s.compute.empty()) js.Set("compute", s.compute);
    Json ins = Json::MakeArray();
    for (const StepInput& in : s.inputs) {
      ins.Push(Json::MakeObject().Set("name", in.name).Set("source", SourceJson(g, in.source)));
    }
    js.Set("inputs", std::move(ins));
    Json outs = Json::MakeArray();
    for (const StepOutput& o : s.outputs) {
      Json jo = Json::MakeObject();
      jo.Set("name", o.name).Set("type", spec::PortTypeName(o.type));
      if (!o.pipeline_output.empty()) jo.Set("pipeline_output", o.pipeline_output);
      outs.Push(std::move(jo));
    }
    js.Set("outputs", std::move(outs));
    steps.Push(std::move(js));
  }
  root.Set("steps", std::move(steps));
  Json groups = Json::MakeArray();
  for (const Group& gr : g.groups) {
    groups.Push(Json::MakeObject()
                    .Set("name", gr.name)
                    .Set("component", gr.component)
                    .Set("parent", gr.parent >= 0 ? Json(g.groups[gr.parent].name) : Json(nullptr)));
  }
  root.Set("groups", std::move(groups));
  Json edges = Json::MakeArray();
  for (const Edge& e : g.edges) {
    edges.Push(Json::MakeObject()
                   .Set("from", g.steps[e.from].name)
                   .Set("output", e.output)
                   .Set("to", g.steps[e.to].name)
                   .Set("input", e.input));
  }
  root.Set("edges", std::move(edges));
  Json outputs = Json::MakeArray();
  for (const PipelineOutput& o : g.outputs) {
    outputs.Push(Json::MakeObject()
                     .Set("name", o.name)
                     .Set("step", g.steps[o.step].name)
                     .Set("output", o.output));
  }
  root.Set("outputs", std::move(outputs));
  return root;
}

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "dot") return Format::kDot;
  if (name == "mermaid") return Format::kMermaid;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::string DescribeSource(const Graph& g, const ValueSource& s) {
  switch (s.kind) {
    case ValueSource::Kind::kNone:
      return "(no value)";
    case ValueSource::Kind::kLiteral:
      return s.literal.Render();
    case ValueSource::Kind::kData:
      return fmt::format("{} {}", spec::PortTypeName(s.type), s.uri);
    case ValueSource::Kind::kStepOutput:
      return fmt::format("{}.outputs.{}", g.steps[s.step].name, s.output);
    case ValueSource::Kind::kSearchSpace:
      return "(search space)";
  }
  return "";
}

std::string Render(const Graph& g, Format format) {
  switch (format) {
    case Format::kText:
      return RenderText(g);
    case Format::kDot:
      return RenderDot(g);
    case Format::kMermaid:
      return RenderMermaid(g);
    case Format::kJson:
      return GraphJson(g).Dump(2) + "\n";
  }
  return {};
}

}  // namespace weft::graph
