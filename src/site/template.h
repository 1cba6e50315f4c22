// Mustache templates from share/templates/, and the bridge from JSON view data to mustache.
#pragma once
#include <functional>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "util/result.h"

namespace runbot {

// A parsed template. `{{x}}` is HTML-escaped unless a custom escape is given.
struct Template {
  kainjow::mustache::mustache tmpl;
  std::string render(const nlohmann::json& view);
};

// Reads and parses share/templates/<name>; errors name the file and the parse problem.
Result<Template> load_template(const std::string& name);

// JSON -> mustache data: null and false are falsy, numbers become their shortest text.
kainjow::mustache::data to_mustache(const nlohmann::json& view);

}  // namespace runbot
