// What the git, hg and bzr mirrors share: running a VCS command-line tool, turning its failures
// into one-line reasons, parsing its line output, and owning a mirror folder.
#pragma once
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "exec/process.h"
#include "util/result.h"
#include "vcs/vcs.h"

namespace runbot::vcs_tool {

// True when the tool ran, was not killed and exited 0.
bool succeeded(const Result<RunOutput>& r);

// A one-line reason for a failed run: the stderr lines starting with one of `markers` (e.g.
// "abort:"), else the last stderr lines, else the exit status; at most ~300 characters.
std::string short_error(const Result<RunOutput>& r, std::initializer_list<std::string_view> markers,
                        int timeout_seconds);

// Refuses a remote that is empty, starts with '-' (it could pass for an option) or holds a
// control character.
Status check_remote(std::string_view remote);

// `text` split at `sep`; a trailing separator adds no empty last piece.
std::vector<std::string_view> split(std::string_view text, char sep);

// Makes `mirror` a folder holding a `runbot-mirror` file that names `kind` ("hg", "bzr").
// Anything else there (say the git mirror of a project that switched VCS) is moved aside to
// `<mirror>.broken-<time>`, never deleted.
Status ensure_mirror_dir(const std::filesystem::path& mirror, std::string_view kind);

// Removes `dir` and everything under it (only used inside a mirror); no error if absent.
Status remove_dir(const std::filesystem::path& dir);

}  // namespace runbot::vcs_tool
