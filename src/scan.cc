#include "scan.h"

namespace runbot {}  // namespace runbot
