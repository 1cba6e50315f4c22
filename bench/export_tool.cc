// runbot_export_tool MIRROR REV DEST: the runner's export path alone (GitVcs::export_tar
// streamed through extract_tar_stream, as JobRun::export_source does), for bench/compare to
// time against `git archive | tar -x`. Prints the elapsed milliseconds on stdout.
#include <fmt/format.h>

#include <chrono>

#include "job/export.h"
#include "vcs/git.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: runbot_export_tool MIRROR REV DEST\n");
    return 2;
  }
  runbot::ProjectConfig project;
  project.name = "bench";
  project.remotes = {argv[1]};
  runbot::GitVcs git;
  auto t0 = std::chrono::steady_clock::now();
  runbot::Status st = runbot::extract_tar_stream(argv[3], [&](const runbot::TarSink& sink) {
    return git.export_tar(project, argv[1], argv[1], argv[2], sink);
  });
  std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - t0;
  if (!st) {
    fmt::print(stderr, "runbot_export_tool: {}\n", st.error().message);
    return 1;
  }
  fmt::print("{:.1f}\n", ms.count());
  return 0;
}
