#include "process.h"

namespace runbot {}  // namespace runbot
