// A real headless Chromium driven through WebDriver (chromedriver on a free loopback port,
// started and stopped by its pid; HTTP through curl). For browser tests of the site.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/process.h"
#include "support/support.h"

namespace runbot::test {

class Browser {
 public:
  // Starts chromedriver and one session; nullptr (and `why`) when chromium or chromedriver is
  // missing or does not start.
  static std::unique_ptr<Browser> start(std::string* why);
  ~Browser();  // ends the session (Chromium quits), then stops chromedriver

  void go(const std::string& url);
  // Runs `script` (a function body; `arguments` as usual) in the page; returns its value.
  nlohmann::json js(const std::string& script,
                    const nlohmann::json& args = nlohmann::json::array());
  // The first element matching `css` (its WebDriver id), "" if none.
  std::string find(const std::string& css);
  void type(const std::string& element, const std::string& text);
  void click(const std::string& element);
  // Polls `script` (returning a boolean) until it is true or `seconds` passed; then true.
  bool wait_for(const std::string& script, double seconds);
  // The page's text content as the user sees it.
  std::string text(const std::string& element);
  void screenshot(const std::filesystem::path& png);

 private:
  Browser() = default;
  nlohmann::json call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr);
  TempDir profile_;
  int port_ = 0;
  ProcessId driver_;
  std::string session_;
};

}  // namespace runbot::test
