#include "db.h"

namespace runbot {}  // namespace runbot
