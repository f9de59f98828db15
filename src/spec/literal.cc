#include "spec/literal.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace weft {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Matchers for PyYAML's implicit resolvers. Each takes the whole text and mirrors one regex.
size_t SkipSign(std::string_view t) { return !t.empty() && (t[0] == '-' || t[0] == '+') ? 1 : 0; }

bool AllOf(std::string_view t, size_t from, bool (*pred)(char)) {
  if (from >= t.size()) return false;
  for (size_t i = from; i < t.size(); ++i) {
    if (!pred(t[i])) return false;
  }
  return true;
}

bool IsBool(std::string_view t, bool* value) {
  static constexpr std::string_view kTrue[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
                                               "on",  "On",  "ON"};
  static constexpr std::string_view kFalse[] = {"no",    "No",    "NO",  "false", "False",
                                                "FALSE", "off",   "Off", "OFF"};
  for (auto w : kTrue) {
    if (t == w) return *value = true, true;
  }
  for (auto w : kFalse) {
    if (t == w) return *value = false, true;
  }
  return false;
}

bool IsNullText(std::string_view t) {
  return t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL";
}

// (?::[0-5]?[0-9])+ starting at `i`.
bool SexagesimalTail(std::string_view t, size_t i) {
  if (i >= t.size()) return false;
  while (i < t.size()) {
    if (t[i] != ':') return false;
    size_t j = i + 1;
    size_t digits = 0;
    while (j < t.size() && IsDigit(t[j]) && digits < 2) ++j, ++digits;
    if (digits == 0) return false;
    if (digits == 2 && t[i + 1] > '5') return false;
    i = j;
  }
  return true;
}

bool IsIntText(std::string_view t) {
  size_t i = SkipSign(t);
  std::string_view b = t.substr(i);
  if (b.empty()) return false;
  auto bin = [](char c) { return c == '0' || c == '1' || c == '_'; };
  auto oct = [](char c) { return (c >= '0' && c <= '7') || c == '_'; };
  auto dec = [](char c) { return IsDigit(c) || c == '_'; };
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  if (b.size() > 2 && b.substr(0, 2) == "0b") return AllOf(b, 2, bin);
  if (b.size() > 2 && b.substr(0, 2) == "0x") return AllOf(b, 2, hex);
  if (b[0] == '0') return b.size() == 1 || AllOf(b, 1, oct);
  if (b[0] < '1' || b[0] > '9') return false;
  size_t j = 1;
  while (j < b.size() && dec(b[j])) ++j;
  return j == b.size() || SexagesimalTail(b, j);
}

// [eE][-+][0-9]+ from `i` to the end.
bool ExponentTail(std::string_view t, size_t i) {
  if (i == t.size()) return true;
  if (t[i] != 'e' && t[i] != 'E') return false;
  if (i + 1 >= t.size() || (t[i + 1] != '-' && t[i + 1] != '+')) return false;
  return AllOf(t, i + 2, [](char c) { return IsDigit(c); });
}

bool IsFloatText(std::string_view t) {
  auto dec = [](char c) { return IsDigit(c) || c == '_'; };
  size_t s = SkipSign(t);
  std::string_view b = t.substr(s);
  if (b == ".inf" || b == ".Inf" || b == ".INF") return true;
  if (t == ".nan" || t == ".NaN" || t == ".NAN") return true;
  if (s == 0 && b.size() >= 2 && b[0] == '.' && IsDigit(b[1])) {
    size_t j = 2;
    while (j < b.size() && dec(b[j])) ++j;
    return ExponentTail(b, j);
  }
  if (b.empty() || !IsDigit(b[0])) return false;
  size_t j = 1;
  while (j < b.size() && dec(b[j])) ++j;
  if (j < b.size() && b[j] == '.') {
    ++j;
    while (j < b.size() && dec(b[j])) ++j;
    return ExponentTail(b, j);
  }
  // [0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
  size_t dot = b.rfind('.');
  if (j < b.size() && b[j] == ':' && dot != std::string_view::npos && dot > j &&
      SexagesimalTail(b.substr(0, dot), j)) {
    for (size_t k = dot + 1; k < b.size(); ++k) {
      if (!dec(b[k])) return false;
    }
    return true;
  }
  return false;
}

std::string StripUnderscores(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (char c : t) {
    if (c != '_') out += c;
  }
  return out;
}

// Decimal digits of an unsigned magnitude held as a string, times `base` plus `digit`.
void MulAdd(std::string& dec, int base, int digit) {
  int carry = digit;
  for (size_t k = dec.size(); k-- > 0;) {
    int v = (dec[k] - '0') * base + carry;
    dec[k] = static_cast<char>('0' + v % 10);
    carry = v / 10;
  }
  while (carry > 0) {
    dec.insert(dec.begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
  size_t nz = dec.find_first_not_of('0');
  dec = nz == std::string::npos ? "0" : dec.substr(nz);
}

Literal ConstructInt(std::string_view text) {
  std::string v = StripUnderscores(text);
  bool neg = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    neg = v[0] == '-';
    v.erase(0, 1);
  }
  std::string dec = "0";
  if (v.find(':') != std::string::npos) {  // sexagesimal: 1:30 = 90
    size_t start = 0;
    while (start <= v.size()) {
      size_t end = v.find(':', start);
      if (end == std::string::npos) end = v.size();
      std::string part = v.substr(start, end - start);
      std::string acc = "0";
      for (char c : part) MulAdd(acc, 10, c - '0');
      MulAdd(dec, 60, 0);
      // dec += acc (acc < 60)
      MulAdd(dec, 1, std::stoi(acc));
      start = end + 1;
    }
  } else {
    int base = 10;
    size_t from = 0;
    if (v.size() > 1 && v[0] == '0' && v[1] == 'b') base = 2, from = 2;
    else if (v.size() > 1 && v[0] == '0' && v[1] == 'x') base = 16, from = 2;
    else if (v.size() > 1 && v[0] == '0') base = 8, from = 1;
    for (size_t k = from; k < v.size(); ++k) {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(v[k])));
      MulAdd(dec, base, IsDigit(c) ? c - '0' : c - 'a' + 10);
    }
  }
  Literal l;
  l.kind = LiteralKind::kInt;
  l.s = (neg && dec != "0" ? "-" : "") + dec;
  int64_t parsed = 0;
  auto [p, ec] = std::from_chars(l.s.data(), l.s.data() + l.s.size(), parsed);
  l.i = ec == std::errc() ? parsed : (neg ? std::numeric_limits<int64_t>::min()
                                          : std::numeric_limits<int64_t>::max());
  return l;
}

Literal ConstructFloat(std::string_view text) {
  std::string v = StripUnderscores(text);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double sign = 1;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    sign = v[0] == '-' ? -1 : 1;
    v.erase(0, 1);
  }
  if (v == ".inf") return Literal::Float(sign * std::numeric_limits<double>::infinity());
  if (v == ".nan") return Literal::Float(std::numeric_limits<double>::quiet_NaN());
  if (v.find(':') != std::string::npos) {
    double value = 0;
    size_t start = 0;
    while (start <= v.size()) {
      size_t end = v.find(':', start);
      if (end == std::string::npos) end = v.size();
      value = value * 60 + std::strtod(v.substr(start, end - start).c_str(), nullptr);
      start = end + 1;
    }
    return Literal::Float(sign * value);
  }
  return Literal::Float(sign * std::strtod(v.c_str(), nullptr));
}

// PyYAML's timestamp: a date, or a date and time with optional fraction and zone.
std::optional<Literal> ConstructTimestamp(std::string_view t, bool* matched) {
  *matched = false;
  auto num = [&](size_t& i, size_t min, size_t max) -> int {
    size_t start = i;
    while (i < t.size() && IsDigit(t[i]) && i - start < max) ++i;
    if (i - start < min) return -1;
    return std::stoi(std::string(t.substr(start, i - start)));
  };
  size_t i = 0;
  int year = num(i, 4, 4);
  if (year < 0 || i >= t.size() || t[i] != '-') return std::nullopt;
  ++i;
  int month = num(i, 1, 2);
  if (month < 0 || i >= t.size() || t[i] != '-') return std::nullopt;
  ++i;
  size_t day_start = i;
  int day = num(i, 1, 2);
  if (day < 0) return std::nullopt;
  bool date_only = i == t.size();
  if (date_only && (i - day_start != 2 || t[5] == '-' || t.size() != 10)) return std::nullopt;
  std::string time;
  std::string zone;
  if (!date_only) {
    if (t[i] == 'T' || t[i] == 't') {
      ++i;
    } else if (t[i] == ' ' || t[i] == '\t') {
      while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    } else {
      return std::nullopt;
    }
    int hour = num(i, 1, 2);
    if (hour < 0 || i >= t.size() || t[i++] != ':') return std::nullopt;
    int minute = num(i, 2, 2);
    if (minute < 0 || i >= t.size() || t[i++] != ':') return std::nullopt;
    int second = num(i, 2, 2);
    if (second < 0) return std::nullopt;
    std::string fraction;
    if (i < t.size() && t[i] == '.') {
      ++i;
      while (i < t.size() && IsDigit(t[i])) fraction += t[i++];
    }
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    if (i < t.size()) {
      if (t[i] == 'Z') {
        zone = "+00:00";
        ++i;
      } else if (t[i] == '-' || t[i] == '+') {
        char sign = t[i++];
        int zh = num(i, 1, 2);
        int zm = 0;
        if (zh < 0) return std::nullopt;
        if (i < t.size() && t[i] == ':') {
          ++i;
          zm = num(i, 2, 2);
          if (zm < 0) return std::nullopt;
        }
        zone = fmt::format("{}{:02}:{:02}", sign, zh, zm);
      }
    }
    if (i != t.size()) return std::nullopt;
    *matched = true;
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
    time = fmt::format(" {:02}:{:02}:{:02}", hour, minute, second);
    if (!fraction.empty()) {
      fraction = fraction.substr(0, 6);
      fraction.append(6 - fraction.size(), '0');
      if (fraction != "000000") time += "." + fraction;
    }
  }
  *matched = true;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return std::nullopt;
  }
  Literal l;
  l.kind = LiteralKind::kTimestamp;
  l.s = fmt::format("{:04}-{:02}-{:02}{}{}", year, month, day, time, zone);
  return l;
}

}  // namespace

Literal Literal::Int(int64_t v) {
  Literal l;
  l.kind = LiteralKind::kInt;
  l.i = v;
  l.s = std::to_string(v);
  return l;
}

std::string PythonFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // [-]d[.ddd]e[+-]xx
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (size_t k = 0; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  int decpt = exp10 + 1;
  int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    std::string mant = digits.substr(0, 1);
    if (n > 1) mant += "." + digits.substr(1);
    return fmt::format("{}{}e{}{:02}", sign, mant, exp10 < 0 ? '-' : '+', std::abs(exp10));
  }
  if (decpt <= 0) return sign + "0." + std::string(-decpt, '0') + digits;
  if (decpt >= n) return sign + digits + std::string(decpt - n, '0') + ".0";
  return sign + digits.substr(0, decpt) + "." + digits.substr(decpt);
}

std::string Literal::Render() const {
  switch (kind) {
    case LiteralKind::kNull:
      return "None";
    case LiteralKind::kBool:
      return b ? "True" : "False";
    case LiteralKind::kInt:
      return s;
    case LiteralKind::kFloat:
      return PythonFloatRepr(f);
    case LiteralKind::kString:
    case LiteralKind::kTimestamp:
      return s;
  }
  return s;
}

const char* Literal::KindName() const {
  switch (kind) {
    case LiteralKind::kNull:
      return "null";
    case LiteralKind::kBool:
      return "boolean";
    case LiteralKind::kInt:
      return "integer";
    case LiteralKind::kFloat:
      return "number";
    case LiteralKind::kString:
      return "string";
    case LiteralKind::kTimestamp:
      return "timestamp";
  }
  return "string";
}

std::optional<Literal> ResolvePlain(std::string_view text) {
  if (IsNullText(text)) return Literal{};
  if (text == "=") return std::nullopt;  // YAML 1.1's value key, which safe_load refuses
  bool b = false;
  if (IsBool(text, &b)) return Literal::Bool(b);
  if (IsFloatText(text)) return ConstructFloat(text);
  if (IsIntText(text)) return ConstructInt(text);
  if (!text.empty() && IsDigit(text[0])) {
    bool matched = false;
    std::optional<Literal> ts = ConstructTimestamp(text, &matched);
    if (matched) return ts;
  }
  return Literal::String(std::string(text));
}

std::optional<Literal> ScalarValue(const yaml::Node& n, std::string* error) {
  constexpr std::string_view kPrefix = "tag:yaml.org,2002:";
  if (n.tag.empty() || n.tag == "!") {
    if (n.style == yaml::Style::kPlain && n.tag.empty()) {
      std::optional<Literal> v = ResolvePlain(n.text);
      if (!v && n.text == "=") *error = "a plain `=` cannot be read (YAML 1.1 value key); quote it";
      if (!v && n.text != "=") *error = fmt::format("`{}` is not a valid date or time", n.text);
      return v;
    }
    return Literal::String(n.text);
  }
  std::string_view tag = n.tag;
  if (tag.substr(0, kPrefix.size()) != kPrefix) {
    *error = fmt::format("unknown tag `{}`", n.tag);
    return std::nullopt;
  }
  tag.remove_prefix(kPrefix.size());
  if (tag == "str") return Literal::String(n.text);
  if (tag == "null") return Literal{};
  bool b = false;
  if (tag == "bool" && IsBool(n.text, &b)) return Literal::Bool(b);
  if (tag == "int" && IsIntText(n.text)) return ConstructInt(n.text);
  if (tag == "float" && (IsFloatText(n.text) || IsIntText(n.text))) {
    return ConstructFloat(n.text);
  }
  if (tag == "timestamp") {
    bool matched = false;
    std::optional<Literal> ts = ConstructTimestamp(n.text, &matched);
    if (ts) return ts;
  }
  *error = fmt::format("`{}` cannot be read as !!{}", n.text, tag);
  return std::nullopt;
}

std::optional<double> PythonFloat(std::string_view text) {
  // float() accepts surrounding whitespace, underscores between digits, inf/nan words.
  size_t a = text.find_first_not_of(" \t\n\r\f\v");
  if (a == std::string_view::npos) return std::nullopt;
  size_t z = text.find_last_not_of(" \t\n\r\f\v");
  std::string_view t = text.substr(a, z - a + 1);
  std::string clean;
  for (size_t k = 0; k < t.size(); ++k) {
    if (t[k] == '_') {
      if (k == 0 || k + 1 == t.size() || !IsDigit(t[k - 1]) || !IsDigit(t[k + 1])) {
        return std::nullopt;
      }
      continue;
    }
    clean += static_cast<char>(std::tolower(static_cast<unsigned char>(t[k])));
  }
  std::string_view body = clean;
  double sign = 1;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    sign = body[0] == '-' ? -1 : 1;
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") return sign * std::numeric_limits<double>::infinity();
  if (body == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (body.empty() || (!IsDigit(body[0]) && body[0] != '.')) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (p != body.data() + body.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    v = std::strtod(std::string(body).c_str(), nullptr);
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return sign * v;
}

std::optional<double> AsNumber(const Literal& v) {
  switch (v.kind) {
    case LiteralKind::kBool:
      return v.b ? 1.0 : 0.0;
    case LiteralKind::kInt:
      return std::strtod(v.s.c_str(), nullptr);
    case LiteralKind::kFloat:
      return v.f;
    case LiteralKind::kString:
      return PythonFloat(v.s);
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> AsInteger(const Literal& v) {
  if (v.kind == LiteralKind::kInt) {
    if (v.s != std::to_string(v.i)) return std::nullopt;  // beyond 64 bits
    return v.i;
  }
  std::optional<double> d = AsNumber(v);
  if (!d || !std::isfinite(*d) || std::fabs(*d) >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(*d);  // int() truncates toward zero
}

bool AsBoolean(const Literal& v) {
  std::string r = v.Render();
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r == "true";
}

}  // namespace weft
