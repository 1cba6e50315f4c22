#include "support/webdriver.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace runbot::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

constexpr const char* kElement = "element-6066-11e4-a52e-4f735466cecf";

}  // namespace

std::unique_ptr<Browser> Browser::start(std::string* why) {
  for (const char* binary : {"/usr/bin/chromium", "/usr/bin/chromedriver"})
    if (!fs::exists(binary)) {
      *why = fmt::format("{} not installed (scripts/install-deps installs it)", binary);
      return nullptr;
    }
  std::unique_ptr<Browser> b(new Browser());
  b->port_ = free_loopback_port();
  auto driver = spawn_detached({"/usr/bin/chromedriver", fmt::format("--port={}", b->port_)},
                               b->profile_.path() / "chromedriver.log");
  if (!driver) {
    *why = driver.error().message;
    return nullptr;
  }
  b->driver_ = *driver;
  for (int i = 0; i < 100; ++i) {
    Cmd c = run({"curl", "-s", fmt::format("http://127.0.0.1:{}/status", b->port_)});
    json st = json::parse(c.out, nullptr, false);
    if (st.is_object() && st["value"].value("ready", false)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json args = {"--headless",
               "--no-sandbox",
               "--disable-gpu",
               "--disable-quic",
               "--no-first-run",
               "--disable-background-networking",
               "--disable-component-update",
               "--disable-sync",
               "--window-size=1200,900",
               "--user-data-dir=" + (b->profile_.path() / "profile").string()};
  json caps = {{"capabilities",
                {{"alwaysMatch",
                  {{"browserName", "chrome"},
                   {"goog:chromeOptions", {{"binary", "/usr/bin/chromium"}, {"args", args}}}}}}}};
  json session = b->call("POST", "/session", caps);
  if (!session.is_object() || !session.contains("sessionId")) {
    *why = "no WebDriver session: " + session.dump();
    return nullptr;
  }
  b->session_ = session["sessionId"].get<std::string>();
  return b;
}

Browser::~Browser() {
  if (!session_.empty()) call("DELETE", "/session/" + session_);
  if (driver_.pid) kill_group(driver_, std::chrono::seconds(2));
}

json Browser::call(const std::string& method, const std::string& path, const json& body) {
  std::vector<std::string> argv = {"curl", "-s", "-X", method,
                                   fmt::format("http://127.0.0.1:{}{}", port_, path)};
  if (!body.is_null()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body.dump()});
  }
  Cmd c = run(argv);
  json out = json::parse(c.out, nullptr, false);
  if (out.is_discarded()) return json{{"error", c.out + c.err}};
  return out.contains("value") ? out["value"] : out;
}

void Browser::go(const std::string& url) {
  call("POST", fmt::format("/session/{}/url", session_), {{"url", url}});
}

json Browser::js(const std::string& script, const json& args) {
  return call("POST", fmt::format("/session/{}/execute/sync", session_),
              {{"script", script}, {"args", args}});
}

std::string Browser::find(const std::string& css) {
  json el = call("POST", fmt::format("/session/{}/element", session_),
                 {{"using", "css selector"}, {"value", css}});
  return el.is_object() && el.contains(kElement) ? el[kElement].get<std::string>() : "";
}

void Browser::type(const std::string& element, const std::string& text) {
  call("POST", fmt::format("/session/{}/element/{}/value", session_, element), {{"text", text}});
}

void Browser::click(const std::string& element) {
  call("POST", fmt::format("/session/{}/element/{}/click", session_, element), json::object());
}

std::string Browser::text(const std::string& element) {
  json t = call("GET", fmt::format("/session/{}/element/{}/text", session_, element));
  return t.is_string() ? t.get<std::string>() : "";
}

bool Browser::wait_for(const std::string& script, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    json v = js(script);
    if (v.is_boolean() && v.get<bool>()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void Browser::screenshot(const fs::path& png) {
  json data = call("GET", fmt::format("/session/{}/screenshot", session_));
  if (!data.is_string()) return;
  // base64 -> bytes
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = data.get<std::string>(), out;
  int bits = 0, value = 0;
  for (char c : in) {
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    value = (value << 6) | static_cast<int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  std::ofstream(png, std::ios::binary) << out;
}

}  // namespace runbot::test
