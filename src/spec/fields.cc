#include "spec/fields.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::spec {

Source MakeSource(const yaml::Document& doc, Diagnostics& diags) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(DirName(doc.file()), ec);
  return Source{doc, diags, ec ? DirName(doc.file()) : dir.lexically_normal().string()};
}

std::string Describe(const yaml::Node* n) {
  if (n == nullptr) return "nothing";
  switch (n->kind) {
    case yaml::Kind::kMapping:
      return "a mapping";
    case yaml::Kind::kSequence:
      return "a list";
    case yaml::Kind::kScalar:
      break;
  }
  std::string err;
  std::optional<Literal> v = ScalarValue(*n, &err);
  if (!v) return "an unreadable value";
  switch (v->kind) {
    case LiteralKind::kNull:
      return "an empty value";
    case LiteralKind::kString:
      return fmt::format("the string `{}`", v->s.size() > 60 ? v->s.substr(0, 57) + "..." : v->s);
    default:
      return fmt::format("the {} `{}`", v->KindName(), v->Render());
  }
}

std::optional<Literal> ScalarLiteral(const Source& src, const yaml::Node* n, const What& what) {
  if (!n->is_scalar()) {
    src.diags.Error(src.Loc(n), fmt::format("{} must be a single value, not {}", what.str(), Describe(n)));
    return std::nullopt;
  }
  std::string err;
  std::optional<Literal> v = ScalarValue(*n, &err);
  if (!v) src.diags.Error(src.Loc(n), fmt::format("cannot read {}: {}", what.str(), err));
  return v;
}

std::optional<std::string> ScalarString(const Source& src, const yaml::Node* n,
                                        const What& what) {
  std::optional<Literal> v = ScalarLiteral(src, n, what);
  if (!v) return std::nullopt;
  if (v->kind != LiteralKind::kString) {
    src.diags.Error(src.Loc(n), fmt::format("{} must be a string, not {}", what.str(), Describe(n)),
                    fmt::format("quote it: \"{}\"", n->text));
    return std::nullopt;
  }
  return std::move(v->s);
}

SourceLoc LocInScalar(const Source& src, const yaml::Node* n, size_t offset) {
  SourceLoc at = src.Loc(n);
  bool one_line = n->text.find('\n') == std::string::npos;
  if (!one_line || n->style == yaml::Style::kLiteral || n->style == yaml::Style::kFolded) {
    return at;
  }
  bool quoted = n->style == yaml::Style::kSingleQuoted || n->style == yaml::Style::kDoubleQuoted;
  at.col += static_cast<uint32_t>(offset) + (quoted ? 1 : 0);
  return at;
}

Fields::Fields(const Source& src, const yaml::Node* map, What what, SourceLoc owner)
    : src_(src), map_(map), what_(std::move(what)), owner_(owner) {
  if (map_ != nullptr && !map_->is_mapping()) {
    src_.diags.Error(src_.Loc(map_), fmt::format("{} must be a mapping, not {}", what_.str(),
                                                 Describe(map_)));
    map_ = nullptr;
  }
  if (map_ != nullptr) known_.assign(map_->entry_count(), false);
}

const yaml::Node* Fields::Get(std::string_view key, bool required) {
  if (map_ == nullptr) return nullptr;
  asked_.emplace_back(key);
  for (size_t i = 0; i < map_->entry_count(); ++i) {
    if (map_->key(i)->is_scalar() && map_->key(i)->text == key) {
      known_[i] = true;
      return map_->value(i);
    }
  }
  if (required) {
    src_.diags.Error(owner_, fmt::format("{} has no `{}`", what_.str(), key),
                     fmt::format("add `{}:`; it is required", key));
  }
  return nullptr;
}

void Fields::Ignore(std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) Get(k);
}

std::optional<std::string> Fields::String(std::string_view key, bool required) {
  const yaml::Node* n = Get(key, required);
  if (n == nullptr) return std::nullopt;
  if (n->is_null()) {
    if (required) {
      src_.diags.Error(src_.Loc(n), fmt::format("`{}` of {} is empty", key, what_.str()),
                       "give it a value");
    }
    return std::nullopt;
  }
  return ScalarString(src_, n, What("`{}`", key));
}

std::optional<std::string> Fields::Version(std::string_view key) {
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return std::nullopt;
  std::optional<Literal> v = ScalarLiteral(src_, n, What("`{}`", key));
  if (!v) return std::nullopt;
  return v->Render();
}

std::optional<bool> Fields::Bool(std::string_view key) {
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return std::nullopt;
  std::optional<Literal> v = ScalarLiteral(src_, n, What("`{}`", key));
  if (!v) return std::nullopt;
  if (v->kind == LiteralKind::kBool) return v->b;
  if (v->kind == LiteralKind::kString && (v->s == "true" || v->s == "false" || v->s == "True" ||
                                          v->s == "False")) {
    src_.diags.Warning(src_.Loc(n), fmt::format("`{}` is the string \"{}\"; read as a boolean", key,
                                                v->s),
                       "write it without quotes");
    return v->s == "true" || v->s == "True";
  }
  src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be true or false, not {}", key, Describe(n)));
  return std::nullopt;
}

std::optional<int64_t> Fields::Int(std::string_view key, std::optional<int64_t> min) {
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return std::nullopt;
  std::optional<Literal> v = ScalarLiteral(src_, n, What("`{}`", key));
  if (!v) return std::nullopt;
  std::optional<int64_t> i;
  if (v->kind == LiteralKind::kInt) {
    i = AsInteger(*v);
  } else if (v->kind == LiteralKind::kString) {
    i = AsInteger(*v);
    if (i && std::to_string(*i) == v->s) {
      src_.diags.Warning(src_.Loc(n), fmt::format("`{}` is the string \"{}\"; read as an integer",
                                                  key, v->s));
    } else {
      i.reset();
    }
  }
  if (!i) {
    src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be an integer, not {}", key, Describe(n)));
    return std::nullopt;
  }
  if (min && *i < *min) {
    src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be at least {}, not {}", key, *min, *i));
    return std::nullopt;
  }
  return i;
}

std::optional<double> Fields::Number(std::string_view key) {
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return std::nullopt;
  std::optional<Literal> v = ScalarLiteral(src_, n, What("`{}`", key));
  if (!v) return std::nullopt;
  if (v->kind == LiteralKind::kInt || v->kind == LiteralKind::kFloat) return AsNumber(*v);
  if (v->kind == LiteralKind::kString) {
    if (std::optional<double> d = PythonFloat(v->s)) {
      src_.diags.Warning(src_.Loc(n), fmt::format("`{}` is the string \"{}\"; read as a number",
                                                  key, v->s));
      return d;
    }
  }
  src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be a number, not {}", key, Describe(n)));
  return std::nullopt;
}

std::vector<std::string> Fields::StringList(std::string_view key) {
  std::vector<std::string> out;
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return out;
  if (n->is_scalar()) {
    if (auto s = ScalarString(src_, n, What("`{}`", key))) out.push_back(*s);
    return out;
  }
  if (!n->is_sequence()) {
    src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be a list of strings, not {}", key,
                                              Describe(n)));
    return out;
  }
  for (const yaml::Node* item : n->children) {
    if (auto s = ScalarString(src_, item, What("an item of `{}`", key))) out.push_back(*s);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Fields::StringMap(std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  const yaml::Node* n = Get(key);
  if (n == nullptr || n->is_null()) return out;
  if (!n->is_mapping()) {
    src_.diags.Error(src_.Loc(n), fmt::format("`{}` must be a mapping of names to values, not {}",
                                              key, Describe(n)));
    return out;
  }
  for (size_t i = 0; i < n->entry_count(); ++i) {
    const yaml::Node* k = n->key(i);
    const yaml::Node* v = n->value(i);
    if (!k->is_scalar()) {
      src_.diags.Error(src_.Loc(k), fmt::format("keys of `{}` must be names", key));
      continue;
    }
    std::optional<Literal> lit = ScalarLiteral(src_, v, What("`{}.{}`", key, k->text));
    if (!lit) continue;
    if (lit->kind != LiteralKind::kString) {
      src_.diags.Warning(src_.Loc(v),
                         fmt::format("`{}.{}` is {}; it is passed as the string \"{}\"", key,
                                     k->text, Describe(v), lit->Render()),
                         "quote the value to make that explicit");
    }
    out.emplace_back(k->text, lit->kind == LiteralKind::kNull ? "" : lit->Render());
  }
  return out;
}

void Fields::Finish() {
  if (map_ == nullptr) return;
  for (size_t i = 0; i < map_->entry_count(); ++i) {
    if (known_[i]) continue;
    const yaml::Node* k = map_->key(i);
    std::string hint = "Azure ML keeps unknown keys too; check the spelling";
    for (std::string_view candidate : asked_) {
      if (EditDistance(k->text, candidate) <= 2) {
        hint = fmt::format("did you mean `{}`?", candidate);
        break;
      }
    }
    src_.diags.Warning(src_.Loc(k), fmt::format("unknown key `{}` in {} is ignored", k->text, what_.str()),
                       hint);
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return a == b ? 0 : 64;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace weft::spec
