// Reading and writing the job protocol's JSON files: a FieldReader that collects the first
// problem with its field path, untrusted loads (bounded, no symlinks, no FIFOs) and atomic saves.
#pragma once
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include <fmt/format.h>

#include "job/job_file.h"
#include "util/atomic_file.h"
#include "util/result.h"

namespace runbot::jobfile {

using nlohmann::json;


// Reads typed fields out of a parsed document, remembering the first problem so a caller
// can read everything and check once. `file` names the document in messages.
class FieldReader {
 public:
  explicit FieldReader(std::string file) : file_(std::move(file)) {}

  bool ok() const { return error_.empty(); }
  Error error() const { return Error{error_}; }
  void fail(const std::string& where, const std::string& what) {
    if (ok()) error_ = fmt::format("{}: {}: {}", file_, where, what);
  }

  const json* field(const json& obj, const std::string& where, const char* key) {
    if (!ok()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) {
      fail(name(where, key), "missing");
      return nullptr;
    }
    return &*it;
  }
  static std::string name(const std::string& where, const char* key) {
    return where.empty() ? key : where + "." + key;
  }
  // The field when it exists and `is` holds for it; else records why and returns null.
  const json* typed(const json& obj, const std::string& where, const char* key,
                    bool (json::*is)() const noexcept, const char* expected) {
    const json* v = field(obj, where, key);
    if (v && !(v->*is)()) {
      fail(name(where, key), expected);
      return nullptr;
    }
    return v;
  }

  std::string str(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_string, "must be a string");
    return v ? v->get<std::string>() : std::string{};
  }
  int64_t integer(const json& obj, const std::string& where, const char* key, int64_t min,
                  int64_t max) {
    const json* v = typed(obj, where, key, &json::is_number_integer, "must be an integer");
    if (!v) return 0;
    // Non-negative numbers parse as unsigned: compare without converting a huge one.
    bool in_range = v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(max) &&
                                                  static_cast<int64_t>(v->get<uint64_t>()) >= min
                                            : v->get<int64_t>() >= min && v->get<int64_t>() <= max;
    if (!in_range) {
      fail(name(where, key), "is out of range");
      return 0;
    }
    return v->get<int64_t>();
  }
  int int32(const json& obj, const std::string& where, const char* key, int min = 0) {
    return static_cast<int>(integer(obj, where, key, min, std::numeric_limits<int>::max()));
  }
  bool boolean(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_boolean, "must be true or false");
    return v ? v->get<bool>() : false;
  }
  double number(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_number, "must be a number");
    return v ? v->get<double>() : 0;
  }
  const json* array(const json& obj, const std::string& where, const char* key) {
    return typed(obj, where, key, &json::is_array, "must be an array");
  }
  const json* object(const json& obj, const std::string& where, const char* key) {
    return typed(obj, where, key, &json::is_object, "must be an object");
  }
  std::vector<std::string> strings(const json& obj, const std::string& where, const char* key) {
    std::vector<std::string> out;
    const json* arr = array(obj, where, key);
    if (!arr) return out;
    for (size_t i = 0; i < arr->size(); ++i) {
      if (!(*arr)[i].is_string()) {
        fail(fmt::format("{}[{}]", name(where, key), i), "must be a string");
        return out;
      }
      out.push_back((*arr)[i].get<std::string>());
    }
    return out;
  }

 private:
  std::string file_;
  std::string error_;
};

// Parses `file` as a JSON object with "version": 1. Exceptions stay inside this file.
inline constexpr std::string_view kBadMarker = "bad marker ";

inline Result<json> load(const std::filesystem::path& file) {
  auto text = read_untrusted_file(file, kMaxMarkerBytes);
  if (!text)
    return Error{fmt::format("{}{}: {}", kBadMarker, file.filename().string(), text.error().message)};
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::exception& e) {
    return Error{
        fmt::format("{}: not valid JSON (truncated or corrupt): {}", file.string(), e.what())};
  }
  if (!doc.is_object()) return Error{fmt::format("{}: not a JSON object", file.string())};
  auto v = doc.find("version");
  if (v == doc.end()) return Error{fmt::format("{}: version missing", file.string())};
  if (!v->is_number_integer() || v->get<int64_t>() != kJobFileVersion) {
    return Error{
        fmt::format("{} has version {}, expected {}", file.string(), v->dump(), kJobFileVersion)};
  }
  return doc;
}

// Branch names are arbitrary bytes: invalid UTF-8 is replaced rather than refused, so a write
// never fails on data.
inline Status save(const std::filesystem::path& file, const json& doc, int mode = 0644,
                   Sync sync = Sync::now) {
  return write_file_atomic(file, doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                           sync, mode);
}

// Only a file that is not there is "missing" (a dangling symlink is there: a bad marker); any
// other failure is reported by the read.
inline bool missing(const std::filesystem::path& file) {
  std::error_code ec;
  (void)std::filesystem::symlink_status(file, ec);
  return ec == std::errc::no_such_file_or_directory;
}

inline constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();


}  // namespace runbot::jobfile
