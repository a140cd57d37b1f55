// SPF evaluator against an in-memory zone: every mechanism, modifiers, macros, the limits.
#include <gtest/gtest.h>

#include <random>

#include "auth/spf.h"

using namespace mm::auth;
using mm::dns::Type;

namespace {

SpfOutcome check(StaticZone& z, const std::string& ip, const std::string& sender, const std::string& helo = "mx.client.test") {
  auto answers = std::make_shared<AnswerSet>();
  SpfOutcome out;
  bool done = false;
  drive(z, answers, [&](Lookup& l) { out = spf_mailfrom(l, ip, sender, helo); },
        std::chrono::steady_clock::now() + std::chrono::seconds(5), [&] { done = true; });
  EXPECT_TRUE(done);
  return out;
}

SpfResult r(StaticZone& z, const std::string& ip, const std::string& sender) { return check(z, ip, sender).result; }

}  // namespace

TEST(Spf, BasicResultsByQualifier) {
  StaticZone z;
  z.add("pass.test", Type::TXT, "v=spf1 ip4:192.0.2.0/24 -all");
  z.add("soft.test", Type::TXT, "v=spf1 ~all");
  z.add("neutral.test", Type::TXT, "v=spf1 ?all");
  z.add("default.test", Type::TXT, "v=spf1 ip4:10.0.0.1");
  z.add("other.test", Type::TXT, "some other text");
  EXPECT_EQ(r(z, "192.0.2.77", "a@pass.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "198.51.100.1", "a@pass.test"), SpfResult::Fail);
  EXPECT_EQ(r(z, "198.51.100.1", "a@soft.test"), SpfResult::SoftFail);
  EXPECT_EQ(r(z, "198.51.100.1", "a@neutral.test"), SpfResult::Neutral);
  EXPECT_EQ(r(z, "198.51.100.1", "a@default.test"), SpfResult::Neutral);
  EXPECT_EQ(r(z, "198.51.100.1", "a@other.test"), SpfResult::None);
  EXPECT_EQ(r(z, "198.51.100.1", "a@missing.test"), SpfResult::None);
  auto o = check(z, "198.51.100.1", "a@pass.test");
  EXPECT_EQ(o.mechanism, "-all");
  EXPECT_EQ(o.domain, "pass.test");
}

TEST(Spf, AMxPtrExistsIp6) {
  StaticZone z;
  z.add("d.test", Type::TXT, "v=spf1 a mx:mail.d.test/24 -all");
  z.add("d.test", Type::A, "192.0.2.1");
  z.add("mail.d.test", Type::MX, "mx1.d.test", 10);
  z.add("mx1.d.test", Type::A, "198.51.100.10");
  EXPECT_EQ(r(z, "192.0.2.1", "x@d.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "198.51.100.200", "x@d.test"), SpfResult::Pass);  // /24 around the MX host
  EXPECT_EQ(r(z, "203.0.113.5", "x@d.test"), SpfResult::Fail);

  z.add("v6.test", Type::TXT, "v=spf1 ip6:2001:db8::/32 a//64 -all");
  z.add("v6.test", Type::AAAA, "2001:db9:1:2::1");
  EXPECT_EQ(r(z, "2001:db8::5", "x@v6.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "2001:db9:1:2:ffff::1", "x@v6.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "2001:dba::1", "x@v6.test"), SpfResult::Fail);
  EXPECT_EQ(r(z, "::ffff:192.0.2.1", "x@d.test"), SpfResult::Pass);  // IPv4-mapped is IPv4

  z.add("ptr.test", Type::TXT, "v=spf1 ptr -all");
  z.add("1.2.0.192.in-addr.arpa", Type::PTR, "host.ptr.test");
  z.add("host.ptr.test", Type::A, "192.0.2.1");
  z.add("2.2.0.192.in-addr.arpa", Type::PTR, "liar.ptr.test");  // forward does not confirm
  z.add("liar.ptr.test", Type::A, "10.9.9.9");
  EXPECT_EQ(r(z, "192.0.2.1", "x@ptr.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "192.0.2.2", "x@ptr.test"), SpfResult::Fail);

  z.add("ex.test", Type::TXT, "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all");
  z.add("1.2.0.192.bob._spf.ex.test", Type::A, "127.0.0.2");  // l1r+-: "bob-smith" -> "bob"
  EXPECT_EQ(r(z, "192.0.2.1", "bob-smith@ex.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "192.0.2.1", "alice@ex.test"), SpfResult::Fail);
}

TEST(Spf, IncludeAndRedirect) {
  StaticZone z;
  z.add("inc.test", Type::TXT, "v=spf1 include:provider.test -all");
  z.add("provider.test", Type::TXT, "v=spf1 ip4:192.0.2.0/24 ~all");
  EXPECT_EQ(r(z, "192.0.2.9", "a@inc.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "10.0.0.1", "a@inc.test"), SpfResult::Fail);  // the include's ~all is "no match"
  z.add("incnone.test", Type::TXT, "v=spf1 include:nothing.test -all");
  EXPECT_EQ(r(z, "10.0.0.1", "a@incnone.test"), SpfResult::PermError);
  z.add("red.test", Type::TXT, "v=spf1 redirect=provider.test");
  EXPECT_EQ(r(z, "10.0.0.1", "a@red.test"), SpfResult::SoftFail);
  auto o = check(z, "10.0.0.1", "a@red.test");
  EXPECT_EQ(o.domain, "red.test");  // the identity stays the MAIL FROM domain
  z.add("rednone.test", Type::TXT, "v=spf1 redirect=nothing.test");
  EXPECT_EQ(r(z, "10.0.0.1", "a@rednone.test"), SpfResult::PermError);
  z.add("redall.test", Type::TXT, "v=spf1 ?all redirect=provider.test");  // all wins
  EXPECT_EQ(r(z, "10.0.0.1", "a@redall.test"), SpfResult::Neutral);
}

TEST(Spf, Errors) {
  StaticZone z;
  z.add("two.test", Type::TXT, "v=spf1 -all");
  z.add("two.test", Type::TXT, "v=spf1 +all");
  EXPECT_EQ(r(z, "10.0.0.1", "a@two.test"), SpfResult::PermError);
  z.add("bad.test", Type::TXT, "v=spf1 ip4:10.0.0.1/33 -all");
  EXPECT_EQ(r(z, "10.0.0.1", "a@bad.test"), SpfResult::PermError);
  z.add("unknown.test", Type::TXT, "v=spf1 foo:bar -all");
  EXPECT_EQ(r(z, "10.0.0.1", "a@unknown.test"), SpfResult::PermError);
  z.add("unknownmod.test", Type::TXT, "v=spf1 foo=bar -all");  // unknown modifiers are ignored
  EXPECT_EQ(r(z, "10.0.0.1", "a@unknownmod.test"), SpfResult::Fail);
  z.add("late.test", Type::TXT, "v=spf1 +all ip4:999.1.1.1");  // syntax errors anywhere count
  EXPECT_EQ(r(z, "10.0.0.1", "a@late.test"), SpfResult::PermError);
  z.add("dup.test", Type::TXT, "v=spf1 redirect=a.test redirect=b.test");
  EXPECT_EQ(r(z, "10.0.0.1", "a@dup.test"), SpfResult::PermError);

  z.add("temp.test", Type::TXT, "v=spf1 a:broken.test -all");
  z.fail("broken.test", Type::A);
  auto o = check(z, "10.0.0.1", "a@temp.test");
  EXPECT_EQ(o.result, SpfResult::TempError);
  EXPECT_NE(o.reason.find("broken.test"), std::string::npos);
  z.fail("servfail.test", Type::TXT);
  EXPECT_EQ(r(z, "10.0.0.1", "a@servfail.test"), SpfResult::TempError);
}

TEST(Spf, LookupAndVoidLimits) {
  StaticZone z;
  // A chain of includes: 10 lookups are allowed, the 11th is a permerror.
  for (int i = 0; i < 12; ++i) {
    std::string next = "inc" + std::to_string(i + 1) + ".test";
    z.add("inc" + std::to_string(i) + ".test", Type::TXT,
          i == 11 ? "v=spf1 ip4:192.0.2.1 -all" : "v=spf1 include:" + next + " -all");
  }
  z.add("ten.test", Type::TXT, "v=spf1 include:inc2.test -all");      // 10 includes deep
  z.add("eleven.test", Type::TXT, "v=spf1 include:inc1.test -all");   // 11
  EXPECT_EQ(r(z, "192.0.2.1", "a@ten.test"), SpfResult::Pass);
  auto o = check(z, "192.0.2.1", "a@eleven.test");
  EXPECT_EQ(o.result, SpfResult::PermError);
  EXPECT_EQ(o.lookups, 11);

  z.add("void.test", Type::TXT, "v=spf1 a:n1.void.test a:n2.void.test ip4:192.0.2.1 -all");
  z.add("void3.test", Type::TXT, "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test ip4:192.0.2.1 -all");
  EXPECT_EQ(r(z, "192.0.2.1", "a@void.test"), SpfResult::Pass);
  EXPECT_EQ(r(z, "192.0.2.1", "a@void3.test"), SpfResult::PermError);

  z.add("manymx.test", Type::TXT, "v=spf1 mx -all");
  for (int i = 0; i < 11; ++i) z.add("manymx.test", Type::MX, "m" + std::to_string(i) + ".manymx.test", uint16_t(i));
  EXPECT_EQ(r(z, "192.0.2.1", "a@manymx.test"), SpfResult::PermError);

  z.add("loop.test", Type::TXT, "v=spf1 include:loop.test -all");
  EXPECT_EQ(r(z, "192.0.2.1", "a@loop.test"), SpfResult::PermError);
}

TEST(Spf, Macros) {
  StaticZone z;
  // RFC 7208 §7.4 examples, through exists: so that the expansion is observable.
  z.add("email.example.com", Type::TXT, "v=spf1 exists:%{l}.%{o}.%{d2}.%{ir}.%{v}._spf.%{d} -all");
  z.add("strong-bad.email.example.com.example.com.2.0.0.192.in-addr._spf.email.example.com", Type::A, "127.0.0.2");
  EXPECT_EQ(r(z, "192.0.2.3", "strong-bad@email.example.com"), SpfResult::Fail);
  z.add("strong-bad.email.example.com.example.com.3.2.0.192.in-addr._spf.email.example.com", Type::A, "127.0.0.2");
  EXPECT_EQ(r(z, "192.0.2.3", "strong-bad@email.example.com"), SpfResult::Pass);

  z.add("v6m.test", Type::TXT, "v=spf1 exists:%{ir}.%{v}.v6m.test -all");
  std::string nibbles = "1.";
  for (int i = 0; i < 23; ++i) nibbles += "0.";
  z.add(nibbles + "8.b.d.0.1.0.0.2.ip6.v6m.test", Type::A, "127.0.0.2");
  EXPECT_EQ(r(z, "2001:db8::1", "a@v6m.test"), SpfResult::Pass);

  z.add("esc.test", Type::TXT, "v=spf1 exists:%{L}.esc.test -all");  // upper case: URL-escaped
  z.add("a%2Bb.esc.test", Type::A, "127.0.0.2");
  EXPECT_EQ(r(z, "10.0.0.1", "a+b@esc.test"), SpfResult::Pass);

  z.add("badmacro.test", Type::TXT, "v=spf1 exists:%{z}.test -all");
  EXPECT_EQ(r(z, "10.0.0.1", "a@badmacro.test"), SpfResult::PermError);

  z.add("exp.test", Type::TXT, "v=spf1 -all exp=explain.exp.test");
  z.add("explain.exp.test", Type::TXT, "%{i} is not one of %{d}'s servers");
  auto o = check(z, "10.0.0.1", "a@exp.test");
  EXPECT_EQ(o.result, SpfResult::Fail);
  EXPECT_EQ(o.explanation, "10.0.0.1 is not one of exp.test's servers");
}

TEST(Spf, NullSenderAndHelo) {
  StaticZone z;
  z.add("mx.client.test", Type::TXT, "v=spf1 ip4:192.0.2.1 -all");
  auto o = check(z, "192.0.2.1", "", "mx.client.test");
  EXPECT_EQ(o.result, SpfResult::Pass);
  EXPECT_EQ(o.sender, "postmaster@mx.client.test");
  auto answers = std::make_shared<AnswerSet>();
  SpfOutcome h;
  drive(z, answers, [&](Lookup& l) { h = spf_helo(l, "10.0.0.1", "mx.client.test"); },
        std::chrono::steady_clock::now() + std::chrono::seconds(5), [] {});
  EXPECT_EQ(h.result, SpfResult::Fail);
  drive(z, answers, [&](Lookup& l) { h = spf_helo(l, "10.0.0.1", "[10.0.0.1]"); },
        std::chrono::steady_clock::now() + std::chrono::seconds(5), [] {});
  EXPECT_EQ(h.result, SpfResult::None);
}

TEST(Spf, RandomRecordsNeverCrashAndAlwaysDecide) {
  // Bad input from the network never crashes: random records built from SPF's own pieces.
  static const char* pieces[] = {"v=spf1", " ", "  ", "a", "mx", "ptr", "ip4:", "ip6:", "include:", "exists:",
                                 "redirect=", "exp=", "all", "-", "~", "?", "+", "%{", "}", "%%", "%_", "%-",
                                 "i", "ir", "l1r", "d2", "s", "o", "h", "p", "v", ".", "/", "//", "24", "0",
                                 "129", "x.test", "r.test", "192.0.2.1", "::1", ":", "=", "\xff", "\t", "%"};
  std::mt19937 g(42);
  StaticZone z;
  z.add("r.test", Type::A, "192.0.2.1");
  z.add("r.test", Type::MX, "r.test", 1);
  int decided = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string rec = g() % 4 ? "v=spf1 " : "";
    int n = 1 + int(g() % 12);
    for (int k = 0; k < n; ++k) rec += pieces[g() % (sizeof pieces / sizeof *pieces)];
    StaticZone one;
    one.add("x.test", Type::TXT, rec);
    one.add("x.test", Type::A, "192.0.2.1");
    one.add("1.2.0.192.in-addr.arpa", Type::PTR, "x.test");
    auto o = check(one, g() % 2 ? "192.0.2.1" : "2001:db8::1", "a.b@x.test");
    decided += o.result != SpfResult::TempError;  // no DNS failure in a static zone
  }
  EXPECT_EQ(decided, 20000);
}
