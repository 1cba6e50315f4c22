#include "vcs/tool.h"

#include <ctime>

#include "util/atomic_file.h"

namespace runbot::vcs_tool {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxErrorChars = 300;
constexpr std::string_view kMarkerFile = "runbot-mirror";

std::string_view trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

bool succeeded(const Result<RunOutput>& r) { return r && r->exit_code == 0 && !r->timed_out; }

std::string short_error(const Result<RunOutput>& r, std::initializer_list<std::string_view> markers,
                        int timeout_seconds) {
  if (!r) return r.error().message;
  if (r->timed_out) return "timed out after " + std::to_string(timeout_seconds) + " s";
  std::vector<std::string_view> lines, errors;
  for (auto raw : split(r->err, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty()) continue;
    lines.push_back(line);
    for (auto marker : markers)
      if (line.starts_with(marker)) {
        errors.push_back(line);
        break;
      }
  }
  if (errors.empty() && lines.size() > 2) lines.erase(lines.begin(), lines.end() - 2);
  std::string text;
  for (auto line : errors.empty() ? lines : errors) {
    if (!text.empty()) text += "; ";
    text += line;
  }
  if (text.empty()) {
    text = r->signal ? "killed by signal " + std::to_string(r->signal)
                     : "exited with status " + std::to_string(r->exit_code);
  }
  if (text.size() > kMaxErrorChars) text = text.substr(0, kMaxErrorChars) + "...";
  return text;
}

Status check_remote(std::string_view remote) {
  if (remote.empty()) return Error{"empty remote"};
  if (remote.front() == '-') return Error{"remote '" + std::string(remote) + "' starts with '-'"};
  for (char c : remote)
    if (static_cast<unsigned char>(c) < ' ' || c == '\x7f')
      return Error{"remote holds a control character"};
  return {};
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return parts;
}

Status ensure_mirror_dir(const fs::path& mirror, std::string_view kind) {
  std::error_code ec;
  const std::string want = std::string(kind) + "\n";
  bool exists = fs::exists(fs::symlink_status(mirror, ec));
  bool is_dir = fs::is_directory(fs::symlink_status(mirror, ec));
  if (is_dir) {
    auto marker = read_file(mirror / kMarkerFile);
    if (marker && *marker == want) return {};
  }
  if (exists && !(is_dir && fs::is_empty(mirror, ec))) {
    fs::path aside = mirror;
    aside += ".broken-" + std::to_string(std::time(nullptr));
    fs::rename(mirror, aside, ec);
    if (ec)
      return Error{"cannot move mirror " + mirror.string() + " (not a " + std::string(kind) +
                   " mirror) aside: " + ec.message()};
  }
  fs::create_directories(mirror, ec);
  if (ec) return Error{"cannot create mirror " + mirror.string() + ": " + ec.message()};
  return write_file_atomic(mirror / kMarkerFile, want);
}

Status remove_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Error{"cannot remove " + dir.string() + ": " + ec.message()};
  return {};
}

}  // namespace runbot::vcs_tool
