#include "status.h"

namespace runbot {}  // namespace runbot
