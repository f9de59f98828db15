// Literal values with YAML 1.1 meaning and Azure ML's rendering.
//
// Azure ML loads YAML with PyYAML's safe_load (YAML 1.1), so `yes` is a boolean, `1e-3` (no dot) is a
// string, `01` is 1 (octal) and `1_000` is 1000. A literal input reaches the command as Python's
// str(value): `True`, `20`, `0.001`, `1e-3`. This file reproduces both rules exactly, and Azure's
// typed readings of a value: integer = int(float(v)), number = float(v), boolean = str(v).lower() ==
// "true".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "spec/yaml.h"

namespace weft {

enum class LiteralKind { kNull, kBool, kInt, kFloat, kString, kTimestamp };

struct Literal {
  LiteralKind kind = LiteralKind::kNull;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  // kString: the string. kInt: the decimal digits (exact even beyond 64 bits). kTimestamp: the
  // rendered form. Otherwise empty.
  std::string s;

  static Literal String(std::string v) {
    Literal l;
    l.kind = LiteralKind::kString;
    l.s = std::move(v);
    return l;
  }
  static Literal Bool(bool v) {
    Literal l;
    l.kind = LiteralKind::kBool;
    l.b = v;
    return l;
  }
  static Literal Int(int64_t v);
  static Literal Float(double v) {
    Literal l;
    l.kind = LiteralKind::kFloat;
    l.f = v;
    return l;
  }

  // Python's str(value).
  std::string Render() const;
  // "null", "boolean", "integer", "number", "string" or "timestamp".
  const char* KindName() const;
  bool operator==(const Literal& o) const { return kind == o.kind && Render() == o.Render(); }
};

// Resolves a plain scalar's text by YAML 1.1 implicit typing (PyYAML's resolver and constructor).
// Returns nullopt when the text looks like a value but cannot be constructed (a timestamp with
// month 13), which PyYAML also refuses.
std::optional<Literal> ResolvePlain(std::string_view text);

// The value of a scalar node: plain scalars are resolved, quoted and block scalars are strings,
// explicit standard tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`) are honoured. Returns nullopt
// with `error` set when the scalar cannot be read (an unknown tag, `!!int abc`).
std::optional<Literal> ScalarValue(const yaml::Node& n, std::string* error);

// Azure's typed readings; nullopt when Python would raise.
std::optional<double> PythonFloat(std::string_view text);
std::optional<double> AsNumber(const Literal& v);
std::optional<int64_t> AsInteger(const Literal& v);
bool AsBoolean(const Literal& v);

// Python's repr of a float: shortest round-trip digits, exponent form outside 1e-4 <= |v| < 1e16.
std::string PythonFloatRepr(double v);

}  // namespace weft
