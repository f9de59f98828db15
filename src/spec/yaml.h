// A YAML document as weft sees it: a tree of scalars, mappings and sequences, every node with its
// line and column.
//
// Parsing (yaml_libyaml.cc, the only file that knows libyaml) already applies the parts of YAML 1.1
// that change the tree: merge keys (`<<: *anchor`) are applied, a duplicate key keeps the last value
// (with a warning, as PyYAML does silently), and aliases share the anchored node instead of copying
// it, so an alias bomb costs no more memory than its text. Scalars keep their source text; their
// YAML 1.1 meaning (int, float, bool, null, string) is decided by spec/yaml11.h.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"

namespace weft::yaml {

enum class Kind : uint8_t { kScalar, kMapping, kSequence };

// How a scalar was written. Only plain scalars are subject to implicit typing.
enum class Style : uint8_t { kPlain, kSingleQuoted, kDoubleQuoted, kLiteral, kFolded };

struct Node {
  Kind kind = Kind::kScalar;
  Style style = Style::kPlain;
  uint32_t line = 0;
  uint32_t col = 0;
  std::string text;  // scalars only
  std::string tag;   // an explicit tag (`!!str`), expanded; empty when none was written
  // Mappings: key0, value0, key1, value1, ... (keys are unique, merges applied).
  // Sequences: the items.
  std::vector<const Node*> children;

  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_mapping() const { return kind == Kind::kMapping; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  // A plain, untagged `~`, `null`, `Null`, `NULL` or empty scalar.
  bool is_null() const;

  size_t entry_count() const { return children.size() / 2; }
  const Node* key(size_t i) const { return children[2 * i]; }
  const Node* value(size_t i) const { return children[2 * i + 1]; }
  // The value under a scalar key, or nullptr. Linear: mappings in pipeline files are small, and
  // large ones (`jobs:`) are iterated, not searched.
  const Node* Find(std::string_view key) const;
};

// Bounds that keep hostile input within a fixed budget of time and memory.
struct ParseLimits {
  uint32_t max_depth = 1000;               // nesting of mappings and sequences
  uint64_t max_expanded_nodes = 20000000;  // nodes the document would have with aliases expanded
};

class Document {
 public:
  explicit Document(std::string file)
      : file_(std::make_shared<const std::string>(std::move(file))) {}

  const Node* root() const { return root_; }
  // The file name as given. SourceLoc::file points at this string, which lives as long as the
  // Document or anyone holding file_name().
  const std::string& file() const { return *file_; }
  const std::shared_ptr<const std::string>& file_name() const { return file_; }
  SourceLoc Loc(const Node* n) const { return {file_.get(), n->line, n->col}; }
  SourceLoc Loc(uint32_t line, uint32_t col) const { return {file_.get(), line, col}; }

  // Builder interface, used by the parser.
  Node* NewNode() { return &nodes_.emplace_back(); }
  void set_root(const Node* n) { root_ = n; }

 private:
  std::shared_ptr<const std::string> file_;
  std::deque<Node> nodes_;
  const Node* root_ = nullptr;
};

// Parses `text` (the contents of `file`). Syntax errors, undefined aliases, nesting or alias
// expansion beyond `limits`, and more than one document are errors; duplicate keys are warnings.
// Returns nullptr when errors were reported. An empty file gives a Document with a null root.
std::unique_ptr<Document> Parse(std::string file, std::string_view text, Diagnostics& diags,
                                const ParseLimits& limits = {});

}  // namespace weft::yaml
