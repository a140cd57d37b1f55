// The "links" check on messages built here: block lists (operator file, operator and tenant store
// lists through TenantFacts), URI DNS lists through a fake resolver, shorteners, and URL tricks;
// an ordinary newsletter stays clean.
#include <gtest/gtest.h>

#include "symbols.h"

#include <filesystem>
#include <fstream>

#include "fake_resolver.h"
#include "links/links_check.h"
#include "message/message.h"

namespace mm::links {
namespace {

std::shared_ptr<const message::Message> html_mail(const std::string& html, const std::string& from = "news@shop.example") {
  return message::parse(std::make_shared<const std::string>(
      "From: Shop <" + from + ">\r\nTo: b@example.org\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"));
}

LinksOptions options() {
  LinksOptions o;
  auto s = read_list_file(std::filesystem::path(MM_LINKS_DATA) / "shorteners.txt");
  EXPECT_TRUE(s);
  o.shorteners = std::make_shared<DomainSet>(s ? *s : std::vector<std::string>{});
  return o;
}

std::vector<scan::Symbol> run(const LinksCheck& c, const message::Message& m, scan::Envelope env = {}) {
  std::vector<scan::Symbol> prior, out;
  c.run({m, env, prior}, out);
  return out;
}

using test_symbols::find;
using test_symbols::names;

TEST(LinksCheck, OrdinaryNewsletterIsClean) {
  LinksCheck c(options());
  auto m = html_mail(
      "<p>Our autumn sale: <a href=\"https://click.esp.example/r/abc?u=https%3A%2F%2Fwww.shop.example%2Fsale\">"
      "www.shop.example</a> <img src=\"https://img.esp.example/open.gif\"> "
      "<a href=\"https://www.shop.example/unsubscribe?id=42\">Unsubscribe</a></p>");
  auto out = run(c, *m);
  EXPECT_TRUE(out.empty()) << names(out);
}

TEST(LinksCheck, UrlTricksNameTheUrl) {
  LinksCheck c(options());
  auto m = html_mail(
      "<a href=\"https://www.mybank.com@evil.test/login\">Log in</a>"
      "<a href=\"http://3405803781/x\">x</a>"
      "<a href=\"http://%65vil2.test/\">y</a>"
      "<a href=\"https://bit.ly/3abc\">z</a>");
  auto out = run(c, *m);
  auto* u = find(out, "URI_USERINFO_DOMAIN");
  ASSERT_TRUE(u) << names(out);
  EXPECT_EQ(u->detail, "href https://www.mybank.com@evil.test/login shows www.mybank.com, goes to evil.test");
  EXPECT_EQ(u->hint, scan::Class::Phishing);
  ASSERT_TRUE(find(out, "URI_IP_OBFUSCATED"));
  EXPECT_EQ(find(out, "URI_IP_OBFUSCATED")->detail, "href http://3405803781/x is the address 203.0.113.5 in disguise");
  ASSERT_TRUE(find(out, "URI_IP_LITERAL"));
  ASSERT_TRUE(find(out, "URI_OBFUSCATED"));
  EXPECT_NE(find(out, "URI_OBFUSCATED")->detail.find("percent-encoded host"), std::string::npos);
  ASSERT_TRUE(find(out, "URI_SHORTENER"));
  EXPECT_EQ(find(out, "URI_SHORTENER")->detail, "href https://bit.ly/3abc (shortener bit.ly)");
  // user:password@ before a host that is not a domain is weaker.
  auto plain = html_mail("<a href=\"https://user:pw@files.example/\">files</a>");
  auto o2 = run(c, *plain);
  EXPECT_TRUE(find(o2, "URI_USERINFO")) << names(o2);
  EXPECT_FALSE(find(o2, "URI_USERINFO_DOMAIN"));
}

TEST(LinksCheck, OperatorFileAndStoreListsAndTenantList) {
  auto dir = std::filesystem::temp_directory_path() / ("mm-lc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "block.txt") << "filed.test\n";
  }
  auto o = options();
  o.operator_file = std::make_shared<FileDomainSet>(dir / "block.txt");
  LinksCheck c(o);
  auto m1 = html_mail("<a href=\"https://www.filed.test/x\">a</a>");
  auto out = run(c, *m1);
  ASSERT_TRUE(find(out, "URI_BLOCKLISTED")) << names(out);
  EXPECT_EQ(find(out, "URI_BLOCKLISTED")->detail, "href https://www.filed.test/x (filed.test on the operator's block list)");

  auto facts = std::make_shared<scan::TenantFacts>();
  facts->name = "acme";
  facts->url_blocklist = {"tenantblocked.test"};
  facts->operator_url_blocklist = {"stored.test"};
  scan::Envelope env;
  env.tenant = "acme";
  env.tenant_facts = facts;
  auto m2 = html_mail("<a href=\"https://a.tenantblocked.test/\">a</a> <img src=\"http://stored.test/p.gif\">");
  out = run(c, *m2, env);
  ASSERT_TRUE(find(out, "URI_TENANT_BLOCKLISTED")) << names(out);
  EXPECT_EQ(find(out, "URI_TENANT_BLOCKLISTED")->detail,
            "href https://a.tenantblocked.test/ (tenantblocked.test on tenant acme's block list)");
  ASSERT_TRUE(find(out, "URI_BLOCKLISTED"));
  EXPECT_EQ(find(out, "URI_BLOCKLISTED")->detail, "img http://stored.test/p.gif (stored.test on the operator's block list)");
  // Another tenant's mail is not affected by acme's list.
  auto other = std::make_shared<scan::TenantFacts>();
  other->name = "other";
  env.tenant_facts = other;
  EXPECT_FALSE(find(run(c, *m2, env), "URI_TENANT_BLOCKLISTED"));
  std::filesystem::remove_all(dir);
}

TEST(LinksCheck, UriDnsListThroughFakeResolver) {
  auto r = std::make_shared<FakeResolver>();
  r->answers["evil.test.multi.uribl.example"] = {false, {(127u << 24) | 8u}};
  auto o = options();
  o.resolver = r;
  o.zones = {{"multi.uribl.example"}};
  LinksCheck c(o);
  auto m = html_mail("<a href=\"https://login.evil.test/a\">a</a> <a href=\"https://fine.example/\">b</a>");
  auto out = run(c, *m);
  auto* s = find(out, "URI_DNSBL");
  ASSERT_TRUE(s) << names(out);
  EXPECT_EQ(s->detail, "href https://login.evil.test/a (evil.test in multi.uribl.example: phishing, 127.0.0.8)");
  EXPECT_EQ(s->hint, scan::Class::Phishing);
  // Registrable domains are asked, each once.
  EXPECT_EQ(r->asked, (std::vector<std::string>{"evil.test.multi.uribl.example", "fine.example.multi.uribl.example"}));
  EXPECT_FALSE(find(run(c, *html_mail("<a href=\"https://fine.example/\">b</a>")), "URI_DNSBL"));
}

}  // namespace
}  // namespace mm::links
