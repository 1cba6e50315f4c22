// Crash-test hook: when RUNBOT_FAILPOINT names this point, the process kills itself with
// SIGKILL right there, as a power cut would. Costs one getenv per call otherwise.
#pragma once

namespace runbot {

void failpoint(const char* name);

}  // namespace runbot
