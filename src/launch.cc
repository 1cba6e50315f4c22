#include "launch.h"

namespace runbot {}  // namespace runbot
