// The site's pure helpers: times for humans, file names and links, badges.
#include <gtest/gtest.h>

#include <regex>

#include "site/names.h"
#include "site/site.h"
#include "site/template.h"
#include "site/view.h"
#include "util/clock.h"

namespace runbot {
namespace {

constexpr Time kNow = 1795000000;

TEST(SiteText, AgesDurationsAndTimes) {
  EXPECT_EQ(short_time(1795521600), "2026-11-24 12:00 UTC");
  EXPECT_EQ(duration_text(42), "42 s");
  EXPECT_EQ(duration_text(185), "3 min 5 s");
  EXPECT_EQ(duration_text(4800), "1 h 20 min");
  EXPECT_EQ(parse_iso8601(iso8601(kNow)), kNow);
  EXPECT_FALSE(parse_iso8601("2026-11-24 12:00:00"));
  EXPECT_FALSE(parse_iso8601(""));
}

// Templates escape with our html_escape: it must say exactly what kainjow's own would.
TEST(SiteText, HtmlEscapeIsKainjowsEscape) {
  std::vector<std::string> texts = {"",
                                    "plain text",
                                    "&",
                                    "<<>>",
                                    "\"'",
                                    "a&b<c>d\"e'f",
                                    "x<img/src=x/onerror=alert(1)>",
                                    "caf\xc3\xa9 & \xff\xfe",
                                    "&amp; already",
                                    "tail<",
                                    ">head",
                                    std::string(1000, 'z') + "'"};
  for (int c = 0; c < 256; ++c) texts.push_back(std::string(3, static_cast<char>(c)));
  for (const std::string& t : texts)
    EXPECT_EQ(html_escape(t), kainjow::mustache::html_escape<std::string>(t)) << t;
}

// A README can embed badge/master.svg: plain names are their own key; any other name is encoded
// with a '~' (never part of a plain name), so no two groups share a file.
TEST(SiteNames, GroupKeysAreReadableForPlainNamesAndEncodedOtherwise) {
  for (const std::string& plain : std::vector<std::string>{"master", "trunk", "6.0", "trunk-fix_42",
                                                           "A.b-C", "0", std::string(100, 'a')})
    EXPECT_EQ(group_key(plain), plain);
  EXPECT_EQ(badge_path("master"), "badge/master.svg");
  EXPECT_EQ(group_page_path("6.0"), "group/6.0.html");
  EXPECT_EQ(group_page_path("6.0", 3), "group/6.0/3.html");
  // Not plain: a leading '.', '-' or '_', a slash, a space, too long, not ASCII, empty.
  EXPECT_EQ(group_key(".hidden"), "~2e68696464656e");
  EXPECT_EQ(group_key("-x"), "~2d78");
  EXPECT_EQ(group_key("_x"), "~5f78");
  EXPECT_EQ(group_key("a/b"), "~612f62");
  EXPECT_EQ(group_key(".."), "~2e2e");
  EXPECT_EQ(group_key("a b"), "~612062");
  EXPECT_EQ(group_key("caf\xc3\xa9"), "~636166c3a9");
  EXPECT_EQ(group_key(""), "~empty");
  EXPECT_NE(group_key(std::string(101, 'a')), std::string(101, 'a'));
  EXPECT_TRUE(std::regex_match(group_key(std::string(101, 'a')), std::regex("~h[0-9a-f]{16}")));
  EXPECT_NE(group_key(std::string(200, '/')), group_key(std::string(201, '/')));
  // The encoded form of one name is never another name's plain key.
  EXPECT_NE(group_key("t"), group_key("74"));
  EXPECT_EQ(url_encode("ERROR|Traceback (x)"), "ERROR%7CTraceback%20%28x%29");
}

TEST(SiteNames, Links) {
  EXPECT_EQ(log_href("jobs/230/logs/install.log"), "/jobs/230/logs/install.log");
  EXPECT_FALSE(log_href("jobs/230/logs/../x"));
  EXPECT_FALSE(log_href("jobs/x/logs/a.log"));
  EXPECT_FALSE(log_href("/etc/passwd"));
  EXPECT_TRUE(is_safe_artifact("coverage-html"));
  EXPECT_TRUE(is_safe_artifact("build/coverage"));
  EXPECT_FALSE(is_safe_artifact("../x"));
  EXPECT_FALSE(is_safe_artifact("a//b"));
  EXPECT_FALSE(is_safe_artifact("a b"));
  EXPECT_FALSE(is_plain_http_url("javascript:alert(1)"));
}

TEST(SiteBadge, ColouredByResult) {
  EXPECT_NE(render_badge("ok").find("#2e9e44"), std::string::npos);
  EXPECT_NE(render_badge("warn").find("#e8830c"), std::string::npos);
  EXPECT_NE(render_badge("ko").find("#d73a3a"), std::string::npos);
  EXPECT_NE(render_badge("ko").find(">runbot<"), std::string::npos);
  EXPECT_NE(render_badge("").find(">unknown<"), std::string::npos);
  EXPECT_NE(render_badge("<x>").find(">unknown<"), std::string::npos);
}

}  // namespace
}  // namespace runbot

namespace runbot {
namespace {

// A branch named to reverse or hide text on the page shows its invisible characters instead.
TEST(SiteNames, InvisibleFormatCharactersAreShownEscaped) {
  EXPECT_EQ(html_escape("fix\u202Etxt.exe"), "fix&lt;U+202E&gt;txt.exe");
  EXPECT_EQ(html_escape("a\u200Bb\u2066c\uFEFF"), "a&lt;U+200B&gt;b&lt;U+2066&gt;c&lt;U+FEFF&gt;");
  EXPECT_EQ(html_escape("caf\u00e9 \u2014 \u20ac <b>"), "caf\u00e9 \u2014 \u20ac &lt;b&gt;");
  EXPECT_EQ(html_escape(std::string("\xE2")), std::string("\xE2"));  // a lone byte is kept
}

}  // namespace
}  // namespace runbot
