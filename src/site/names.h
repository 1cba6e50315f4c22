// The file names and URLs the site derives from data. Branch names never become a path: they
// are encoded; everything else is checked against a strict alphabet before it is linked.
#pragma once
#include <optional>
#include <string>

namespace runbot {

// The file-name key of a group, for its badge and its pages: the name itself when it matches
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ (so a README can embed badge/master.svg), else "~" and the
// lowercase hex of its bytes, or "~h" and a 64-bit hash of them for long names ("~" is never
// part of a readable key, so the two kinds cannot collide).
std::string group_key(const std::string& group);
// "badge/<key>.svg": the one place a group's badge path is made (status.json's "badge", the
// file written under www/).
std::string badge_path(const std::string& group);
// "group/<key>.html": the group's page (its newest jobs); "group/<key>/<n>.html" holds its
// n-th hundred jobs, oldest first (n = 1 for its first 100).
std::string group_page_path(const std::string& group);
std::string group_page_path(const std::string& group, int64_t n);

// True for an artifact folder that can be linked and served: '/'-separated segments of
// [A-Za-z0-9_.-], none starting with '.'.
bool is_safe_artifact(const std::string& artifact);

// "/jobs/<id>/logs/<file>" for a status.json log field "jobs/<id>/logs/<file>", or nullopt
// when the field has another shape.
std::optional<std::string> log_href(const std::string& log);

// `text` percent-encoded for a URL's query or fragment: everything but [A-Za-z0-9_.~-] and '/'.
std::string url_encode(const std::string& text);

// True for an http(s) URL without characters that would need quoting.
bool is_plain_http_url(const std::string& url);

}  // namespace runbot
