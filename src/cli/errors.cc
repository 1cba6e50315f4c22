// errors: the errors table (SPEC "Build errors"), as text or as JSON (--json).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "site/errors_page.h"

namespace runbot {

int cmd_errors(const Paths& paths, bool as_json) {
  std::error_code ec;
  if (!std::filesystem::exists(paths.db(), ec)) {
    fmt::print(stderr, "openerp-runbot: no runbot.db in {} (run init first)\n",
               paths.root.string());
    return 1;
  }
  auto db = Db::open(paths.db());
  Db::Transaction snapshot(*db, Db::Transaction::read);
  nlohmann::json doc = errors_document(*db);
  if (as_json) {
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (doc["errors"].empty()) {
    std::cout << "no build errors recorded\n";
    return 0;
  }
  for (const auto& e : doc["errors"]) {
    std::string groups;
    for (const auto& g : e["groups"])
      groups += fmt::format("{}{}", groups.empty() ? "" : ", ", g["name"].get<std::string>());
    std::cout << fmt::format("{} {:<5} {:>4} jobs  #{}..#{}  {}  [{}]\n    {}\n",
                             e["fingerprint"].get<std::string>(), e["class"].get<std::string>(),
                             e["jobs"].get<int64_t>(), e["first_job"].get<int64_t>(),
                             e["last_job"].get<int64_t>(), e["step"].get<std::string>(), groups,
                             e["text"].get<std::string>());
  }
  return 0;
}

}  // namespace runbot
