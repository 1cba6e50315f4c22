#include "job/error_extract.h"

#include <utility>

namespace runbot {

namespace {

constexpr std::string_view kTracebackHeader = "Traceback (most recent call last):";

bool indented(std::string_view s) { return !s.empty() && (s[0] == ' ' || s[0] == '\t'); }

// At most ErrorExtractor::kMaxLine bytes, cut on a UTF-8 boundary.
std::string cut(std::string_view s) {
  if (s.size() <= ErrorExtractor::kMaxLine) return std::string(s);
  size_t n = ErrorExtractor::kMaxLine;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "…";
}

}  // namespace

ErrorExtractor::ErrorExtractor(std::string step, ErrorContext context)
    : step_(std::move(step)), context_(std::move(context)) {}

void ErrorExtractor::line(const LogLine& l) {
  std::string_view head = l.head;
  bool header = head.substr(0, kTracebackHeader.size()) == kTracebackHeader;
  if (traceback_) {
    if (indented(head)) {
      traceback_->error |= l.error;
      if (traceback_->frames.size() == kMaxFrames) {
        traceback_->frames.erase(traceback_->frames.begin());
        traceback_->elided = true;
      }
      traceback_->frames.push_back(cut(head));
      return;
    }
    if (head.empty() || header) {
      end_traceback(std::nullopt);  // no exception line
      if (!header) return;
    } else {
      traceback_->error |= l.error;
      end_traceback(cut(head));
      return;
    }
  }
  if (header) {
    Open t;
    if (pending_) {
      t = std::move(*pending_);  // the error line that logged this traceback (Odoo's way)
      pending_.reset();
    } else {
      t.line = l.number;
      t.offset = l.offset;
    }
    t.head.emplace_back(kTracebackHeader);
    t.error |= l.error;
    traceback_ = std::move(t);
    return;
  }
  if (pending_) {
    emit(std::move(*pending_));
    pending_.reset();
  }
  if (l.error) {
    Open e;
    e.line = l.number;
    e.offset = l.offset;
    e.head.push_back(cut(l.whole ? l.head : l.error_text));
    e.error = true;
    pending_ = std::move(e);
  }
}

void ErrorExtractor::end_traceback(std::optional<std::string> exception_line) {
  Open t = std::move(*traceback_);
  traceback_.reset();
  if (exception_line) t.frames.push_back(std::move(*exception_line));
  if (t.elided) t.frames.insert(t.frames.begin(), "  ...");
  if (t.error) emit(std::move(t));
}

void ErrorExtractor::emit(Open&& e) {
  if (errors_.size() >= kMaxPerStep) {
    ++dropped_;
    return;
  }
  BuildError b;
  b.step = step_;
  b.line = e.line;
  b.offset = e.offset;
  for (auto* lines : {&e.head, &e.frames}) {
    for (const auto& s : *lines) {
      if (!b.text.empty()) b.text += '\n';
      b.text += s;
    }
  }
  b.fingerprint = error_fingerprint(b.text, context_);
  errors_.push_back(std::move(b));
}

std::vector<BuildError> ErrorExtractor::finish() {
  if (traceback_) end_traceback(std::nullopt);
  if (pending_) {
    emit(std::move(*pending_));
    pending_.reset();
  }
  return std::move(errors_);
}

}  // namespace runbot
