#include "site/template.h"

#include <fmt/format.h>

#include "util/atomic_file.h"
#include "util/paths.h"

namespace runbot {

using nlohmann::json;

namespace {

// The length of the UTF-8 sequence at `at` when it encodes an invisible format character
// (bidi embeddings, overrides and isolates, zero-width characters, the BOM), else 0.
size_t invisible_at(const std::string& s, size_t at) {
  auto byte = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  unsigned a = byte(at), b = byte(at + 1), c = byte(at + 2);
  if (a == 0xD8 && b == 0x9C) return 2;  // U+061C arabic letter mark
  if (a == 0xEF && b == 0xBB && c == 0xBF) return 3;  // U+FEFF
  if (a != 0xE2) return 0;
  if (b == 0x80 && ((c >= 0x8B && c <= 0x8F) || (c >= 0xAA && c <= 0xAE))) return 3;
  if (b == 0x81 && ((c >= 0xA0 && c <= 0xA4) || (c >= 0xA6 && c <= 0xA9))) return 3;
  return 0;
}

unsigned code_point(const std::string& s, size_t at, size_t len) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  if (len == 2) return ((byte(at) & 0x1Fu) << 6) | (byte(at + 1) & 0x3Fu);
  return ((byte(at) & 0x0Fu) << 12) | ((byte(at + 1) & 0x3Fu) << 6) | (byte(at + 2) & 0x3Fu);
}

}  // namespace

std::string html_escape(const std::string& s) {
  // Invisible format characters are shown as "<U+202E>": a branch name cannot reorder or hide
  // what a page says.
  auto special = [](char c) {
    return c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c == '\xE2' ||
           c == '\xEF' || c == '\xD8';
  };
  auto next = [&](size_t from) {
    while (from < s.size() && !special(s[from])) ++from;
    return from;
  };
  size_t at = next(0);
  if (at == s.size()) return s;
  std::string out;
  out.reserve(s.size() + 16);
  size_t from = 0;
  for (; at < s.size(); at = next(from)) {
    out.append(s, from, at - from);
    switch (s[at]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (size_t len = invisible_at(s, at)) {
          out += fmt::format("&lt;U+{:04X}&gt;", code_point(s, at, len));
          from = at + len;
          continue;
        }
        out += s[at];
        break;
    }
    from = at + 1;
  }
  out.append(s, from, std::string::npos);
  return out;
}

std::string Template::render(const View& view) {
  std::string out;
  tmpl.render(view, [&out](const std::string& text) { out += text; });
  return out;
}

Result<Template> load_template(const std::string& name) {
  auto file = share_dir() / "templates" / name;
  auto text = read_file(file);
  if (!text) return Error{fmt::format("template missing: {}", text.error().message)};
  Template t{kainjow::mustache::mustache{*text}};
  if (!t.tmpl.is_valid())
    return Error{fmt::format("{}: bad template: {}", file.string(), t.tmpl.error_message())};
  t.tmpl.set_custom_escape(html_escape);
  return t;
}

void put(View& object, const std::string& key, View value) {
  if (object.is_object()) object[key] = std::move(value);
}

void append(View& list, View value) {
  if (!list.is_list()) return;
  list.push_back(View(false));  // a cheap placeholder, then the value moves over it
  const_cast<View&>(list.list_value().back()) = std::move(value);
}

View Template::to_view(const json& view) {
  switch (view.type()) {
    case json::value_t::object: {
      View d{View::type::object};
      for (const auto& [key, value] : view.items()) put(d, key, to_view(value));
      return d;
    }
    case json::value_t::array: {
      View d{View::type::list};
      for (const auto& item : view) append(d, to_view(item));
      return d;
    }
    case json::value_t::string:
      return View{view.get_ref<const std::string&>()};
    case json::value_t::boolean:
      return View{view.get<bool>()};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return View{view.dump()};
    default:
      return View{false};
  }
}

}  // namespace runbot
