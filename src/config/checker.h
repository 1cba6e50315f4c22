// Checking a parsed TOML document against what the config expects: every problem collected
// with its line:column, typed reads with ranges, string lists, regexes. Used by config.cc.
#pragma once
#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runbot::config_check {

// "an integer", "a table", ... for messages.
std::string a_type(const toml::node& n);
// "line:column" of a node.
std::string at(const toml::node& n);

// A string from a TOML array, with its node for positions in messages.
struct Item {
  std::string value;
  const toml::node* node;
};

// Collects every problem with its position; the typed readers report wrong types and ranges.
class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  void error(const toml::source_position& pos, std::string message) {
    problems_.push_back({pos, std::move(message)});
  }
  void error(const toml::node& n, std::string message) {
    error(n.source().begin, std::move(message));
  }
  bool ok() const { return problems_.empty(); }

  // Every problem as "source:line:column: message", in file order, one per line.
  std::string report();

  // Reports the keys of `t` not in `known`.
  void known_keys(const toml::table& t, std::initializer_list<std::string_view> known,
                  const std::string& where);

  // The node at `key` as T (a value type, or toml::array), or nullptr if absent or of another
  // type (reported).
  template <typename T>
  auto get(const toml::table& t, std::string_view key, const std::string& where,
           std::string_view expected) -> decltype(t.get(key)->template as<T>()) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (const auto* v = n->template as<T>()) return v;
    error(*n, fmt::format("{} {} must be {}, not {}", where, key, expected, a_type(*n)));
    return nullptr;
  }

  template <typename Int>
  void read(const toml::table& t, std::string_view key, const std::string& where, int64_t lo,
            int64_t hi, Int& out) {
    const auto* v = get<int64_t>(t, key, where, "an integer");
    if (!v) return;
    const int64_t x = v->get();
    if (x < lo) {
      error(*v, fmt::format("{} {} must be at least {} (got {})", where, key, lo, x));
    } else if (x > hi) {
      error(*v, fmt::format("{} {} must be at most {} (got {})", where, key, hi, x));
    } else {
      out = static_cast<Int>(x);
    }
  }

  void read(const toml::table& t, std::string_view key, const std::string& where,
            std::string& out) {
    if (const auto* v = get<std::string>(t, key, where, "a string")) out = v->get();
  }

  void read(const toml::table& t, std::string_view key, const std::string& where, bool& out) {
    if (const auto* v = get<bool>(t, key, where, "a boolean (true or false)")) out = v->get();
  }

  // An array of strings; nullopt if absent or not an array. Elements that are not strings,
  // empty or repeated are reported and skipped.
  std::optional<std::vector<Item>> strings(const toml::table& t, std::string_view key,
                                           const std::string& where);

  // Compiles an RE2 regex (util/pattern); returns its capture count, or -1 (reported).
  int regex(const toml::table& t, std::string_view key, const std::string& where, std::string& out);

 private:
  struct Problem {
    toml::source_position pos;
    std::string message;
  };
  std::string source_;
  std::vector<Problem> problems_;
};

}  // namespace runbot::config_check
