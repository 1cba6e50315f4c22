// The file names and URLs the site derives from data. Branch names never become a path: they
// are encoded; everything else is checked against a strict alphabet before it is linked.
#pragma once
#include <optional>
#include <string>

namespace runbot {

// Filename-safe, stable name of a group's badge (without ".svg"): the lowercase hex of the
// name's bytes, or "h" + a 64-bit hash of them for long names.
std::string badge_stem(const std::string& group);
// "badge/<stem>.svg": the one place a group's badge path is made (status.json's "badge", the
// file written under www/).
std::string badge_path(const std::string& group);

// True for an artifact folder that can be linked and served: '/'-separated segments of
// [A-Za-z0-9_.-], none starting with '.'.
bool is_safe_artifact(const std::string& artifact);

// "/jobs/<id>/logs/<file>" for a status.json log field "jobs/<id>/logs/<file>", or nullopt
// when the field has another shape.
std::optional<std::string> log_href(const std::string& log);

// True for an http(s) URL without characters that would need quoting.
bool is_plain_http_url(const std::string& url);

}  // namespace runbot
