// Rendering of nginx/runbot.conf and nginx/nginx.conf from share/templates/.
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/names.h"
#include "site/names.h"
#include "site/nginx.h"
#include "site/template.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Values go between double quotes in the templates; these characters would end the string,
// escape it or start a variable there.
Status check_conf_value(const std::string& what, const std::string& value) {
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '$')
      return Error{
          fmt::format("{} cannot be written into the nginx config: {:?} contains a "
                      "quote, backslash, '$' or control character",
                      what, value)};
  return {};
}

// The config admits host names only; a Config built another way is checked again here.
Status check_domain(const std::string& domain) {
  if (!is_host_name(domain))
    return Error{fmt::format("runbot.domain {:?} is not a host name", domain)};
  return {};
}

constexpr const char* kGenerationToken = "@RUNBOT_GENERATION@";

// `.` is the only character of a safe artifact name that is special in a regex.
std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out;
}

Result<std::string> render(const std::string& name, const json& view) {
  auto t = load_template(name);
  if (!t) return t.error();
  // Every value was checked above: no HTML escaping in an nginx config.
  t->tmpl.set_custom_escape([](const std::string& s) { return s; });
  return t->render(view);
}

// A host:port nginx may proxy to: a host name or IPv4 address and a port.
bool is_upstream(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
    return false;
  int p = std::stoi(port);
  return p > 0 && p < 65536 && host.size() <= 253 &&
         host.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
             std::string::npos &&
         host[0] != '-' && host[0] != '.';
}

}  // namespace

NginxWorkers nginx_workers(const Config& config) {
  NginxWorkers w;
  if (geteuid() != 0 || config.runbot.nginx != "private") return w;
  for (const char* name : {"www-data", "nobody"}) {
    const passwd* pw = getpwnam(name);
    if (!pw || pw->pw_uid == 0) continue;
    const group* gr = getgrgid(pw->pw_gid);
    if (!gr) continue;
    w.staged = true;
    w.user = pw->pw_name;
    w.group = gr->gr_name;
    w.uid = pw->pw_uid;
    w.gid = pw->pw_gid;
    return w;
  }
  return w;
}

Result<std::string> render_nginx_conf(const Config& config, const Paths& paths,
                                      const std::vector<std::pair<int64_t, int>>& live) {
  std::vector<std::pair<int64_t, std::string>> addresses;
  for (const auto& [id, port] : live)
    if (port > 0 && port < 65536) addresses.emplace_back(id, fmt::format("127.0.0.1:{}", port));
  return render_nginx_conf_to(config, paths, addresses);
}

Result<std::string> render_nginx_conf_to(const Config& config, const Paths& paths,
                                         const std::vector<std::pair<int64_t, std::string>>& live) {
  const RunbotConfig& rc = config.runbot;
  if (auto st = check_domain(rc.domain); !st) return st.error();
  bool staged = nginx_workers(config).staged;
  std::string www = staged ? std::string(kNginxStage) + "/www" : paths.www().string();
  std::string jobs = staged ? std::string(kNginxStage) + "/jobs" : paths.jobs().string();
  if (auto st = check_conf_value("the state directory", paths.root.string()); !st)
    return st.error();
  json artifacts = json::array();
  for (const std::string& a : config.build.artifacts)
    if (is_safe_artifact(a)) artifacts.push_back({{"regex", regex_escape(a)}, {"path", a}});
  json instances = json::array();
  for (const auto& [id, address] : live)
    if (id > 0 && is_upstream(address)) instances.push_back({{"id", id}, {"upstream", address}});
  json view = {{"port", rc.nginx_port},
               {"domain", rc.domain},
               {"www", www},
               {"jobs", jobs},
               {"artifacts", artifacts},
               {"instances", instances},
               {"generation", kGenerationToken}};
  auto text = render("nginx-runbot.conf.mustache", view);
  if (!text) return text;
  // The generation is a hash of the file with the token in its place: the same config always
  // has the same generation, another config (almost surely) another one.
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64-bit
  for (unsigned char c : *text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  const std::string generation = fmt::format("{:016x}", h);
  for (size_t at; (at = text->find(kGenerationToken)) != std::string::npos;)
    text->replace(at, std::string_view(kGenerationToken).size(), generation);
  return text;
}

std::string nginx_conf_generation(const std::string& conf) {
  const std::string_view where = "location = /.runbot-generation", value = "return 200 \"";
  size_t at = conf.find(where);
  if (at == std::string::npos) return "";
  at = conf.find(value, at);
  if (at == std::string::npos) return "";
  at += value.size();
  size_t end = conf.find_first_of("\" ", at);
  return end == std::string::npos ? "" : conf.substr(at, end - at);
}

Result<std::string> render_nginx_main_conf(const Config& config, const Paths& paths) {
  std::string dir = paths.nginx().string();
  if (auto st = check_conf_value("the state directory", paths.root.string()); !st)
    return st.error();
  NginxWorkers w = nginx_workers(config);
  std::string tmp = w.staged ? std::string(kNginxStage) + "/tmp" : dir + "/tmp";
  json view = {{"dir", dir}, {"tmp", tmp}, {"user", nullptr}, {"mime_types", nullptr}};
  // As root, the workers run as an unprivileged user that reaches only what kNginxStage holds.
  if (w.staged) view["user"] = {{"name", w.user}, {"group", w.group}};
  std::error_code ec;
  if (fs::is_regular_file("/etc/nginx/mime.types", ec))
    view["mime_types"] = "/etc/nginx/mime.types";
  return render("nginx-main.conf.mustache", view);
}

}  // namespace runbot
