// Names that the config admits and that other modules rely on: the site's domain (written into
// nginx's config) and a project's suffix in the build's environment.
#pragma once
#include <string>
#include <string_view>

namespace runbot {

// A DNS host name: dot-separated labels of 1-63 [A-Za-z0-9-], none starting or ending with
// '-', 253 characters at most ("..", "-" or "a..b" would make every `nginx -t` fail).
bool is_host_name(std::string_view name);

// RUNBOT_SRC_<suffix> / RUNBOT_REV_<suffix>: the project's name upper-cased, '-' as '_'. Two
// projects of one config never share a suffix (parse_config refuses it).
std::string project_env_suffix(std::string_view project);

}  // namespace runbot
