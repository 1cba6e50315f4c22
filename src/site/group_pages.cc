#include "site/group_pages.h"

#include <fmt/format.h>

#include "site/names.h"
#include "site/view.h"

namespace runbot {

Result<GroupPages> GroupPages::load(const Config& config, const Paths& paths, Db& db) {
  auto tmpl = load_template("group.html.mustache");
  if (!tmpl) return tmpl.error();
  return GroupPages(config, paths, db, std::move(*tmpl));
}

int64_t GroupPages::page_of(const GroupFacts& group, int64_t id) {
  return db_->group_job_position(group.name, id) / kGroupPageJobs + 1;
}

Result<int64_t> GroupPages::write(const GroupFacts& group, const std::set<int64_t>& pages, bool all,
                                  SiteFiles& files) {
  int64_t total = db_->group_job_count(group.name);
  int64_t last = std::max<int64_t>(1, (total + kGroupPageJobs - 1) / kGroupPageJobs);
  std::set<int64_t> wanted;
  if (all)
    for (int64_t n = 1; n <= last; ++n) wanted.insert(n);
  for (int64_t n : pages)
    if (n >= 1 && n <= last) wanted.insert(n);
  wanted.insert(last);
  if (last > 1) wanted.insert(last - 1);  // it just filled up, when the last one is new
  int64_t rendered = 0;
  for (int64_t n : wanted) {
    std::vector<JobFacts> jobs;
    try {
      for (const JobRow& row : db_->group_rows(group.name, (n - 1) * kGroupPageJobs,
                                               static_cast<size_t>(kGroupPageJobs)))
        jobs.push_back(job_facts(*config_, *paths_, row));
    } catch (const std::exception& e) {
      return Error{fmt::format("group page of {}: {}", group.name, e.what())};
    }
    rendered += static_cast<int64_t>(jobs.size());
    auto page = [&](bool main) {
      return tmpl_.render(group_page_view(*config_, *paths_, group, jobs, n, last, total, main));
    };
    if (auto st = files.write(group_page_path(group.name, n), page(false)); !st) return st.error();
    if (n == last)
      if (auto st = files.write(group_page_path(group.name), page(true)); !st) return st.error();
  }
  return rendered;
}

}  // namespace runbot
