#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <limits>

#include "config/sections.h"

namespace runbot {

using config_check::Checker;

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (value > (std::numeric_limits<uint64_t>::max() - 9) / 10) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  std::string unit;
  for (; i < text.size(); ++i) unit += static_cast<char>(std::toupper(text[i]));
  int shift = 0;
  if (!unit.empty()) {
    const std::string_view units = "KMGT";
    auto pos = units.find(unit[0]);
    std::string_view rest = std::string_view(unit).substr(pos == std::string_view::npos ? 0 : 1);
    if (pos == std::string_view::npos) {
      if (unit != "B") return std::nullopt;
    } else if (!(rest.empty() || rest == "B" || rest == "IB")) {
      return std::nullopt;
    } else {
      shift = 10 * static_cast<int>(pos + 1);
    }
  }
  if (shift && value > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return value << shift;
}

void read_sandbox(Checker& c, const toml::table& t, SandboxConfig& s) {
  const std::string w = "[sandbox]";
  c.known_keys(t, {"kind", "network", "user", "memory", "pids", "cpus", "max_log"}, w);
  auto choice = [&](std::string_view key, std::initializer_list<std::string_view> allowed,
                    std::string& out) {
    const auto* v = c.get<std::string>(t, key, w, "a string");
    if (!v) return;
    for (auto a : allowed) {
      if (v->get() == a) {
        out = v->get();
        return;
      }
    }
    std::string list;
    for (auto a : allowed) list += fmt::format("{}\"{}\"", list.empty() ? "" : " or ", a);
    c.error(*v, fmt::format("{} {} must be {} (got \"{}\")", w, key, list, v->get()));
  };
  choice("kind", {"bwrap", "none"}, s.kind);
  choice("network", {"host", "none"}, s.network);
  if (const auto* v = c.get<std::string>(t, "user", w, "a string")) {
    const std::string& u = v->get();
    bool ok = !u.empty() && u.size() <= 32 && u != "root" && u != "0" &&
              u.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
                                  ".-") == std::string::npos;
    if (ok) {
      s.user = u;
    } else {
      c.error(*v, fmt::format("{} user \"{}\" must be an unprivileged user name (not root)", w, u));
    }
  }
  auto size = [&](std::string_view key, std::string& text, uint64_t& bytes) {
    const auto* v = c.get<std::string>(t, key, w, "a string");
    if (!v) return;
    if (v->get().empty()) {
      text.clear();
      bytes = 0;
      return;
    }
    auto parsed = parse_size(v->get());
    if (!parsed || *parsed == 0) {
      c.error(*v, fmt::format("{} {} \"{}\" must be a size such as \"4G\", \"512M\" or \"\" for "
                              "no limit",
                              w, key, v->get()));
      return;
    }
    text = v->get();
    bytes = *parsed;
  };
  size("memory", s.memory, s.memory_bytes);
  size("max_log", s.max_log, s.max_log_bytes);
  c.read(t, "pids", w, 0, 1 << 22, s.pids);
  if (const toml::node* n = t.get("cpus")) {
    std::optional<double> v;
    if (const auto* i = n->as_integer()) v = static_cast<double>(i->get());
    if (const auto* f = n->as_floating_point()) v = f->get();
    if (!v) {
      c.error(*n, fmt::format("{} cpus must be a number, not {}", w, config_check::a_type(*n)));
    } else if (!(*v >= 0 && *v <= 4096) || std::isnan(*v)) {
      c.error(*n, fmt::format("{} cpus must be between 0 (no limit) and 4096 (got {})", w, *v));
    } else {
      s.cpus = *v;
    }
  }
}

void read_build_env(Checker& c, const toml::table& build, std::map<std::string, std::string>& env) {
  const std::string w = "[build]";
  const toml::node* n = build.get("env");
  if (!n) return;
  const auto* t = n->as_table();
  if (!t) {
    c.error(*n, fmt::format("{} env must be a table of NAME = \"value\", not {}", w,
                            config_check::a_type(*n)));
    return;
  }
  for (auto&& [key, value] : *t) {
    const std::string name(key.str());
    bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
              name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
                  std::string::npos;
    if (!ok) {
      c.error(key.source().begin,
              fmt::format("{} env: \"{}\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", w, name));
      continue;
    }
    if (name.rfind("RUNBOT_", 0) == 0 || name.rfind("PG", 0) == 0) {
      c.error(key.source().begin,
              fmt::format("{} env: {} is set by the runbot itself (RUNBOT_* and PG* are reserved)",
                          w, name));
      continue;
    }
    const auto* s = value.as_string();
    if (!s || s->get().find('\0') != std::string::npos) {
      c.error(value, fmt::format("{} env {} must be a string without NUL bytes", w, name));
      continue;
    }
    env[name] = s->get();
  }
}

}  // namespace runbot
