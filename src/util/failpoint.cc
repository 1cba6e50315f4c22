#include "util/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace runbot {

void failpoint(const char* name) {
  static const char* wanted = std::getenv("RUNBOT_FAILPOINT");
  if (wanted && std::strcmp(wanted, name) == 0) ::kill(::getpid(), SIGKILL);
}

}  // namespace runbot
