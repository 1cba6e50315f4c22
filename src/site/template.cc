#include "site/template.h"

#include <fmt/format.h>

#include "util/atomic_file.h"
#include "util/paths.h"

namespace runbot {

using kainjow::mustache::data;
using nlohmann::json;

std::string Template::render(const json& view) { return tmpl.render(to_mustache(view)); }

Result<Template> load_template(const std::string& name) {
  auto file = share_dir() / "templates" / name;
  auto text = read_file(file);
  if (!text) return Error{fmt::format("template missing: {}", text.error().message)};
  Template t{kainjow::mustache::mustache{*text}};
  if (!t.tmpl.is_valid())
    return Error{fmt::format("{}: bad template: {}", file.string(), t.tmpl.error_message())};
  return t;
}

data to_mustache(const json& view) {
  switch (view.type()) {
    case json::value_t::object: {
      data d{data::type::object};
      for (const auto& [key, value] : view.items()) d.set(key, to_mustache(value));
      return d;
    }
    case json::value_t::array: {
      data d{data::type::list};
      for (const auto& item : view) d.push_back(to_mustache(item));
      return d;
    }
    case json::value_t::string:
      return data{view.get<std::string>()};
    case json::value_t::boolean:
      return data{view.get<bool>()};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return data{view.dump()};
    default:
      return data{false};
  }
}

}  // namespace runbot
