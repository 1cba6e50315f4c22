// Writing the site's files: each replaced only when its content changed, and the record of
// what was written and removed.
#pragma once
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "util/result.h"

namespace runbot {

// Whether two files are equal apart from bytes [skip_from, skip_from + skip_size) (status.json's
// "updated_at" value).
bool same_content(const std::filesystem::path& a, const std::filesystem::path& b,
                  size_t skip_from = 0, size_t skip_size = 0);

// True when `dir` is missing or holds nothing.
bool empty_or_missing(const std::filesystem::path& dir);

class SiteFiles {
 public:
  explicit SiteFiles(std::filesystem::path www) : www_(std::move(www)) {}

  // Writes www/<rel> (creating its folder) unless it already holds `content`; www/ is
  // regenerable, so nothing is synced here (see publish()).
  Status write(const std::string& rel, const std::string& content);
  // Removes the entries of www/<dir> whose name, without `ext` (".html"; "" for folders), is
  // not in `keep`, and temp leftovers.
  Status prune(const std::string& dir, const std::string& ext, const std::set<std::string>& keep);
  void wrote(const std::string& rel) { written.push_back(rel); }

  const std::filesystem::path& www() const { return www_; }
  std::vector<std::string> written;  // relative to www/, in the order written
  std::vector<std::string> removed;

 private:
  std::filesystem::path www_;
};

}  // namespace runbot
