// Expressions in pipeline text: `${{ path }}` references and `$[[ ... ]]` optional segments.
//
// Scanning is purely textual; what a reference means (and whether it is allowed where it appears)
// is decided by the caller: spec/ checks a command against its component's ports, graph/ resolves
// node inputs against the enclosing pipeline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::spec {

// What a `${{...}}` names.
enum class RefKind {
  kInputs,          // inputs.X              (a command's own input; legacy: the parent's input)
  kOutputs,         // outputs.Y             (a command's own output; legacy: the parent's output)
  kParentInputs,    // parent.inputs.X
  kParentOutputs,   // parent.outputs.Y
  kJobOutput,       // parent.jobs.S.outputs.Y  (legacy: jobs.S.outputs.Y)
  kJobInput,        // parent.jobs.S.inputs.X   (legacy: jobs.S.inputs.X)
  kName,            // name
  kDefaultDatastore,  // default_datastore
  kOutputName,      // output_name
  kSearchSpace,     // search_space.H
  kUnknown,
};

struct Ref {
  size_t begin = 0;  // offset of `${{` in the scanned text
  size_t end = 0;    // offset just past `}}`
  std::string path;  // the dotted path, spaces trimmed
  RefKind kind = RefKind::kUnknown;
  bool legacy = false;  // jobs.* without `parent.`
  std::string job;      // kJobOutput, kJobInput
  std::string port;     // the last segment: X, Y or H
};

// `$[[ ... ]]`: text kept only when the optional inputs it mentions have values.
struct OptionalSegment {
  size_t begin = 0;  // offset of `$[[`
  size_t end = 0;    // offset just past `]]`
};

struct Template {
  std::vector<Ref> refs;
  std::vector<OptionalSegment> optionals;

  // True when the whole text is exactly one reference (surrounding spaces allowed).
  bool IsSingleRef(std::string_view text) const;
};

struct ScanError {
  size_t offset;
  std::string message;
  std::string hint;
};

// Finds every reference and optional segment in `text`. Problems (an unterminated `${{`, an empty
// or malformed path, nested `$[[`) are appended to `errors`; scanning goes on past them.
Template Scan(std::string_view text, std::vector<ScanError>* errors);

// Classifies a dotted path ("parent.jobs.train.outputs.model").
Ref ClassifyPath(std::string path);

// True if `text` contains `${{` at all (a cheap test before scanning).
inline bool HasExpression(std::string_view text) {
  return text.find("${{") != std::string_view::npos;
}

// The text with optional segments applied: a segment whose references all satisfy `has_value`
// keeps its inner text (brackets removed); otherwise it is dropped.
template <typename HasValue>
std::string ApplyOptionals(std::string_view text, const Template& t, HasValue has_value);

}  // namespace weft::spec

#include "spec/expr_inl.h"
