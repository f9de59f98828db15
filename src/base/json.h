// A small JSON value for weft's machine-readable output (`--json`, `weft graph --format json`).
//
// Objects keep insertion order, so output is stable and diffable. Serialisation is done by
// nlohmann-json behind this adapter (json.cc is the only file that includes it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace weft {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : v_(nullptr) {}
  Json(std::nullptr_t) : v_(nullptr) {}           // NOLINT
  Json(bool b) : v_(b) {}                          // NOLINT
  Json(int i) : v_(int64_t{i}) {}                  // NOLINT
  Json(int64_t i) : v_(i) {}                       // NOLINT
  Json(uint64_t i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Json(double d) : v_(d) {}                        // NOLINT
  Json(std::string s) : v_(std::move(s)) {}        // NOLINT
  Json(const char* s) : v_(std::string(s)) {}      // NOLINT

  static Json MakeObject() { Json j; j.v_ = Object{}; return j; }
  static Json MakeArray() { Json j; j.v_ = Array{}; return j; }

  // Adds a member to an object (which this must be).
  Json& Set(std::string key, Json value);
  // Appends to an array (which this must be).
  Json& Push(Json value);

  // Serialises; indent < 0 gives one line.
  std::string Dump(int indent = 2) const;
  // Parses one JSON text (duplicate keys: the last wins); nullopt if it is not valid JSON, with
  // `why` (when given) saying what is wrong in a few words.
  static std::optional<Json> Parse(std::string_view text);
  static std::optional<Json> Parse(std::string_view text, std::string* why);

  // Reading: a member of an object (nullptr if absent or not an object), and typed views that are
  // nullptr when the value has another type.
  const Json* Find(std::string_view key) const;
  const std::string* String() const { return std::get_if<std::string>(&v_); }
  const Array* Items() const { return std::get_if<Array>(&v_); }
  const Object* Members() const { return std::get_if<Object>(&v_); }
  bool IsNull() const { return std::holds_alternative<std::nullptr_t>(v_); }
  const int64_t* Int() const { return std::get_if<int64_t>(&v_); }
  const bool* Bool() const { return std::get_if<bool>(&v_); }
  // Integers and floating-point numbers alike.
  std::optional<double> Number() const {
    if (const int64_t* i = Int()) return static_cast<double>(*i);
    if (const double* d = std::get_if<double>(&v_)) return *d;
    return std::nullopt;
  }

  using Variant = std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object>;
  const Variant& variant() const { return v_; }

 private:
  Variant v_;
};

}  // namespace weft
