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

std::string QuoteFor(const Value& v, QuoteContext context) {
  std::string_view value = v.text;
  std::string out;
  switch (context) {
    case QuoteContext::kBare: {
      if (v.path) return SingleQuoted(value);
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

namespace {

// Where bash is while reading the command: a stack, since `$(...)` and backquotes start a new
// command inside quotes, and quotes start again inside them.
enum class Frame { kBare, kDouble, kSingle, kSubst, kBackquote };

struct Quoting {
  std::vector<std::pair<Frame, int>> stack = {{Frame::kBare, 0}};  // frame, open parentheses

  Frame top() const { return stack.back().first; }
  void Push(Frame f) { stack.emplace_back(f, 0); }
  void Pop() {
    if (stack.size() > 1) stack.pop_back();
  }

  // Reads text[i] (and what it escapes), copying it to `out`; returns the index after it.
  size_t Step(std::string_view text, size_t i, std::string& out) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    out += c;
    if (top() == Frame::kSingle) {
      if (c == '\'') Pop();
      return i + 1;
    }
    if (c == '\\' && i + 1 < text.size()) {
      out += next;
      return i + 2;
    }
    if (c == '$' && next == '(') {
      out += next;
      Push(Frame::kSubst);
      return i + 2;
    }
    if (c == '`') {
      if (top() == Frame::kBackquote) {
        Pop();
      } else {
        Push(Frame::kBackquote);
      }
      return i + 1;
    }
    if (top() == Frame::kDouble) {
      if (c == '"') Pop();
      return i + 1;
    }
    if (c == '\'') {
      Push(Frame::kSingle);
    } else if (c == '"') {
      Push(Frame::kDouble);
    } else if (top() == Frame::kSubst && c == '(') {
      ++stack.back().second;
    } else if (top() == Frame::kSubst && c == ')') {
      if (stack.back().second-- == 0) Pop();
    }
    return i + 1;
  }

  // `v` written so that bash, reading it here, sees exactly its text.
  std::string Quote(const Value& v) const {
    QuoteContext context = top() == Frame::kDouble   ? QuoteContext::kDouble
                           : top() == Frame::kSingle ? QuoteContext::kSingle
                                                     : QuoteContext::kBare;
    std::string q = QuoteFor(v, context);
    // Bash reads what is between backquotes once more after removing a backslash before \, `
    // and $: each enclosing pair of backquotes needs one more level of escaping.
    for (const auto& [frame, depth] : stack) {
      if (frame != Frame::kBackquote) continue;
      std::string escaped;
      for (char c : q) {
        if (c == '\\' || c == '`') escaped += '\\';
        escaped += c;
      }
      q = std::move(escaped);
    }
    return q;
  }
};

// The references a command's values replace: its inputs, its outputs, and a sweep trial's
// hyperparameters.
bool Substituted(spec::RefKind kind) {
  return kind == spec::RefKind::kInputs || kind == spec::RefKind::kOutputs ||
         kind == spec::RefKind::kSearchSpace;
}

}  // namespace

std::string Substitute(std::string_view command, const ValueOf& value_of) {
  std::vector<spec::ScanError> errors;
  spec::Template t = spec::Scan(command, &errors);
  auto has_value = [&](const spec::Ref& r) {
    if (!Substituted(r.kind)) return true;
    return value_of(r.kind, r.port).has_value();
  };
  std::string text = spec::ApplyOptionals(command, t, has_value);
  t = spec::Scan(text, &errors);
  // Walk the text once, tracking bash's quoting state, replacing references as they come.
  std::string out;
  Quoting quoting;
  size_t next_ref = 0;
  for (size_t i = 0; i < text.size();) {
    if (next_ref < t.refs.size() && i == t.refs[next_ref].begin) {
      const spec::Ref& r = t.refs[next_ref++];
      if (Substituted(r.kind)) {
        std::optional<Value> v = value_of(r.kind, r.port);
        out += quoting.Quote(v.value_or(Value{}));
      } else {
        out.append(text, r.begin, r.end - r.begin);
      }
      i = r.end;
      continue;
    }
    i = quoting.Step(text, i, out);
  }
  return out;
}

}  // namespace weft::engine
