// [sandbox]: how untrusted build code is confined (SPEC "Untrusted code"), and the size
// strings ("4G", "512M") its limits are written in.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runbot {

struct SandboxConfig {
  std::string kind = "bwrap";     // bwrap | none
  std::string network = "host";   // steps: host | none (instances always share the host's)
  std::string user = "nobody";    // when the runbot runs as root: who builds run as
  std::string memory = "4G";      // "" = no limit
  uint64_t memory_bytes = 4ull << 30;
  int pids = 1024;                // 0 = no limit
  double cpus = 0;                // 0 = no limit
  std::string max_log = "1G";     // "" = no cut
  uint64_t max_log_bytes = 1ull << 30;

  bool confined() const { return kind != "none"; }
};

// "4G" -> 4 GiB, "512M", "64k", "100" (bytes); K, M, G, T with an optional "B"/"iB", any case.
// nullopt when it is not such a size (or overflows).
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace runbot
