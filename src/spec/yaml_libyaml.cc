// The libyaml adapter: libyaml's event interface turned into a yaml::Document.
//
// libyaml is used for its speed and because every event carries its line and column. It knows
// nothing of YAML 1.1's merge keys, duplicate keys or typing; those are applied here and in
// yaml11.cc. The builder keeps an explicit stack instead of recursing, so nesting depth costs no
// native stack, and is bounded by ParseLimits.
#include <yaml.h>

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "spec/yaml.h"

namespace weft::yaml {

bool Node::is_null() const {
  if (kind != Kind::kScalar || style != Style::kPlain || !tag.empty()) return false;
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

const Node* Node::Find(std::string_view k) const {
  if (kind != Kind::kMapping) return nullptr;
  for (size_t i = 0; i + 1 < children.size(); i += 2) {
    if (children[i]->kind == Kind::kScalar && children[i]->text == k) return children[i + 1];
  }
  return nullptr;
}

namespace {

constexpr uint64_t kSaturate = uint64_t{1} << 62;

uint64_t AddSat(uint64_t a, uint64_t b) { return std::min(kSaturate, a + b); }

bool IsMergeKey(const Node* k) {
  return k->kind == Kind::kScalar && k->style == Style::kPlain && k->tag.empty() && k->text == "<<";
}

Style StyleOf(yaml_scalar_style_t s) {
  switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
      return Style::kSingleQuoted;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
      return Style::kDoubleQuoted;
    case YAML_LITERAL_SCALAR_STYLE:
      return Style::kLiteral;
    case YAML_FOLDED_SCALAR_STYLE:
      return Style::kFolded;
    default:
      return Style::kPlain;
  }
}

class Builder {
 public:
  Builder(Document& doc, Diagnostics& diags, const ParseLimits& limits)
      : doc_(doc), diags_(diags), limits_(limits) {}

  // Handles one event; returns false when parsing must stop (an error was reported).
  bool Handle(const yaml_event_t& e);

 private:
  struct Frame {
    Node* node;
    uint64_t weight;  // nodes in this subtree with aliases expanded
  };

  bool Error(const yaml_mark_t& m, std::string msg, std::string hint = {}) {
    diags_.Error(doc_.Loc(m.line + 1, m.column + 1), std::move(msg), std::move(hint));
    return false;
  }
  bool Start(Node* n, const yaml_event_t& e, const yaml_char_t* anchor);
  bool Attach(const Node* n, uint64_t weight, const yaml_mark_t& m, bool counted = false);
  void FinishMapping(Node* map);

  Document& doc_;
  Diagnostics& diags_;
  const ParseLimits& limits_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, const Node*> anchors_;
  std::unordered_map<const Node*, uint64_t> anchored_weight_;  // expanded size of anchored nodes
  uint64_t expanded_ = 0;
  int documents_ = 0;
};

bool Builder::Start(Node* n, const yaml_event_t& e, const yaml_char_t* anchor) {
  n->line = static_cast<uint32_t>(e.start_mark.line + 1);
  n->col = static_cast<uint32_t>(e.start_mark.column + 1);
  if (anchor != nullptr) {
    // The weight is filled in when the node is finished.
    anchors_[reinterpret_cast<const char*>(anchor)] = n;
    anchored_weight_[n] = 1;
  }
  return true;
}

bool Builder::Attach(const Node* n, uint64_t weight, const yaml_mark_t& m, bool counted) {
  // A finished collection's nodes were counted as they were attached; aliases and scalars are new.
  expanded_ = AddSat(expanded_, counted ? 1 : weight);
  if (expanded_ > limits_.max_expanded_nodes) {
    return Error(m,
                 fmt::format("document expands to more than {} nodes through aliases",
                             limits_.max_expanded_nodes),
                 "an alias bomb? write the repeated parts out, or reference fewer large anchors");
  }
  if (stack_.empty()) {
    doc_.set_root(n);
    return true;
  }
  Frame& top = stack_.back();
  top.node->children.push_back(n);
  top.weight = AddSat(top.weight, weight);
  return true;
}

// Applies merge keys and removes duplicate keys, PyYAML-style: merged entries come first (an earlier
// merge source wins over a later one), the mapping's own entries override them, and of two own
// entries with the same key the last wins.
void Builder::FinishMapping(Node* map) {
  std::vector<const Node*> own;
  std::vector<const Node*> sources;
  bool merge_seen = false;
  for (size_t i = 0; i + 1 < map->children.size(); i += 2) {
    const Node* k = map->children[i];
    const Node* v = map->children[i + 1];
    if (!IsMergeKey(k)) {
      own.push_back(k);
      own.push_back(v);
      continue;
    }
    merge_seen = true;
    if (v->is_mapping()) {
      sources.push_back(v);
    } else if (v->is_sequence() &&
               std::all_of(v->children.begin(), v->children.end(),
                           [](const Node* s) { return s->is_mapping(); })) {
      sources.insert(sources.end(), v->children.begin(), v->children.end());
    } else {
      diags_.Error(doc_.Loc(v), "a merge key `<<` needs a mapping or a list of mappings",
                   "write `<<: *anchor` where the anchor names a mapping");
    }
  }
  if (!merge_seen && own.size() <= 32) {
    // Small mappings (nearly all of them) are checked without allocating an index.
    bool duplicate = false;
    for (size_t i = 0; i < own.size() && !duplicate; i += 2) {
      for (size_t j = i + 2; j < own.size(); j += 2) {
        if (own[i]->text == own[j]->text) {
          duplicate = true;
          break;
        }
      }
    }
    if (!duplicate) return;
  }

  std::vector<const Node*> out;
  out.reserve(own.size());
  std::unordered_map<std::string_view, size_t> index;  // key text -> position in `out`
  std::vector<bool> from_own;
  auto put = [&](const Node* k, const Node* v, bool is_own) {
    auto [it, inserted] = index.emplace(k->text, out.size());
    if (inserted) {
      out.push_back(k);
      out.push_back(v);
      from_own.push_back(is_own);
      return;
    }
    if (!is_own) return;  // an earlier merge source already gave this key
    size_t at = it->second;
    if (from_own[at / 2]) {
      diags_.Warning(doc_.Loc(k), fmt::format("duplicate key `{}`: the last value is used", k->text),
                     fmt::format("the first `{}` is at line {}", k->text, out[at]->line));
    }
    out[at + 1] = v;
    from_own[at / 2] = true;
  };
  for (const Node* src : sources) {
    expanded_ = AddSat(expanded_, src->children.size());
    for (size_t i = 0; i + 1 < src->children.size(); i += 2) {
      put(src->children[i], src->children[i + 1], false);
    }
  }
  for (size_t i = 0; i + 1 < own.size(); i += 2) put(own[i], own[i + 1], true);
  map->children = std::move(out);
}

// The tags PyYAML's safe_load constructs (Azure ML loads files with it); anything else, such as
// `!!python/object/apply:os.system`, it refuses, and so does weft.
bool SafeTag(const yaml_char_t* tag) {
  if (tag == nullptr) return true;
  std::string_view t = reinterpret_cast<const char*>(tag);
  if (t == "!") return true;  // the non-specific tag of a quoted scalar
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  if (t.rfind(kCore, 0) != 0) return false;
  t.remove_prefix(kCore.size());
  for (std::string_view ok : {"str", "int", "float", "bool", "null", "seq", "map", "binary",
                              "timestamp", "omap", "pairs", "set", "merge"}) {
    if (t == ok) return true;
  }
  return false;
}

bool Builder::Handle(const yaml_event_t& e) {
  const yaml_char_t* tag = e.type == YAML_SCALAR_EVENT           ? e.data.scalar.tag
                           : e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.tag
                           : e.type == YAML_MAPPING_START_EVENT  ? e.data.mapping_start.tag
                                                                 : nullptr;
  if (!SafeTag(tag)) {
    std::string shown = reinterpret_cast<const char*>(tag);
    if (shown.rfind("tag:yaml.org,2002:", 0) == 0) shown = "!!" + shown.substr(18);
    return Error(e.start_mark, fmt::format("the tag `{}` is not allowed", shown),
                 "Azure ML reads pipeline files with PyYAML's safe_load, which builds only plain "
                 "values; remove the tag");
  }
  switch (e.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++documents_ > 1) {
        return Error(e.start_mark, "the file holds more than one YAML document",
                     "a pipeline file is a single document; remove the `---` separator");
      }
      return true;
    case YAML_SCALAR_EVENT: {
      Node* n = doc_.NewNode();
      Start(n, e, e.data.scalar.anchor);
      n->kind = Kind::kScalar;
      n->style = StyleOf(e.data.scalar.style);
      n->text.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
      if (e.data.scalar.tag != nullptr) n->tag = reinterpret_cast<const char*>(e.data.scalar.tag);
      return Attach(n, 1, e.start_mark);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      if (stack_.size() >= limits_.max_depth) {
        return Error(e.start_mark,
                     fmt::format("nesting deeper than {} levels", limits_.max_depth),
                     "pipeline files need only a few levels; is this file generated by mistake?");
      }
      bool seq = e.type == YAML_SEQUENCE_START_EVENT;
      Node* n = doc_.NewNode();
      Start(n, e, seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor);
      n->kind = seq ? Kind::kSequence : Kind::kMapping;
      const yaml_char_t* tag = seq ? e.data.sequence_start.tag : e.data.mapping_start.tag;
      if (tag != nullptr) n->tag = reinterpret_cast<const char*>(tag);
      stack_.push_back({n, 1});
      return true;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      Frame f = stack_.back();
      stack_.pop_back();
      if (f.node->is_mapping()) FinishMapping(f.node);
      if (auto it = anchored_weight_.find(f.node); it != anchored_weight_.end()) {
        it->second = f.weight;
      }
      return Attach(f.node, f.weight, e.end_mark, /*counted=*/true);
    }
    case YAML_ALIAS_EVENT: {
      std::string name = reinterpret_cast<const char*>(e.data.alias.anchor);
      auto it = anchors_.find(name);
      if (it == anchors_.end()) {
        return Error(e.start_mark, fmt::format("alias `*{}` refers to no anchor", name),
                     fmt::format("define `&{}` before using it", name));
      }
      const Node* target = it->second;
      bool open = std::any_of(stack_.begin(), stack_.end(),
                              [&](const Frame& f) { return f.node == target; });
      if (open) {
        return Error(e.start_mark, fmt::format("alias `*{}` refers to a node that contains it", name),
                     "recursive structures cannot describe a pipeline");
      }
      return Attach(target, anchored_weight_[target], e.start_mark);
    }
    default:
      return true;
  }
}

}  // namespace

std::unique_ptr<Document> Parse(std::string file, std::string_view text, Diagnostics& diags,
                                const ParseLimits& limits) {
  auto doc = std::make_unique<Document>(std::move(file));
  size_t errors_before = diags.error_count();
  yaml_parser_t parser;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  Builder builder(*doc, diags, limits);
  bool ok = true;
  while (ok) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) {
      std::string problem = parser.problem != nullptr ? parser.problem : "invalid YAML";
      std::string hint = "check indentation (spaces, not tabs), quotes and brackets near here";
      if (parser.context != nullptr) {
        problem = fmt::format("{} {}", parser.context, problem);
        const yaml_mark_t& c = parser.context_mark;
        hint = fmt::format("{} (it began at line {}, column {})", hint, c.line + 1, c.column + 1);
      }
      const yaml_mark_t& m = parser.problem_mark;
      diags.Error(doc->Loc(m.line + 1, m.column + 1), "YAML syntax: " + problem, hint);
      ok = false;
      break;
    }
    bool end = event.type == YAML_STREAM_END_EVENT;
    ok = builder.Handle(event);
    yaml_event_delete(&event);
    if (end) break;
  }
  yaml_parser_delete(&parser);
  if (!ok || diags.error_count() > errors_before) return nullptr;
  return doc;
}

}  // namespace weft::yaml
