#include <fmt/format.h>

#include "site/site.h"

namespace runbot {

std::string render_badge(const std::string& result) {
  struct Look {
    const char* result;
    const char* color;
  };
  static constexpr Look kLooks[] = {{"ok", "#2e9e44"},
                                    {"warn", "#e8830c"},
                                    {"ko", "#d73a3a"},
                                    {"killed", "#888"},
                                    {"skipped", "#888"}};
  std::string text = "unknown";
  std::string color = "#888";
  for (const Look& l : kLooks)
    if (result == l.result) {
      text = l.result;
      color = l.color;
    }
  // Verdana 11px is about 7px per character; shields.io-like proportions.
  int left = 50;
  int right = static_cast<int>(text.size()) * 7 + 12;
  int width = left + right;
  return fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="runbot: {t}">
<title>runbot: {t}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="{l}" height="20" fill="#555"/><rect x="{l}" width="{r}" height="20" fill="{c}"/><rect width="{w}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="{lx}" y="14">runbot</text><text x="{rx}" y="14">{t}</text>
</g>
</svg>
)svg",
      fmt::arg("w", width), fmt::arg("l", left), fmt::arg("r", right), fmt::arg("c", color),
      fmt::arg("t", text), fmt::arg("lx", left / 2), fmt::arg("rx", left + right / 2));
}

}  // namespace runbot
