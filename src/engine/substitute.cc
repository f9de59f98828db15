#include "engine/substitute.h"

namespace weft::engine {
namespace {

std::string SingleQuoted(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string QuoteFor(std::string_view value, QuoteContext context) {
  std::string out;
  switch (context) {
    case QuoteContext::kBare: {
      size_t i = 0;
      while (i < value.size()) {
        while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
        size_t start = i;
        while (i < value.size() && !std::isspace(static_cast<unsigned char>(value[i]))) ++i;
        if (i > start) {
          if (!out.empty()) out += ' ';
          out += SingleQuoted(value.substr(start, i - start));
        }
      }
      return out;
    }
    case QuoteContext::kDouble:
      for (char c : value) {
        if (c == '\\' || c == '"' || c == '$' || c == '`') out += '\\';
        out += c;
      }
      return out;
    case QuoteContext::kSingle:
      for (char c : value) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      return out;
  }
  return out;
}

std::string Substitute(std::string_view command, const ValueOf& value_of) {
  std::vector<spec::ScanError> errors;
  spec::Template t = spec::Scan(command, &errors);
  auto has_value = [&](const spec::Ref& r) {
    if (r.kind != spec::RefKind::kInputs && r.kind != spec::RefKind::kOutputs) return true;
    return value_of(r.kind, r.port).has_value();
  };
  std::string text = spec::ApplyOptionals(command, t, has_value);
  t = spec::Scan(text, &errors);
  // Walk the text once, tracking bash's quoting state, replacing references as they come.
  std::string out;
  QuoteContext state = QuoteContext::kBare;
  size_t next_ref = 0;
  for (size_t i = 0; i < text.size();) {
    if (next_ref < t.refs.size() && i == t.refs[next_ref].begin) {
      const spec::Ref& r = t.refs[next_ref++];
      if (r.kind == spec::RefKind::kInputs || r.kind == spec::RefKind::kOutputs) {
        std::optional<std::string> v = value_of(r.kind, r.port);
        out += QuoteFor(v.value_or(""), state);
      } else {
        out.append(text, r.begin, r.end - r.begin);
      }
      i = r.end;
      continue;
    }
    char c = text[i];
    out += c;
    ++i;
    switch (state) {
      case QuoteContext::kBare:
        if (c == '\\' && i < text.size()) {
          out += text[i++];
        } else if (c == '\'') {
          state = QuoteContext::kSingle;
        } else if (c == '"') {
          state = QuoteContext::kDouble;
        }
        break;
      case QuoteContext::kDouble:
        if (c == '\\' && i < text.size()) {
          out += text[i++];
        } else if (c == '"') {
          state = QuoteContext::kBare;
        }
        break;
      case QuoteContext::kSingle:
        if (c == '\'') state = QuoteContext::kBare;
        break;
    }
  }
  return out;
}

}  // namespace weft::engine
