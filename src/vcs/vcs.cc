#include "vcs/vcs.h"

namespace runbot {}  // namespace runbot
