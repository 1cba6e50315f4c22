#include "vcs/git.h"

namespace runbot {}  // namespace runbot
