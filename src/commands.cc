#include "commands.h"

namespace runbot {}  // namespace runbot
