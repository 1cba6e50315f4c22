// A page per group (SPEC "Site"): group/<key>.html shows its newest jobs, group/<key>/<n>.html
// its n-th hundred (n = 1: its oldest 100), each newest first. A numbered page depends only on
// its own hundred jobs, so a new job rewrites the group's newest page and its last numbered one.
#pragma once
#include <cstdint>
#include <set>

#include "config/config.h"
#include "site/site_files.h"
#include "site/status_json.h"
#include "site/template.h"
#include "site/view.h"
#include "state/db.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

class GroupPages {
 public:
  static Result<GroupPages> load(const Config& config, const Paths& paths, Db& db);

  // The numbered page that holds job `id` of `group`.
  int64_t page_of(const GroupFacts& group, int64_t id);
  // Writes the group's newest page, its last numbered page (and the one before when the last
  // is new) and the numbered pages in `pages` (one entry per changed job; every page with
  // `all`). Returns how many jobs were rendered.
  Result<int64_t> write(const GroupFacts& group, const std::multiset<int64_t>& pages, bool all,
                        SiteFiles& files);

 private:
  GroupPages(const Config& config, const Paths& paths, Db& db, Template tmpl)
      : config_(&config), paths_(&paths), db_(&db), tmpl_(std::move(tmpl)) {}
  const Config* config_;
  const Paths* paths_;
  Db* db_;
  Template tmpl_;
};

}  // namespace runbot
