#include "publish.h"

#include <fmt/format.h>

#include "site/nginx.h"
#include "site/site.h"
#include "status.h"

namespace runbot {

PublishOutcome publish(const Config& config, const Paths& paths, Db& db, Time now) {
  PublishOutcome out;
  auto site = publish_site(config, paths, status_document(config, paths, db), now);
  if (site)
    out.written = site->written;
  else
    out.errors.push_back(fmt::format("site: {}", site.error().message));

  std::vector<std::pair<int64_t, int>> live;
  for (const Job& j : db.jobs_in_states({JobState::running}))
    if (j.port) live.emplace_back(j.id, j.port);
  auto conf = render_nginx_conf(config, paths, live);
  if (!conf) {
    out.errors.push_back(fmt::format("nginx: {}", conf.error().message));
    return out;
  }
  if (auto st = apply_nginx(config, paths, *conf, out.nginx); !st)
    out.errors.push_back(fmt::format("nginx: {}", st.error().message));
  return out;
}

}  // namespace runbot
