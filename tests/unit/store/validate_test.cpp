#include "store/validate.h"

#include <gtest/gtest.h>

#include <vector>

#include "store/store.h"

namespace mm::store {
namespace {

TEST(TlsMode, RoundTrips) {
  for (auto m : {TlsMode::None, TlsMode::Opportunistic, TlsMode::Required}) EXPECT_EQ(parse_tls_mode(to_string(m)), m);
  EXPECT_EQ(to_string(TlsMode::Required), "required");
  EXPECT_FALSE(parse_tls_mode("Required"));
  EXPECT_FALSE(parse_tls_mode(""));
}

TEST(Validate, TenantNames) {
  for (const std::string& ok : std::vector<std::string>{"a", "acme", "acme-2", "0day", std::string(63, 'x')})
    EXPECT_TRUE(check_tenant_name(ok)) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", "Acme", "ac_me", "ac me", "-acme", "acme-", "acme.org", std::string(64, 'x')})
    EXPECT_FALSE(check_tenant_name(bad)) << bad;
  EXPECT_EQ(check_tenant_name("Acme").message(),
            "tenant name 'Acme' is not valid (use only lower-case letters, digits and '-')");
}

TEST(Validate, TenantStatus) {
  EXPECT_TRUE(check_tenant_status("active"));
  EXPECT_TRUE(check_tenant_status("suspended"));
  EXPECT_FALSE(check_tenant_status("deleted"));
  EXPECT_FALSE(check_tenant_status("Active"));
}

TEST(Validate, DomainsAreNormalised) {
  auto d = normalize_domain("Example.COM.");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(*d, "example.com");
  EXPECT_EQ(*normalize_domain("a-b.c0.example.org"), "a-b.c0.example.org");
  EXPECT_EQ(*normalize_domain("xn--bcher-kva.de"), "xn--bcher-kva.de");
  EXPECT_EQ(*normalize_domain("XN--LS8H.la"), "xn--ls8h.la");
  std::string label63(63, 'a');
  EXPECT_TRUE(normalize_domain(label63 + ".com"));
}

TEST(Validate, BadDomainsHaveClearMessages) {
  auto r = normalize_domain("x..y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().rfind("domain 'x..y' is not a valid domain name", 0), 0u) << r.error();
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  long_name += "com";
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "example", "-a.com", "a-.com", "a_b.com", "a b.com", "1.2.3.4", "example.123",
                                std::string(64, 'a') + ".com", long_name, "ab--cd.com", "xn--.de", "xn--bcher-.de",
                                "xn--bcher-kva!.de", "example.com..", "*.example.com"})
    EXPECT_FALSE(normalize_domain(bad)) << bad;
  auto idn = normalize_domain(
      "b\xc3\xbc"
      "cher.de");
  ASSERT_FALSE(idn);
  EXPECT_NE(idn.error().find("punycode"), std::string::npos) << idn.error();
  EXPECT_NE(idn.error().find("\\xc3\\xbc"), std::string::npos) << idn.error();
}

TEST(Validate, PunycodeDecodes) {
  EXPECT_EQ(punycode_decode("bcher-kva"), std::u32string(U"b\u00fccher"));
  EXPECT_EQ(punycode_decode("ls8h"), std::u32string(U"\U0001F4A9"));
  // RFC 3492 section 7.1 sample (B): Chinese (simplified).
  EXPECT_EQ(punycode_decode("ihqwcrb4cv8a8dqg056pqjye"),
            std::u32string(U"\u4ed6\u4eec\u4e3a\u4ec0\u4e48\u4e0d\u8bf4\u4e2d\u6587"));
  EXPECT_FALSE(punycode_decode("bcher-kv!"));
  EXPECT_FALSE(punycode_decode("zzzzzzzzzzzzzzzzzzzzzzzz"));
}

TEST(Validate, RouteHosts) {
  EXPECT_EQ(*normalize_route_host("MX1.Example.com."), "mx1.example.com");
  EXPECT_EQ(*normalize_route_host("relay"), "relay");
  EXPECT_EQ(*normalize_route_host("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(*normalize_route_host("[2001:DB8::1]"), "2001:db8::1");
  EXPECT_EQ(*normalize_route_host("2001:db8:0:0::1"), "2001:db8::1");
  for (const std::string& bad : std::vector<std::string>{"", "256.1.1.1", "1.2.3", "[1.2.3.4]", "exa mple.com",
                                                         "host_name", "::g", "[]", "a..b"})
    EXPECT_FALSE(normalize_route_host(bad)) << bad;
  EXPECT_EQ(normalize_route_host("a..b").error().rfind("route host 'a..b' is not a valid hostname or IP address", 0),
            0u);
}

TEST(Validate, Addresses) {
  EXPECT_EQ(*normalize_address("John.Doe@Example.COM"), "john.doe@example.com");
  EXPECT_EQ(*normalize_address("a+tag@example.com."), "a+tag@example.com");
  for (const std::string& bad : std::vector<std::string>{
           "", "nodomain", "@example.com", "a@", "a..b@example.com", ".a@example.com", "a.@example.com",
           "a b@example.com", "a@x..y", "a@localhost", "a\"b@example.com", std::string(65, 'a') + "@example.com"})
    EXPECT_FALSE(normalize_address(bad)) << bad;
}

}  // namespace
}  // namespace mm::store
