#include "job/classify.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "util/fd.h"
#include "util/pattern.h"

namespace runbot {

namespace {

std::unique_ptr<const RE2> compile_or_nothing(const std::string& pattern) {
  auto re = compile_pattern(pattern);
  return re ? std::move(*re) : nullptr;
}

}  // namespace

// The state of one log being classified: the current line's bytes not yet searched (at most
// kWindow + 2, with one byte of context before them once a window was searched) and what the
// line matched so far.
class LogClassifier::Scan {
 public:
  Scan(const LogClassifier& c, LogCounts& counts, const LineVisitor* visitor)
      : c_(c), counts_(counts), visitor_(visitor && *visitor ? visitor : nullptr) {}

  void feed(std::string_view data) {
    const size_t n = data.size();
    auto find = [&](char c, size_t from) {
      const void* p = memchr(data.data() + from, c, n - from);
      return p ? static_cast<size_t>(static_cast<const char*>(p) - data.data()) : n;
    };
    size_t nl = find('\n', 0), cr = find('\r', 0);
    size_t i = 0;
    while (i < n) {
      if (skip_lf_) {
        skip_lf_ = false;
        if (data[i] == '\n') {
          ++i, ++pos_;
          line_start_ = pos_;
          continue;
        }
      }
      if (nl < i) nl = find('\n', i);
      if (cr < i) cr = find('\r', i);
      size_t end = std::min(nl, cr);
      std::string_view piece = data.substr(i, end - i);
      if (end == n) {
        append(piece);
        pos_ += piece.size();
        break;
      }
      if (line_.empty() && !long_ && piece.size() <= kWindow) {
        search(piece, 0, piece.size());  // the whole line is in `data`: no copy
        end_line(piece, true);
      } else {
        append(piece);
        last_window();
      }
      skip_lf_ = data[end] == '\r';
      i = end + 1;
      pos_ += piece.size() + 1;
      line_start_ = pos_;
    }
  }

  void finish() {
    if (!line_.empty() || long_) last_window();
  }

 private:
  void append(std::string_view piece) {
    while (!piece.empty()) {
      size_t take = std::min(piece.size(), ctx_ + kWindow + 1 - line_.size());
      line_.append(piece.data(), take);
      piece.remove_prefix(take);
      if (line_.size() == ctx_ + kWindow + 1) flush();
    }
  }

  // The line holds more than kWindow bytes: search the first kWindow (the byte after them is
  // context, so `$` does not match there), then keep the last kOverlap of them and one byte
  // of context before (so `^` does not match there).
  void flush() {
    if (!long_) head_.assign(line_.data(), kHead);
    search(std::string_view(line_.data(), ctx_ + kWindow + 1), ctx_, ctx_ + kWindow);
    long_ = true;
    line_.erase(0, ctx_ + kWindow - kOverlap - 1);
    ctx_ = 1;
  }

  void last_window() {
    search(line_, ctx_, line_.size());
    if (long_) {
      end_line(head_, false);
    } else {
      end_line(line_, true);
    }
  }

  // Searches text[start, end) with the rest of `text` as context (for ^, $ and \b).
  void search(std::string_view text, size_t start, size_t end) {
    if (!error_ && c_.error_ && c_.error_->Match(text, start, end, RE2::UNANCHORED, nullptr, 0)) {
      error_ = true;
      if (visitor_) {
        re2::StringPiece m;
        if (!c_.error_->Match(text, start, end, RE2::UNANCHORED, &m, 1)) m = text.substr(start);
        size_t at = static_cast<size_t>(m.data() - text.data());
        error_text_.assign(text.substr(at, std::min(kHead, end - at)));
      }
    }
    if (!error_ && !warning_ && c_.warning_ &&
        c_.warning_->Match(text, start, end, RE2::UNANCHORED, nullptr, 0))
      warning_ = true;
    re2::StringPiece sub[2];
    if (c_.coverage_ && c_.coverage_->Match(text, start, end, RE2::UNANCHORED, sub, 2) &&
        sub[1].data() != nullptr) {
      double value = 0;
      auto [stop, ec] = std::from_chars(sub[1].data(), sub[1].data() + sub[1].size(), value);
      if (ec == std::errc() && stop != sub[1].data()) counts_.coverage = value;
    }
  }

  void end_line(std::string_view head, bool whole) {
    if (error_) {
      ++counts_.errors;
    } else if (warning_) {
      ++counts_.warnings;
    }
    ++number_;
    if (visitor_) {
      LogLine l;
      l.number = number_;
      l.offset = line_start_;
      l.head = whole ? head : head.substr(0, kHead);
      l.whole = whole;
      l.error = error_;
      l.warning = warning_ && !error_;
      if (error_) l.error_text = error_text_;
      (*visitor_)(l);
    }
    error_ = warning_ = long_ = false;
    line_.clear();
    ctx_ = 0;
  }

  const LogClassifier& c_;
  LogCounts& counts_;
  const LineVisitor* visitor_;  // null when nobody wants the lines
  std::string line_;            // the current line's unsearched bytes, after ctx_ context bytes
  size_t ctx_ = 0;              // 1 once a window of the line was searched
  bool long_ = false;           // a window of the line was searched: it is over kWindow bytes
  bool skip_lf_ = false;        // the last line ended with '\r': a '\n' right after belongs to it
  bool error_ = false, warning_ = false;
  std::string head_;        // the first kHead bytes of a long line
  std::string error_text_;  // from the line's first error match
  int64_t number_ = 0;
  uint64_t pos_ = 0, line_start_ = 0;
};

LogClassifier::LogClassifier(const std::string& error_pattern, const std::string& warning_pattern,
                             const std::string& coverage_pattern)
    : error_(compile_or_nothing(error_pattern)),
      warning_(compile_or_nothing(warning_pattern)),
      coverage_(compile_or_nothing(coverage_pattern)) {}

LogClassifier::~LogClassifier() = default;

void LogClassifier::line(std::string_view text, LogCounts& counts) const {
  Scan scan(*this, counts, nullptr);
  scan.feed(text);
  scan.finish();
}

Result<LogCounts> LogClassifier::file(const std::filesystem::path& log,
                                      const LineVisitor& visitor) const {
  Fd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return Error{fmt::format("cannot read {}: {}", log.string(), strerror(errno))};
  LogCounts counts;
  Scan scan(*this, counts, &visitor);
  std::string chunk(256 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("cannot read {}: {}", log.string(), strerror(errno))};
    }
    if (n == 0) break;
    scan.feed(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  scan.finish();
  return counts;
}

}  // namespace runbot
