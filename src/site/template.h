// Mustache templates from share/templates/, their data (View), and the bridge from JSON to it.
#pragma once
#include <functional>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "util/result.h"

namespace runbot {

// What a template renders: mustache data (objects, lists, strings, booleans).
using View = kainjow::mustache::data;

// A parsed template. `{{x}}` is HTML-escaped (&amp; &lt; &gt; &quot; &apos;), `{{{x}}}` is not.
struct Template {
  kainjow::mustache::mustache tmpl;
  std::string render(const View& view);
  std::string render(const nlohmann::json& view) { return render(to_view(view)); }
  static View to_view(const nlohmann::json& view);
};

// kainjow's html_escape, without building the copy char by char: text with nothing to escape
// (most text) is copied whole. Every template loaded by load_template() escapes with it.
std::string html_escape(const std::string& text);

// Reads and parses share/templates/<name>; errors name the file and the parse problem.
Result<Template> load_template(const std::string& name);

// JSON -> mustache data: null and false are falsy, numbers become their shortest text.
inline View to_mustache(const nlohmann::json& view) { return Template::to_view(view); }

// kainjow's set() and push_back() copy their argument (a whole subtree); these move it in.
void put(View& object, const std::string& key, View value);
void append(View& list, View value);

}  // namespace runbot
