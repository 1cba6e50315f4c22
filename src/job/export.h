// Source export: a tar stream (from `git archive` etc.) extracted with libarchive into a
// folder, refusing absolute paths, ".." components and links that escape the folder, keeping
// modes and symlinks.
#pragma once
#include <filesystem>
#include <functional>
#include <string_view>

#include "util/result.h"
#include "vcs/vcs.h"

namespace runbot {

// Extracts a tar archive whose bytes are produced by `producer` (which calls the sink it is
// given, in order) into `dest` (created if needed). Any refused entry fails the whole export
// with a message naming the entry.
Status extract_tar_stream(const std::filesystem::path& dest,
                          const std::function<Status(const TarSink&)>& producer);

// Convenience for tests: extracts an in-memory archive.
Status extract_tar_bytes(const std::filesystem::path& dest, std::string_view archive);

}  // namespace runbot
