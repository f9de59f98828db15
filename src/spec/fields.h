// Typed access to the fields of a YAML mapping, with located errors and unknown-key warnings.
//
// Every parser in spec/ reads a mapping through a Fields object: each accessor marks its key as
// known and reports a wrong type at the value's line and column; Finish() then warns about every key
// nobody asked for (Azure keeps unknown keys, so weft warns and goes on).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "base/what.h"
#include "spec/literal.h"
#include "spec/yaml.h"

namespace weft::spec {

// Where a parser reads from: the document (for locations) and the diagnostics sink.
struct Source {
  const yaml::Document& doc;
  Diagnostics& diags;
  std::string dir;  // absolute folder of the document; relative paths resolve against it

  SourceLoc Loc(const yaml::Node* n) const { return doc.Loc(n); }
  const std::string& Dir() const { return dir; }
};

// A Source for `doc`, with its absolute folder.
Source MakeSource(const yaml::Document& doc, Diagnostics& diags);

// "a mapping", "a list", "a string", ... for messages.
std::string Describe(const yaml::Node* n);

class Fields {
 public:
  // `map` may be any node; if it is not a mapping an error is reported once and every accessor
  // returns nothing. `what` names the object in messages ("command component"); `owner` is where a
  // missing required field is reported (usually the key that holds this mapping).
  Fields(const Source& src, const yaml::Node* map, What what, SourceLoc owner);

  bool valid() const { return map_ != nullptr; }
  const Source& source() const { return src_; }

  // The value under `key` (marking it known), or nullptr. A required key that is missing is an error.
  const yaml::Node* Get(std::string_view key, bool required = false);
  // Marks keys as known without reading them (fields that are output-only or have no local meaning).
  void Ignore(std::initializer_list<std::string_view> keys);

  std::optional<std::string> String(std::string_view key, bool required = false);
  // Like String but numbers are accepted and stringified (`version: 1`).
  std::optional<std::string> Version(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  std::optional<int64_t> Int(std::string_view key, std::optional<int64_t> min = std::nullopt);
  std::optional<double> Number(std::string_view key);
  // A list of strings, or a single string taken as a one-element list.
  std::vector<std::string> StringList(std::string_view key);
  // A mapping of string to string (tags, environment variables); non-string values are rendered
  // the way Python's str() would and warned about.
  std::vector<std::pair<std::string, std::string>> StringMap(std::string_view key);

  // Warns about every key that no accessor asked for.
  void Finish();

 private:
  const Source& src_;
  const yaml::Node* map_;
  What what_;
  SourceLoc owner_;
  std::vector<bool> known_;
  std::vector<std::string_view> asked_;  // every key looked up (literals), for "did you mean"
};

// Scalar conversions with located errors; nullopt after reporting.
std::optional<std::string> ScalarString(const Source& src, const yaml::Node* n, const What& what);
std::optional<Literal> ScalarLiteral(const Source& src, const yaml::Node* n, const What& what);

// Levenshtein distance, for "did you mean" hints (long strings count as far apart).
size_t EditDistance(std::string_view a, std::string_view b);

// The location `offset` bytes into scalar `n` when the scalar sits on one line; else the scalar's
// own location.
SourceLoc LocInScalar(const Source& src, const yaml::Node* n, size_t offset);

}  // namespace weft::spec
