#include "plan.h"

namespace runbot {}  // namespace runbot
