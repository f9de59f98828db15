#include "spec/expr.h"

#include <fmt/format.h>

namespace weft::spec {
namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                                      : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

bool Template::IsSingleRef(std::string_view text) const {
  if (refs.size() != 1 || !optionals.empty()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i >= refs[0].begin && i < refs[0].end) continue;
    if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n') return false;
  }
  return true;
}

Ref ClassifyPath(std::string path) {
  Ref r;
  r.path = std::move(path);
  std::vector<std::string_view> p = Split(r.path);
  size_t n = p.size();
  auto is = [&](size_t i, const char* s) { return i < n && p[i] == s; };
  if (n == 1 && p[0] == "name") {
    r.kind = RefKind::kName;
  } else if (n == 1 && p[0] == "default_datastore") {
    r.kind = RefKind::kDefaultDatastore;
  } else if (n == 1 && p[0] == "output_name") {
    r.kind = RefKind::kOutputName;
  } else if (n == 2 && is(0, "inputs")) {
    r.kind = RefKind::kInputs;
  } else if (n == 2 && is(0, "outputs")) {
    r.kind = RefKind::kOutputs;
  } else if (n == 2 && is(0, "search_space")) {
    r.kind = RefKind::kSearchSpace;
  } else if (n == 3 && is(0, "parent") && is(1, "inputs")) {
    r.kind = RefKind::kParentInputs;
  } else if (n == 3 && is(0, "parent") && is(1, "outputs")) {
    r.kind = RefKind::kParentOutputs;
  } else if (n == 5 && is(0, "parent") && is(1, "jobs") && (is(3, "outputs") || is(3, "inputs"))) {
    r.kind = is(3, "outputs") ? RefKind::kJobOutput : RefKind::kJobInput;
    r.job = p[2];
  } else if (n == 4 && is(0, "jobs") && (is(2, "outputs") || is(2, "inputs"))) {
    r.kind = is(2, "outputs") ? RefKind::kJobOutput : RefKind::kJobInput;
    r.job = p[1];
    r.legacy = true;
  }
  bool has_port = r.kind != RefKind::kUnknown && r.kind != RefKind::kName &&
                  r.kind != RefKind::kDefaultDatastore && r.kind != RefKind::kOutputName;
  if (has_port) r.port = p.back();
  return r;
}

Template Scan(std::string_view text, std::vector<ScanError>* errors) {
  Template t;
  size_t open_optional = std::string_view::npos;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$[[") == 0) {
      if (open_optional != std::string_view::npos) {
        errors->push_back({i, "`$[[` inside another `$[[ ... ]]`", "optional segments cannot nest"});
      }
      open_optional = i;
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "]]") == 0 && open_optional != std::string_view::npos) {
      t.optionals.push_back({open_optional, i + 2});
      open_optional = std::string_view::npos;
      i += 2;
      continue;
    }
    if (text.compare(i, 3, "${{") != 0) {
      ++i;
      continue;
    }
    size_t close = text.find("}}", i + 3);
    if (close == std::string_view::npos) {
      errors->push_back({i, "`${{` is never closed", "write `${{inputs.name}}`"});
      break;
    }
    std::string_view inner = text.substr(i + 3, close - i - 3);
    size_t a = inner.find_first_not_of(" \t");
    size_t z = inner.find_last_not_of(" \t");
    std::string path = a == std::string_view::npos ? "" : std::string(inner.substr(a, z - a + 1));
    bool well_formed = !path.empty() && path.front() != '.' && path.back() != '.' &&
                       path.find("..") == std::string::npos;
    for (char c : path) {
      if (!IsIdentChar(c) && c != '.') well_formed = false;
    }
    if (!well_formed) {
      errors->push_back({i, fmt::format("malformed expression `${{{{{}}}}}`", inner),
                         "an expression is a dotted path such as `${{parent.inputs.data}}`"});
    } else {
      Ref r = ClassifyPath(path);
      r.begin = i;
      r.end = close + 2;
      t.refs.push_back(std::move(r));
    }
    i = close + 2;
  }
  if (open_optional != std::string_view::npos) {
    errors->push_back({open_optional, "`$[[` is never closed with `]]`",
                       "write `$[[--flag ${{inputs.optional_input}}]]`"});
  }
  return t;
}

}  // namespace weft::spec
