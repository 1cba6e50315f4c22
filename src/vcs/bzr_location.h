// Bazaar locations and branch names: local paths versus URLs, and the escaped relative paths
// that `brz branches -R` prints. Pure string functions (no brz).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace runbot::bzr {

// True for "scheme:..." locations (http://, bzr+ssh://, file://, lp:) rather than local paths.
bool is_url(std::string_view location);

// Percent-escapes every byte but unreserved characters and '/'.
std::string url_escape(std::string_view path);

// `location` as a URL that escaped branch paths can be appended to ("<url>/<path>"); a local
// path becomes an absolute file:// URL.
std::string base_url(const std::string& location);

// Name of the branch a location that is itself a branch stands for: its last path component
// ("/srv/bzr/server/trunk" -> "trunk").
std::string own_name(const std::string& location);

// The branch name of one line of `brz branches -R` (its path relative to the listed location,
// without the "." of the location itself), or nullopt when the line is malformed. brz prints
// the first path segment fully escaped and later segments "display-decoded" (all escapes but
// those of ;/?:@&=+$,# decoded), which this undoes.
std::optional<std::string> listed_branch_name(std::string_view line);

}  // namespace runbot::bzr
