#include "site/site_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;

bool same_content(const fs::path& a, const fs::path& b, size_t skip_from, size_t skip_size) {
  std::error_code ec;
  auto size_a = fs::file_size(a, ec);
  if (ec) return false;
  auto size_b = fs::file_size(b, ec);
  if (ec || size_a != size_b) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  std::vector<char> buf_a(1 << 16), buf_b(1 << 16);
  const size_t kFrom = skip_from, kTo = skip_from + skip_size;
  for (size_t offset = 0; in_a && in_b;) {
    in_a.read(buf_a.data(), static_cast<std::streamsize>(buf_a.size()));
    in_b.read(buf_b.data(), static_cast<std::streamsize>(buf_b.size()));
    auto n = static_cast<size_t>(in_a.gcount());
    if (n != static_cast<size_t>(in_b.gcount())) return false;
    for (size_t i = std::max(offset, kFrom); i < std::min(offset + n, kTo); ++i)
      buf_a[i - offset] = buf_b[i - offset] = 0;
    if (std::memcmp(buf_a.data(), buf_b.data(), n) != 0) return false;
    offset += n;
  }
  return !in_a.bad() && !in_b.bad();
}

bool empty_or_missing(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

Status SiteFiles::write(const std::string& rel, const std::string& content) {
  fs::path file = www_ / rel;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return Error{fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message())};
  auto wrote = write_file_if_changed(file, content, Sync::later);
  if (!wrote) return wrote.error();
  if (*wrote) written.push_back(rel);
  return {};
}

Status SiteFiles::prune(const std::string& dir, const std::string& ext,
                        const std::set<std::string>& keep) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(www_ / dir, ec)) {
    std::string name = entry.path().filename().string();
    bool temp = name.find(".tmp.") != std::string::npos;
    bool folder = entry.is_directory(ec);
    bool kind = ext.empty() ? folder : !folder && entry.path().extension() == ext;
    std::string stem = ext.empty() ? name : entry.path().stem().string();
    bool ours = kind && !keep.count(stem);
    if (!temp && !ours) continue;
    fs::remove_all(entry.path(), ec);
    if (ec) return Error{fmt::format("cannot remove {}: {}", entry.path().string(), ec.message())};
    if (!temp) removed.push_back(dir + "/" + name);
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return Error{fmt::format("cannot list {}: {}", (www_ / dir).string(), ec.message())};
  return {};
}

}  // namespace runbot
