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

}  // namespace

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
