#include "job/job_file.h"

namespace runbot {}  // namespace runbot
