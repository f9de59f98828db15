// Drawing a run graph: plain text, Graphviz DOT, Mermaid, and JSON for scripts.
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "graph/graph.h"

namespace weft::graph {

enum class Format { kText, kDot, kMermaid, kJson };

// Parses "text", "dot", "mermaid" or "json".
std::optional<Format> ParseFormat(std::string_view name);

// Renders `g`. Nested pipelines appear as groups (indented in text, clusters in DOT, subgraphs in
// Mermaid, a `groups` array in JSON).
std::string Render(const Graph& g, Format format);
// The JSON format's document, as a value (for the server's API).
Json GraphJson(const Graph& g);

// How a step input's value is described in every format: `prep.outputs.train`, `5`, `data ./x`.
std::string DescribeSource(const Graph& g, const ValueSource& s);

}  // namespace weft::graph
