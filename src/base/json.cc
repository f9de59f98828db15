#include "base/json.h"

#include <cassert>

#include <nlohmann/json.hpp>

namespace weft {
namespace {

nlohmann::ordered_json ToNlohmann(const Json& j) {
  return std::visit(
      [](const auto& v) -> nlohmann::ordered_json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Json::Array>) {
          nlohmann::ordered_json a = nlohmann::ordered_json::array();
          for (const Json& e : v) a.push_back(ToNlohmann(e));
          return a;
        } else if constexpr (std::is_same_v<T, Json::Object>) {
          nlohmann::ordered_json o = nlohmann::ordered_json::object();
          for (const auto& [k, e] : v) o[k] = ToNlohmann(e);
          return o;
        } else {
          return nlohmann::ordered_json(v);
        }
      },
      j.variant());
}

Json FromNlohmann(const nlohmann::ordered_json& n) {
  switch (n.type()) {
    case nlohmann::ordered_json::value_t::boolean:
      return Json(n.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Json(n.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Json(n.get<uint64_t>());
    case nlohmann::ordered_json::value_t::number_float:
      return Json(n.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Json(n.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Json a = Json::MakeArray();
      for (const auto& e : n) a.Push(FromNlohmann(e));
      return a;
    }
    case nlohmann::ordered_json::value_t::object: {
      Json o = Json::MakeObject();
      for (const auto& [k, e] : n.items()) o.Set(k, FromNlohmann(e));
      return o;
    }
    default:
      return Json();
  }
}

}  // namespace

std::optional<Json> Json::Parse(std::string_view text) {
  nlohmann::ordered_json n = nlohmann::ordered_json::parse(text, nullptr, false);
  if (n.is_discarded()) return std::nullopt;
  return FromNlohmann(n);
}

std::optional<Json> Json::Parse(std::string_view text, std::string* why) {
  try {
    return FromNlohmann(nlohmann::ordered_json::parse(text));
  } catch (const nlohmann::ordered_json::out_of_range&) {
    *why = "a number is out of range (numbers are double precision: at most about 1.8e308)";
  } catch (const nlohmann::ordered_json::exception&) {
    *why = "not valid JSON";
  }
  return std::nullopt;
}

const Json* Json::Find(std::string_view key) const {
  const Object* o = Members();
  if (o == nullptr) return nullptr;
  for (auto it = o->rbegin(); it != o->rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

Json& Json::Set(std::string key, Json value) {
  assert(std::holds_alternative<Object>(v_));
  std::get<Object>(v_).emplace_back(std::move(key), std::move(value));
  return *this;
}

Json& Json::Push(Json value) {
  assert(std::holds_alternative<Array>(v_));
  std::get<Array>(v_).push_back(std::move(value));
  return *this;
}

std::string Json::Dump(int indent) const {
  // Replace invalid UTF-8 rather than throw: names come from user files.
  return ToNlohmann(*this).dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace weft
