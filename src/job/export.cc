#include "job/export.h"

namespace runbot {}  // namespace runbot
