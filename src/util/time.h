// Time as every file and row stores it: whole seconds since the Unix epoch, UTC.
#pragma once
#include <cstdint>

namespace runbot {

using Time = int64_t;

}  // namespace runbot
