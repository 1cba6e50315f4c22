// Lenient reads of JSON objects the runbot did not necessarily write itself (status
// documents, stored details): a missing or mistyped field reads as absent, never throws.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace runbot::json_fields {

inline const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

inline std::string text(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

inline bool flag(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  return v.is_boolean() && v.get<bool>();
}

inline std::optional<int64_t> integer(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

inline std::optional<double> number(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

}  // namespace runbot::json_fields
