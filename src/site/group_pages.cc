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

Result<int64_t> GroupPages::write(const GroupFacts& group, const std::multiset<int64_t>& pages,
                                  bool all, SiteFiles& files) {
  int64_t total = db_->group_job_count(group.name);
  int64_t last = std::max<int64_t>(1, (total + kGroupPageJobs - 1) / kGroupPageJobs);
  std::set<int64_t> wanted;
  if (all)
    for (int64_t n = 1; n <= last; ++n) wanted.insert(n);
  for (int64_t n : pages)
    if (n >= 1 && n <= last) wanted.insert(n);
  wanted.insert(last);
  // The page before the last one just filled up when every job of the last page is new.
  int64_t on_last = total - (last - 1) * kGroupPageJobs;
  if (last > 1 && static_cast<int64_t>(pages.count(last)) >= on_last) wanted.insert(last - 1);
  int64_t rendered = 0;
  for (int64_t n : wanted) {
    std::vector<JobFacts> jobs;
    try {
      for (const JobRow& row : db_->group_rows(group.name, (n - 1) * kGroupPageJobs,
                                               static_cast<size_t>(kGroupPageJobs)))
        jobs.push_back(job_facts(*config_, *paths_, row, false));
    } catch (const std::exception& e) {
      return Error{fmt::format("group page of {}: {}", group.name, e.what())};
    }
    rendered += static_cast<int64_t>(jobs.size());
    View rows = group_rows_view(*config_, jobs);
    if (n == last) {  // the newest page twice: group/<key>.html and its numbered twin
      View copy = rows;
      std::string html =
          tmpl_.render(group_page_view(group, std::move(copy), n, last, total, true));
      if (auto st = files.write(group_page_path(group.name), html); !st) return st.error();
    }
    std::string html = tmpl_.render(group_page_view(group, std::move(rows), n, last, total, false));
    if (auto st = files.write(group_page_path(group.name, n), html); !st) return st.error();
  }
  return rendered;
}

}  // namespace runbot
