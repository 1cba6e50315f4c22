// A streaming JSON writer (in the spirit of rapidjson's Writer): values are appended to a text
// as they come, commas and escaping are the writer's job, and nothing is held as a tree. Text
// that is not valid UTF-8 (branch names are bytes) is written with U+FFFD in place of each bad
// sequence, so the output is always valid JSON.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runbot {

class JsonWriter {
 public:
  // Appends to `out` (which the caller may flush and clear between top-level values).
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next member's key (inside an object).
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);  // NaN and infinities as null
  JsonWriter& value(bool v);
  JsonWriter& null();
  // A string, or null when empty.
  JsonWriter& text_or_null(std::string_view s) { return s.empty() ? null() : value(s); }
  template <typename T>
  JsonWriter& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  // Already-written JSON (one value), e.g. a cached job object.
  JsonWriter& raw(std::string_view json);

  // Shorthand for key(k).value(v).
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void before_value();
  std::string& out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included) to `out`.
void append_json_string(std::string& out, std::string_view s);

// `s` with every invalid UTF-8 sequence replaced by U+FFFD (what a JSON reader of our output
// sees), so that pages say what status.json says. Valid text is returned unchanged.
std::string valid_utf8(std::string_view s);

}  // namespace runbot
