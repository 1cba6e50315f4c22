// SIGTERM/SIGINT as a request to stop (`kill JOB`, `clean`, scancel): a flag that long loops
// poll, while a StopSignals lives; the previous handlers come back with it (the job's runner
// may run inside a test process).
#pragma once
#include <csignal>

namespace runbot {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

// Whether SIGTERM or SIGINT came since the newest StopSignals was made.
bool stop_requested();

}  // namespace runbot
