#include "exec/executor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/executor_kinds.h"
#include "exec/local_executor.h"
#include "exec/slurm_executor.h"
#include "util/fd.h"

namespace runbot {

std::unique_ptr<Executor> make_executor(std::string_view kind, const Config& config,
                                        const Paths& paths) {
  static_assert(kExecutorKinds.size() == 2, "every kind is made here");
  if (kind == "local") return std::make_unique<LocalExecutor>(paths);
  if (kind == "slurm") return std::make_unique<SlurmExecutor>(config, paths);
  return nullptr;
}

Executor* Executors::of(const std::string& kind) {
  auto it = made_.find(kind);
  if (it == made_.end()) {
    auto made = make_executor(kind, config_, paths_);
    if (!made) return nullptr;
    it = made_.emplace(kind, std::move(made)).first;
  }
  return it->second.get();
}

void Executors::put(std::unique_ptr<Executor> e) {
  std::string kind(e->kind());
  made_[kind] = std::move(e);
}

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || !name[0]) return "localhost";
  return name;
}

bool port_bindable(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  // Like the servers we start: sockets in TIME_WAIT from earlier visitors do not block it.
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

int node_port(int preferred, int lo, int hi, const std::function<bool(int)>& bindable) {
  if (preferred > 0 && bindable(preferred)) return preferred;
  for (int p = lo; p > 0 && p <= hi; ++p)
    if (p != preferred && bindable(p)) return p;
  return 0;
}

}  // namespace runbot
