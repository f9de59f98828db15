// Turning a component's command template into the text that bash runs.
//
// Azure pastes values raw. weft gives the same argv for every value without shell
// metacharacters, and never lets a value's content become shell syntax:
//   - unquoted `${{inputs.x}}` of a literal: the value's whitespace-separated words, each
//     single-quoted (so a published component may still pass `--epochs 5 --lr 0.1` through one
//     input);
//   - unquoted `${{inputs.x}}` / `${{outputs.y}}` of a path (a data input, an output, anything weft
//     places on disk): exactly one single-quoted word, whatever the path holds (spaces, quotes,
//     `$`, newlines, a leading `-`);
//   - inside "...": one word, with \ " $ ` escaped;
//   - inside '...': one word, each ' written as '\''.
// `$[[...]]` segments are kept or dropped first, by whether their inputs have values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "spec/expr.h"

namespace weft::engine {

// What a reference stands for: literal text, or a path that must stay one word.
struct Value {
  std::string text;
  bool path = false;
};

// The value of `${{inputs.NAME}}` / `${{outputs.NAME}}` (kind is kInputs or kOutputs), or nullopt
// when it has none.
using ValueOf = std::function<std::optional<Value>(spec::RefKind kind, const std::string& name)>;

// Renders `command`. References other than inputs and outputs (already refused by validation) are
// left as written.
std::string Substitute(std::string_view command, const ValueOf& value_of);

// Quotes one value for the given context (exposed for tests).
enum class QuoteContext { kBare, kDouble, kSingle };
std::string QuoteFor(const Value& value, QuoteContext context);

}  // namespace weft::engine
