#include "config/checker.h"

#include <algorithm>

#include "util/pattern.h"

namespace runbot::config_check {

std::string a_type(const toml::node& n) {
  static constexpr const char* kNames[] = {"nothing",    "a table",    "an array",  "a string",
                                           "an integer", "a float",    "a boolean", "a date",
                                           "a time",     "a date-time"};
  return kNames[static_cast<int>(n.type())];
}

std::string at(const toml::node& n) {
  return fmt::format("{}:{}", n.source().begin.line, n.source().begin.column);
}

std::string Checker::report() {
  std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  std::string out;
  for (const auto& p : problems_) {
    if (!out.empty()) out += '\n';
    out += fmt::format("{}:{}:{}: {}", source_, p.pos.line, p.pos.column, p.message);
  }
  return out;
}

void Checker::known_keys(const toml::table& t, std::initializer_list<std::string_view> known,
                         const std::string& where) {
  for (auto&& [key, node] : t) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    error(key.source().begin, fmt::format("unknown key '{}' in {} (expected one of: {})", key.str(),
                                          where, fmt::join(known, ", ")));
  }
}

std::optional<std::vector<Item>> Checker::strings(const toml::table& t, std::string_view key,
                                                  const std::string& where) {
  const auto* a = get<toml::array>(t, key, where, "an array of strings");
  if (!a) return std::nullopt;
  std::vector<Item> items;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& n = *a->get(i);
    const auto* s = n.as_string();
    if (!s) {
      error(n, fmt::format("{} {}[{}] must be a string, not {}", where, key, i, a_type(n)));
    } else if (s->get().empty()) {
      error(n, fmt::format("{} {}[{}] is an empty string", where, key, i));
    } else if (auto it = std::find_if(items.begin(), items.end(),
                                      [&](const Item& x) { return x.value == s->get(); });
               it != items.end()) {
      error(n, fmt::format("{} {} lists '{}' twice (first at {})", where, key, s->get(),
                           at(*it->node)));
    } else {
      items.push_back({s->get(), &n});
    }
  }
  return items;
}

int Checker::regex(const toml::table& t, std::string_view key, const std::string& where,
                   std::string& out) {
  const auto* v = get<std::string>(t, key, where, "a string");
  if (!v) return -1;
  auto re = compile_pattern(v->get());
  if (!re) {
    error(*v, fmt::format("{} {} \"{}\" is not a valid RE2 regex: {}", where, key, v->get(),
                          re.error().message));
    return -1;
  }
  out = v->get();
  return *re ? (*re)->NumberOfCapturingGroups() : 0;
}

}  // namespace runbot::config_check
