#include "job/classify.h"

namespace runbot {}  // namespace runbot
