// Waiting for nginx to serve the config a tick applied: one small HTTP/1.0 request per host on
// loopback for /.runbot-generation (SPEC "Site and nginx": every vhost a tick added answers
// before it exits).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "exec/proc_stat.h"
#include "site/nginx.h"
#include "util/atomic_file.h"
#include "util/fd.h"

namespace runbot {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Answer { refused, other, current };

struct Reply {
  Answer answer = Answer::other;
  pid_t worker = 0;  // the nginx worker that answered the current generation
};

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (events | POLLHUP));
  }
}

// GET /.runbot-generation with `host` from nginx on 127.0.0.1:`port`, within `deadline`.
Reply ask(int port, const std::string& host, const std::string& generation,
          Clock::time_point deadline) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return {Answer::other};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno == ECONNREFUSED) return {Answer::refused};
    if (errno != EINPROGRESS || !wait_fd(fd.get(), POLLOUT, deadline)) return {Answer::other};
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == ECONNREFUSED) return {Answer::refused};
    if (err != 0) return {Answer::other};
  }
  const std::string request = fmt::format(
      "GET /.runbot-generation HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n", host);
  for (size_t sent = 0; sent < request.size();) {
    if (!wait_fd(fd.get(), POLLOUT, deadline)) return {Answer::other};
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return {Answer::other};
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[1024];
  while (response.size() < 8192) {
    if (!wait_fd(fd.get(), POLLIN, deadline)) return {Answer::other};
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  size_t body = response.find("\r\n\r\n");
  bool ok = response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200");
  if (!ok || body == std::string::npos) return {Answer::other};
  std::string text = response.substr(body + 4);  // "<generation> <worker pid>"
  if (!text.starts_with(generation + " ")) return {Answer::other};
  return {Answer::current, static_cast<pid_t>(std::atol(text.c_str() + generation.size() + 1))};
}

// True when every worker of `master` that may still accept connections started no earlier
// than `fresh` (a worker that answered the new generation). After a reload the old workers
// keep accepting until they handle the master's quit: they then retitle themselves "worker
// process is shutting down" and close their listening sockets.
bool only_fresh_workers_accept(pid_t master, pid_t fresh) {
  ProcStat fresh_stat;
  if (master <= 0 || !read_proc_stat(fresh, &fresh_stat)) return true;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
    ProcStat st;
    if (!read_proc_stat(pid, &st) || st.ppid != master || is_dead_state(st.state)) continue;
    auto title = read_file(it->path() / "cmdline");
    if (!title || !title->starts_with("nginx: worker process") ||
        title->find("shutting down") != std::string::npos)
      continue;
    if (st.start_time < fresh_stat.start_time) return false;
  }
  return true;
}

}  // namespace

Status wait_for_generation(const Config& config, const Paths& paths,
                           const std::vector<std::string>& hosts, const std::string& generation,
                           milliseconds limit) {
  if (generation.empty() || hosts.empty()) return {};
  const auto deadline = Clock::now() + limit;
  const bool private_mode = config.runbot.nginx == "private";
  std::set<std::string> waiting(hosts.begin(), hosts.end());
  pid_t fresh = 0;
  for (;;) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto per_request = std::min(deadline, Clock::now() + milliseconds(500));
      Reply r = ask(config.runbot.nginx_port, *it, generation, per_request);
      // Nothing listens on loopback at all: nginx serves elsewhere (include mode).
      if (r.answer == Answer::refused && !private_mode) return {};
      if (r.answer == Answer::current) fresh = r.worker;
      it = r.answer == Answer::current ? waiting.erase(it) : std::next(it);
    }
    // Our own nginx: also until none of its old workers can take a connection any more.
    if (waiting.empty() &&
        (!private_mode || only_fresh_workers_accept(private_nginx_pid(paths), fresh)))
      return {};
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (waiting.empty())
    return Error{fmt::format("old nginx workers still accept after {} ms", limit.count())};
  std::string names;
  for (const auto& h : waiting) names += (names.empty() ? "" : ", ") + h;
  return Error{fmt::format("nginx does not serve the new config after {} ms yet for: {}",
                           limit.count(), names)};
}

}  // namespace runbot
