// URL normalisation: each trick a phishing link uses to hide where it goes, and extraction of
// every URL of a parsed message.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_resolver.h"
#include "links/lists.h"
#include "links/uribl.h"
#include "links/url.h"
#include "message/message.h"

namespace mm::links {
namespace {

Url norm(std::string_view raw) {
  auto u = normalize(raw);
  EXPECT_TRUE(u) << raw;
  return u ? *u : Url{};
}

TEST(Normalize, PlainUrl) {
  auto u = norm("https://www.Example.CO.UK:8443/a/b?c=d#e");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "www.example.co.uk");
  EXPECT_EQ(u.registrable, "example.co.uk");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/a/b?c=d#e");
  EXPECT_EQ(u.tricks, 0u);
  EXPECT_FALSE(u.ip);
  EXPECT_EQ(norm("www.example.org/x").host, "www.example.org");
  EXPECT_EQ(norm("//cdn.example.net/x.png").host, "cdn.example.net");
}

TEST(Normalize, NotWebUrls) {
  EXPECT_FALSE(normalize("mailto:someone@example.org"));
  EXPECT_FALSE(normalize("javascript:alert(1)"));
  EXPECT_FALSE(normalize("#top"));
  EXPECT_FALSE(normalize("http://"));
  EXPECT_FALSE(normalize(""));
}

TEST(Normalize, UserinfoTrick) {
  auto u = norm("https://bank.example@evil.test/login");
  EXPECT_EQ(u.host, "evil.test");
  EXPECT_EQ(u.userinfo, "bank.example");
  EXPECT_TRUE(u.tricks & kUserinfo);
  // The last '@' before the path wins, as in browsers.
  EXPECT_EQ(norm("http://a@b.example@evil.test/").host, "evil.test");
  // An '@' in the query is not userinfo.
  auto q = norm("https://good.example/?mail=a@evil.test");
  EXPECT_EQ(q.host, "good.example");
  EXPECT_FALSE(q.tricks & kUserinfo);
}

TEST(Normalize, NumericIpHosts) {
  auto dec = norm("http://3405803781/x");  // 203.0.113.5 as one decimal number
  EXPECT_EQ(dec.host, "203.0.113.5");
  EXPECT_TRUE(dec.ip);
  EXPECT_TRUE(dec.tricks & kNumericIp);
  EXPECT_EQ(norm("http://0xCB007105/").host, "203.0.113.5");
  EXPECT_EQ(norm("http://0313.0.0161.05/").host, "203.0.113.5");  // octal parts
  EXPECT_EQ(norm("http://0xcb.0.113.5/").host, "203.0.113.5");
  EXPECT_EQ(norm("http://203.7345/").host, "203.0.28.177");       // a.b form
  auto plain = norm("http://203.0.113.5/");
  EXPECT_TRUE(plain.ip);
  EXPECT_FALSE(plain.tricks & kNumericIp);
  auto v6 = norm("http://[2001:DB8::1]:8080/");
  EXPECT_EQ(v6.host, "[2001:db8::1]");
  EXPECT_TRUE(v6.ip);
  EXPECT_EQ(v6.port, 8080);
}

TEST(Normalize, ParseIpv4) {
  EXPECT_EQ(parse_ipv4("127.0.0.1").value_or(""), "127.0.0.1");
  EXPECT_EQ(parse_ipv4("2130706433").value_or(""), "127.0.0.1");
  EXPECT_EQ(parse_ipv4("0x7f.1").value_or(""), "127.0.0.1");
  EXPECT_FALSE(parse_ipv4("256.1.1.1"));
  EXPECT_FALSE(parse_ipv4("1.2.3.example"));
  EXPECT_FALSE(parse_ipv4("08.1.1.1"));  // 8 is not an octal digit
  EXPECT_FALSE(parse_ipv4("1.2.3.4.5"));
  EXPECT_FALSE(parse_ipv4("4294967296"));
}

TEST(Normalize, BackslashesCaseWhitespaceEntities) {
  auto b = norm("http:\\\\evil.test\\login");
  EXPECT_EQ(b.host, "evil.test");
  EXPECT_TRUE(b.tricks & kBackslash);
  EXPECT_EQ(b.path, "/login");
  auto c = norm("HtTpS://EVIL.Test/");
  EXPECT_EQ(c.host, "evil.test");
  EXPECT_EQ(c.scheme, "https");
  EXPECT_TRUE(c.tricks & kMixedCaseScheme);
  auto w = norm("https://ev\nil.te\tst/");
  EXPECT_EQ(w.host, "evil.test");
  EXPECT_TRUE(w.tricks & kWhitespace);
  auto e = norm("&#104;ttps://&#x65;vil.test/&amp;x");
  EXPECT_EQ(e.host, "evil.test");
  EXPECT_TRUE(e.tricks & kEntities);
  auto q = norm("http://www.example.com/c.cgi?a&amp;b");  // HTML escaping in a query: no trick
  EXPECT_EQ(q.path, "/c.cgi?a&b");
  EXPECT_FALSE(q.tricks & kEntities);
  EXPECT_FALSE(norm("http://example.net/&#65279;x").tricks & kEntities);
}

TEST(Normalize, PercentEncodedHostAndFullwidthDots) {
  auto p = norm("http://%65%76%69%6c.test/%41");
  EXPECT_EQ(p.host, "evil.test");
  EXPECT_TRUE(p.tricks & kPercentHost);
  EXPECT_EQ(p.path, "/A");
  auto f = norm("http://evil\xE3\x80\x82test/");  // ideographic full stop
  EXPECT_EQ(f.host, "evil.test");
  EXPECT_TRUE(f.tricks & kFullwidthDot);
  EXPECT_FALSE(normalize("http://ev%20il.test/"));  // a space in a host: not a host
}

TEST(Normalize, IdnBothWays) {
  // "pаypal.com" with a Cyrillic а (U+0430).
  auto u = norm("https://p\xD0\xB0ypal.com/signin");
  EXPECT_EQ(u.host, "xn--pypal-4ve.com");
  EXPECT_EQ(u.host_unicode, "p\xD0\xB0ypal.com");
  EXPECT_TRUE(u.idn);
  EXPECT_EQ(u.registrable, "xn--pypal-4ve.com");
  auto back = norm("https://XN--PYPAL-4VE.com/");
  EXPECT_EQ(back.host, "xn--pypal-4ve.com");
  EXPECT_EQ(back.host_unicode, "p\xD0\xB0ypal.com");
  EXPECT_EQ(to_ascii("B\xC3\xBC" "cher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(to_unicode("xn--bcher-kva.example"), "b\xC3\xBC" "cher.example");
  // Fullwidth Latin letters map to ASCII (UTS #46).
  EXPECT_EQ(norm("http://\xEF\xBD\x85vil.test/").host, "evil.test");
}

TEST(HostInText, WhatALinkTextShows) {
  EXPECT_EQ(host_in_text(" https://Secure.Example.com/login "), "secure.example.com");
  EXPECT_EQ(host_in_text("paypal.com"), "paypal.com");
  EXPECT_EQ(host_in_text("www.mybank.co.uk/secure"), "www.mybank.co.uk");
  EXPECT_EQ(host_in_text("Click here"), "");
  EXPECT_EQ(host_in_text("Visit paypal.com today"), "");  // prose, not a URL
  EXPECT_EQ(host_in_text("invoice.pdf"), "");
  EXPECT_EQ(host_in_text("p\xD0\xB0ypal.com"), "xn--pypal-4ve.com");
}

std::shared_ptr<const message::Message> parse(const std::string& s) {
  return message::parse(std::make_shared<const std::string>(s));
}

TEST(Extract, EverySourceOfAParsedMessage) {
  auto m = parse(
      "From: a@sender.example\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
      "--XX\r\nContent-Type: text/html\r\n\r\n"
      "<p>Hi <a href=\"https://click.esp.example/r?u=https%3A%2F%2Fwww.shop.example%2Fsale\">the sale</a>"
      "<img src=\"https://img.esp.example/p.gif\">"
      "<form action=\"http://collect.example/post.php\"><input type=password></form></p>\r\n"
      "--XX\r\nContent-Type: text/plain\r\n\r\nPlain http://plain.example/a.\r\n"
      "--XX\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\n"
      "see https://attached.example/doc here\r\n"
      "--XX--\r\n");
  auto urls = extract(*m);
  auto find = [&](const std::string& host) -> const Url* {
    for (auto& u : urls)
      if (u.host == host) return &u;
    return nullptr;
  };
  ASSERT_TRUE(find("click.esp.example"));
  EXPECT_EQ(find("click.esp.example")->source, Source::Href);
  EXPECT_EQ(find("click.esp.example")->text, "the sale");
  ASSERT_TRUE(find("img.esp.example"));
  EXPECT_EQ(find("img.esp.example")->source, Source::Image);
  ASSERT_TRUE(find("collect.example"));
  EXPECT_EQ(find("collect.example")->source, Source::Form);
  ASSERT_TRUE(find("plain.example"));
  EXPECT_EQ(find("plain.example")->source, Source::Text);
  ASSERT_TRUE(find("attached.example"));
  EXPECT_EQ(find("attached.example")->source, Source::Attachment);
  ASSERT_TRUE(find("www.shop.example"));  // carried in the tracking link's query
  EXPECT_EQ(find("www.shop.example")->source, Source::Redirect);
  EXPECT_EQ(m->password_fields, 1u);
}

TEST(Lists, DomainSetMatchesNamesBelowAnEntry) {
  DomainSet s({"evil.test", "203.0.113.9", "B\xC3\xBC" "cher.example", "not a host"});
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.match("evil.test"), "evil.test");
  EXPECT_EQ(s.match("www.login.evil.test"), "evil.test");
  EXPECT_EQ(s.match("notevil.test"), "");
  EXPECT_EQ(s.match("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(s.match("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_FALSE(s.contains("test"));
}

TEST(Lists, FileIsReReadWhenItChanges) {
  auto dir = std::filesystem::temp_directory_path() / ("mm-links-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "block.txt";
  {
    std::ofstream(path) << "# operator list\nevil.test\n";
  }
  FileDomainSet f(path, std::chrono::milliseconds(0));
  EXPECT_TRUE(f.get()->contains("a.evil.test"));
  EXPECT_FALSE(f.get()->contains("worse.test"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::ofstream(path) << "worse.test\n  other.test  # comment\n";
  }
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(1));
  EXPECT_TRUE(f.get()->contains("worse.test"));
  EXPECT_TRUE(f.get()->contains("other.test"));
  EXPECT_FALSE(f.get()->contains("evil.test"));
  // A file that disappears keeps the last good list.
  std::filesystem::remove(path);
  EXPECT_TRUE(f.get()->contains("worse.test"));
  EXPECT_FALSE(f.last_error().empty());
  std::filesystem::remove_all(dir);
}

TEST(Uribl, QueryNamesAndBits) {
  EXPECT_EQ(uribl_query_name("evil.test", "multi.uribl.example"), "evil.test.multi.uribl.example");
  EXPECT_EQ(uribl_query_name("203.0.113.7", "multi.uribl.example"), "7.113.0.203.multi.uribl.example");
  EXPECT_EQ(uribl_query_name("[2001:db8::1]", "z.example"), "");
  EXPECT_EQ(uribl_bits(8), "phishing");
  EXPECT_EQ(uribl_bits(8 | 16 | 64), "phishing,malware,abuse");
  EXPECT_EQ(uribl_bits(2), "listed");
}

TEST(Uribl, LookupThroughAFakeResolver) {
  FakeResolver r;
  r.answers["evil.test.z.example"] = {false, {(127u << 24) | 8u}};
  r.answers["refused.test.z.example"] = {false, {(127u << 24) | 1u}};     // query refused: not a listing
  r.answers["redirect.test.z.example"] = {false, {(198u << 24) | 51u}};   // NXDOMAIN hijack: ignored
  r.answers["broken.test.z.example"] = {true, {}};
  r.answers["7.113.0.203.z.example"] = {false, {(127u << 24) | 16u}};
  auto hits = uribl_lookup(r, {{"z.example"}},
                           {"evil.test", "refused.test", "redirect.test", "broken.test", "clean.test", "203.0.113.7"},
                           100, std::chrono::steady_clock::now() + std::chrono::seconds(1));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].domain, "evil.test");
  EXPECT_TRUE(hits[0].phishing);
  EXPECT_EQ(hits[0].lists, "phishing");
  EXPECT_EQ(hits[1].domain, "203.0.113.7");
  EXPECT_TRUE(hits[1].malware);
  EXPECT_EQ(r.asked.size(), 6u);
  // The query budget is respected.
  r.asked.clear();
  uribl_lookup(r, {{"z.example"}, {"y.example"}}, {"a.test", "b.test"}, 3, std::chrono::steady_clock::now());
  EXPECT_EQ(r.asked.size(), 3u);
}

}  // namespace
}  // namespace mm::links
