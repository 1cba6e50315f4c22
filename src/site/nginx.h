// nginx configuration (SPEC "Site (www/) and nginx"): nginx/runbot.conf with the site, one
// server per live instance and a catch-all 404; in private mode also nginx/nginx.conf and the
// nginx process itself. Only ids, ports and config values reach the config, never branch text.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// Run as root, the private nginx's workers never run as root (SPEC "Untrusted code"): they run
// as www-data (else nobody), and nginx runs in a private mount namespace where the site, the
// jobs' folders (read-only) and nginx's temp dirs are bound under kNginxStage, reachable
// whatever the modes of the state dir's parents. The configs then name those paths.
inline constexpr const char* kNginxStage = "/run/openerp-runbot-nginx";
struct NginxWorkers {
  bool staged = false;  // root and private mode
  std::string user, group;
  uid_t uid = 0;
  gid_t gid = 0;
};
NginxWorkers nginx_workers(const Config& config);

// nginx/runbot.conf for the live instances `live` = (job id, port). Meant to be included in
// nginx's http { } block. Fails when the template is missing or a path/domain cannot be
// written safely into an nginx config.
Result<std::string> render_nginx_conf(const Config& config, const Paths& paths,
                                      const std::vector<std::pair<int64_t, int>>& live);
// The same for instances anywhere: (job id, "host:port" its executor gives, SPEC "Executors").
Result<std::string> render_nginx_conf_to(const Config& config, const Paths& paths,
                                         const std::vector<std::pair<int64_t, std::string>>& live);

// The generation a runbot.conf serves at /.runbot-generation on every server it defines (a
// hash of the file); "" when it has none.
std::string nginx_conf_generation(const std::string& conf);

// After a reload: waits (at most `limit`) until nginx on 127.0.0.1:nginx_port answers
// /.runbot-generation with `generation` for each of `hosts` (the site's and every live
// instance's host names), so every vhost the config added answers before the tick ends.
// Nothing listening there (include mode with nginx elsewhere) is not waited for. Fails with
// the hosts still answering another generation at the limit.
// Private mode: also until no old worker of our nginx accepts connections any more.
Status wait_for_generation(const Config& config, const Paths& paths,
                           const std::vector<std::string>& hosts, const std::string& generation,
                           std::chrono::milliseconds limit);

// nginx/nginx.conf for private mode: pid, logs and temp paths under nginx/, includes
// nginx/runbot.conf.
Result<std::string> render_nginx_main_conf(const Config& config, const Paths& paths);

// Writes nginx/runbot.conf when `conf` differs from it. Private mode: also nginx.conf; starts
// nginx when it is not running (after `nginx -t`), reloads it when a file changed. Include
// mode: runs reload_command (/bin/sh -c) when runbot.conf changed. A config nginx refuses is
// an error carrying nginx's message, and the previous runbot.conf is put back so the next
// tick tries again. What was done is appended to `log`.
Status apply_nginx(const Config& config, const Paths& paths, const std::string& conf,
                   std::vector<std::string>& log);

// Stops the private nginx of this state dir (quit, then TERM/KILL of its process group) and
// verifies it is gone. No nginx running is success.
Status stop_private_nginx(const Paths& paths);

// The pid of this state dir's private nginx master, or 0 when it is not running.
pid_t private_nginx_pid(const Paths& paths);

}  // namespace runbot
