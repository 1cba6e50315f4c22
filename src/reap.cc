#include "reap.h"

namespace runbot {}  // namespace runbot
