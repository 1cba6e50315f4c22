#include "tick.h"

namespace runbot {}  // namespace runbot
