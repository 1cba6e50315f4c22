#include "job/runner.h"

namespace runbot {}  // namespace runbot
