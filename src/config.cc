#include "config.h"

namespace runbot {}  // namespace runbot
