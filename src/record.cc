#include "record.h"

namespace runbot {}  // namespace runbot
