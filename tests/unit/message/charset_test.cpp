#include <gtest/gtest.h>

#include "message/detail.h"
#include "message/message.h"
#include "test_util.h"

namespace mm::message {
namespace {
using test::has_finding;
using test::P;

std::shared_ptr<const Message> body(const std::string& charset, const std::string& bytes,
                                    const std::string& cte = "8bit") {
  std::string msg = "Subject: t\nMIME-Version: 1.0\nContent-Type: text/plain";
  if (!charset.empty()) msg += "; charset=\"" + charset + "\"";
  msg += "\nContent-Transfer-Encoding: " + cte + "\n\n" + bytes;
  return P(msg);
}

TEST(CharsetTest, Latin1) {
  auto m = body("ISO-8859-1", "caf\xE9 \xA3" "5\n");
  EXPECT_EQ(m->text, "café £5\n");
  EXPECT_TRUE(m->findings.empty()) << test::findings(*m);
}

TEST(CharsetTest, Windows1252) {
  auto m = body("windows-1252", "\x80 \x93quoted\x94 \x85\n");
  EXPECT_EQ(m->text, "€ “quoted” …\n");
}

TEST(CharsetTest, Latin1LabelReadAsWindows1252) {  // as every browser / MUA does
  EXPECT_EQ(body("iso-8859-1", "\x93x\x94\n")->text, "“x”\n");
}

TEST(CharsetTest, Iso2022Jp) {
  auto m = body("ISO-2022-JP", "\x1b$B$3$s$K$A$O\x1b(B world\n", "7bit");
  EXPECT_EQ(m->text, "こんにちは world\n");
  EXPECT_TRUE(m->findings.empty()) << test::findings(*m);
}

TEST(CharsetTest, ShiftJis) {
  auto m = body("Shift_JIS", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\n");
  EXPECT_EQ(m->text, "こんにちは\n");
}

TEST(CharsetTest, ShiftJisBase64) {
  auto m = body("shift_jis", "grGC8YLJgr+CzQ==\n", "base64");
  EXPECT_EQ(m->text, "こんにちは");
}

TEST(CharsetTest, Utf8) {
  auto m = body("utf-8", "Grüße 👋\n");
  EXPECT_EQ(m->text, "Grüße 👋\n");
  EXPECT_TRUE(m->findings.empty());
}

TEST(CharsetTest, InvalidUtf8IsReplacedAndNoted) {
  auto m = body("utf-8", "ok \xC3\x28 \xED\xA0\x80 end\n");
  EXPECT_EQ(m->text, "ok \xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end\n");
  EXPECT_TRUE(has_finding(*m, "charset_conversion_error"));
}

TEST(CharsetTest, UndeclaredEightBitFallsBackToWindows1252) {
  EXPECT_EQ(body("", "caf\xE9\n")->text, "café\n");
  EXPECT_EQ(body("us-ascii", "caf\xE9\n")->text, "café\n");
  EXPECT_EQ(body("", "café\n")->text, "café\n");  // undeclared but valid UTF-8 stays UTF-8
}

TEST(CharsetTest, UnknownCharsetFallsBackAndIsNoted) {
  auto m = body("x-no-such-charset", "caf\xE9\n");
  EXPECT_EQ(m->text, "café\n");
  EXPECT_TRUE(has_finding(*m, "unknown_charset"));
  auto u = body("x-no-such-charset", "café\n");
  EXPECT_EQ(u->text, "café\n");
}

TEST(CharsetTest, BrokenMultibyteSequences) {
  auto m = body("shift_jis", "\x82\xb1\x82\n");  // truncated second character
  EXPECT_EQ(m->text.substr(0, 3), "こ");
  EXPECT_TRUE(has_finding(*m, "charset_conversion_error"));
}

TEST(CharsetTest, KoreanAndChineseAliases) {
  EXPECT_EQ(body("ks_c_5601-1987", "\xc7\xd1\xb1\xb9\n")->text, "한국\n");
  EXPECT_EQ(body("gb2312", "\xd6\xd0\xce\xc4\n")->text, "中文\n");
  EXPECT_EQ(body("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4\n")->text, "Привет\n");
}

TEST(CharsetDetailTest, Utf8Floor) {
  const std::string s = "aé€";  // 1 + 2 + 3 bytes
  EXPECT_EQ(detail::utf8_floor(s, 2), 1u);
  EXPECT_EQ(detail::utf8_floor(s, 3), 3u);
  EXPECT_EQ(detail::utf8_floor(s, 4), 3u);
  EXPECT_EQ(detail::utf8_floor(s, 5), 3u);
  EXPECT_EQ(detail::utf8_floor(s, 6), 6u);
  EXPECT_EQ(detail::utf8_floor(s, 100), 6u);
}

TEST(UrlTest, Host) {
  using detail::url_host;
  EXPECT_EQ(url_host("https://evil.test/login"), "evil.test");
  EXPECT_EQ(url_host("  HTTP://Evil.TEST.:443/x "), "evil.test");
  EXPECT_EQ(url_host("https://www.bank.example@evil.test/"), "evil.test");
  EXPECT_EQ(url_host("https:\\\\evil.test\\x"), "evil.test");
  EXPECT_EQ(url_host("https://ev\nil.test/"), "evil.test");
  EXPECT_EQ(url_host("//cdn.test/a.js"), "cdn.test");
  EXPECT_EQ(url_host("www.bank.example"), "www.bank.example");
  EXPECT_EQ(url_host("http://[::1]:80/"), "[::1]");
  EXPECT_EQ(url_host("http://evil.test?x=@y"), "evil.test");
  EXPECT_EQ(url_host("mailto:a@b.test"), "");
  EXPECT_EQ(url_host("javascript:alert(1)"), "");
  EXPECT_EQ(url_host("/relative"), "");
}

}  // namespace
}  // namespace mm::message
