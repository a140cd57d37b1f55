#include "smtp/address.h"

#include <gtest/gtest.h>

#include <random>

using mm::smtp::Address;
using mm::smtp::has_routing_tricks;
using mm::smtp::parse_path_arg;

namespace {

Address from(std::string_view arg, bool utf8 = false) {
  auto r = parse_path_arg(arg, "FROM", utf8);
  EXPECT_TRUE(r.is_ok()) << arg << ": " << (r ? "" : r.error());
  return r ? r->addr : Address{};
}

std::string error(std::string_view arg, std::string_view kw = "FROM", bool utf8 = false) {
  auto r = parse_path_arg(arg, kw, utf8);
  EXPECT_FALSE(r.is_ok()) << arg;
  return r ? "" : r.error();
}

}  // namespace

TEST(Address, Basic) {
  auto a = from("FROM:<User@Example.COM>");
  EXPECT_EQ(a.local, "User");
  EXPECT_EQ(a.domain, "example.com");
  EXPECT_FALSE(a.quoted_local);
  EXPECT_EQ(a.str(), "User@example.com");
}

TEST(Address, KeywordCaseSpaceAndBrackets) {
  EXPECT_EQ(from("from:<a@b.example>").str(), "a@b.example");
  EXPECT_EQ(from("From: <a@b.example>").str(), "a@b.example");
  EXPECT_EQ(from("FROM:a@b.example").str(), "a@b.example");
  EXPECT_EQ(from("FROM:a@b.example SIZE=10").str(), "a@b.example");
  EXPECT_EQ(parse_path_arg("to:<x@y.example>", "TO", false)->addr.str(), "x@y.example");
  error("FROM<a@b>");
  error("TO:<a@b>", "FROM");
  error("FROM:");
  error("FROM:  ");
}

TEST(Address, TrailingDotDropped) { EXPECT_EQ(from("FROM:<a@B.Example.>").domain, "b.example"); }

TEST(Address, NullPath) {
  auto r = parse_path_arg("FROM:<>", "FROM", false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->null_path);
  EXPECT_TRUE(r->addr.empty());
  EXPECT_EQ(r->addr.str(), "");
  EXPECT_NE(error("TO:<>", "TO").find("null"), std::string::npos);
}

TEST(Address, Params) {
  auto r = parse_path_arg("FROM:<a@b> size=123  Body=8BITMIME SMTPUTF8", "FROM", false);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->params.size(), 3u);
  EXPECT_EQ(r->params.at("SIZE"), "123");
  EXPECT_EQ(r->params.at("BODY"), "8BITMIME");
  EXPECT_EQ(r->params.at("SMTPUTF8"), "");
  EXPECT_NE(error("FROM:<a@b> SIZE=1 size=2").find("duplicate"), std::string::npos);
  error("FROM:<a@b> SIZE=");
  error("FROM:<a@b> =x");
  error("FROM:<a@b>SIZE=1");
  error("FROM:<a@b> SIZE=a=b");
}

TEST(Address, SourceRoute) {
  auto a = from("FROM:<@relay1.example,@relay2.example:user@d.example>");
  EXPECT_TRUE(a.had_source_route);
  EXPECT_EQ(a.str(), "user@d.example");
  EXPECT_TRUE(has_routing_tricks(a));
  error("FROM:<@relay1.example user@d.example>");
  error("FROM:<@:user@d.example>");
}

TEST(Address, QuotedLocal) {
  auto a = from(R"(FROM:<"john \"jr\" doe"@example.com>)");
  EXPECT_TRUE(a.quoted_local);
  EXPECT_EQ(a.local, R"(john "jr" doe)");
  EXPECT_EQ(a.str(), R"("john \"jr\" doe"@example.com)");
  auto b = from(R"(FROM:<"a>b"@example.com>)");
  EXPECT_EQ(b.local, "a>b");
  auto c = from(R"(FROM:<"plain"@example.com>)");
  EXPECT_EQ(c.str(), "plain@example.com");
  error(R"(FROM:<"unterminated@example.com>)");
  error("FROM:<\"a\x01\"@example.com>");
}

TEST(Address, AddressLiterals) {
  EXPECT_EQ(from("FROM:<a@[192.0.2.1]>").domain, "[192.0.2.1]");
  EXPECT_EQ(from("FROM:<a@[ipv6:2001:DB8::1]>").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(from("FROM:<a@[IPv6:::1]>").domain, "[IPv6:::1]");
  EXPECT_EQ(from("FROM:<a@[IPv6:1:2:3:4:5:6:7:8]>").domain, "[IPv6:1:2:3:4:5:6:7:8]");
  EXPECT_EQ(from("FROM:<a@[IPv6:::ffff:192.0.2.1]>").domain, "[IPv6:::ffff:192.0.2.1]");
  error("FROM:<a@[192.0.2.256]>");
  error("FROM:<a@[192.0.2]>");
  error("FROM:<a@[IPv6:1::2::3]>");
  error("FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>");
  error("FROM:<a@[IPv6:12345::1]>");
  error("FROM:<a@[x-tag:stuff]>");
  error("FROM:<a@[192.0.2.1>");
}

TEST(Address, RoutingTricks) {
  EXPECT_TRUE(has_routing_tricks(from(R"(FROM:<"u@evil"@d.example>)")));
  EXPECT_TRUE(has_routing_tricks(from("FROM:<u%evil@d.example>")));
  EXPECT_TRUE(has_routing_tricks(from("FROM:<evil!u@d.example>")));
  EXPECT_FALSE(has_routing_tricks(from("FROM:<u+tag@d.example>")));
}

TEST(Address, Utf8) {
  const char* arg = "FROM:<j\xC3\xBCrgen@m\xC3\xBC"
                    "ller.example>";
  EXPECT_NE(error(arg).find("SMTPUTF8"), std::string::npos);
  auto a = from(arg, true);
  EXPECT_EQ(a.local, "j\xC3\xBCrgen");
  EXPECT_EQ(a.domain, "m\xC3\xBCller.example");
  error("FROM:<j\xC3(rgen@example.com>", "FROM", true);     // invalid continuation
  error("FROM:<j\xC0\xAF@example.com>", "FROM", true);      // overlong
  error("FROM:<j\xED\xA0\x80@example.com>", "FROM", true);  // surrogate
  error("FROM:<a@b.example> X=\xC3\xBC");
  EXPECT_TRUE(parse_path_arg("FROM:<a@b.example> X=\xC3\xBC", "FROM", true));
}

TEST(Address, Rejects) {
  EXPECT_NE(error("FROM:<a@>").find("empty domain"), std::string::npos);
  EXPECT_NE(error("FROM:<a>").find("missing domain"), std::string::npos);
  EXPECT_NE(error("FROM:<@b.example>").find("source route"), std::string::npos);
  EXPECT_NE(error("FROM:<a@b\x01.example>").find("control"), std::string::npos);
  EXPECT_NE(error("FROM:<a\t@b.example>").find("control"), std::string::npos);
  error("FROM:<a b@c.example>");
  error("FROM:<a@b..example>");
  error("FROM:<a@-b.example>");
  error("FROM:<a@b.example");
  error("FROM:<a@b.example>>");
  error("FROM:<a(comment)@b.example>");
  error("FROM:<a@b,c.example>");
}

TEST(Address, Lengths) {
  std::string l64(64, 'a'), l65(65, 'a');
  EXPECT_TRUE(parse_path_arg("FROM:<" + l64 + "@b.example>", "FROM", false));
  EXPECT_NE(error("FROM:<" + l65 + "@b.example>").find("local part"), std::string::npos);
  std::string label(63, 'x'), dom;
  while (dom.size() < 256) dom += label + ".";
  EXPECT_NE(error("FROM:<a@" + dom + "com>").find("255"), std::string::npos);
  EXPECT_NE(error("FROM:<a@" + std::string(64, 'x') + ".com>").find("63"), std::string::npos);
  // 64 + 1 + 190 + 2 brackets = 257 > 256
  std::string d190 = label + "." + label + "." + label;  // 191 chars
  d190.pop_back();
  EXPECT_NE(error("FROM:<" + l64 + "@" + d190 + ">").find("256"), std::string::npos);
  d190.pop_back();
  EXPECT_TRUE(parse_path_arg("FROM:<" + l64 + "@" + d190 + ">", "FROM", false));
}

TEST(Address, PostmasterWithoutDomain) {
  auto r = parse_path_arg("TO:<Postmaster>", "TO", false);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->addr.local, "Postmaster");
  EXPECT_EQ(r->addr.domain, "");
  EXPECT_EQ(r->addr.str(), "Postmaster");
  error("TO:<someone>", "TO");
  error("FROM:<postmaster>");
}

TEST(Address, FuzzNoCrash) {
  std::mt19937 rng(7);
  const char alphabet[] = "<>@.:,\"\\ []=aZ09-_%!\x01\xC3\xBC\xFF";
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = (i % 2) ? "FROM:" : "TO:";
    int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % (sizeof(alphabet) - 1)];
    auto r = parse_path_arg(s, (i % 2) ? "FROM" : "TO", rng() % 2);
    if (r) {
      ++ok;
      EXPECT_LE(r->addr.local.size(), 64u);
      EXPECT_EQ(r->addr.domain.find_first_of("<> "), std::string::npos) << s;
      (void)r->addr.str();
    } else {
      EXPECT_FALSE(r.error().empty());
    }
  }
  EXPECT_GT(ok, 0);
}
