// Shared by process.cc and process_id.cc: /proc/<pid>/stat (state, group, start time) and
// the timing of kills.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>

namespace runbot {

struct ProcStat {
  char state = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  uint64_t start_time = 0;
};

// Parses /proc/<pid>/stat without allocating (also used between fork and exec).
bool read_proc_stat(pid_t pid, ProcStat* st);

// How long a group gets to die after SIGKILL, and how often it is looked at meanwhile.
inline constexpr std::chrono::milliseconds kKillWait{5000};
inline constexpr std::chrono::milliseconds kPollStep{20};

// Zombie or dead: the process has ended even if /proc still lists it.
inline bool is_dead_state(char s) { return s == 'Z' || s == 'X' || s == 'x'; }

}  // namespace runbot
