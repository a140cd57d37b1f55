// DMARC: record parsing, discovery (org-domain fallback), alignment, p/sp/pct, temperror.
#include <gtest/gtest.h>

#include "auth/dmarc.h"

using namespace mm::auth;
using mm::dns::Type;

namespace {

DmarcDiscovery discover(StaticZone& z, const std::string& from) {
  auto answers = std::make_shared<AnswerSet>();
  DmarcDiscovery d;
  drive(z, answers, [&](Lookup& l) { d = dmarc_discover(l, from); },
        std::chrono::steady_clock::now() + std::chrono::seconds(5), [] {});
  return d;
}

DmarcInput spf_only(const std::string& result, const std::string& domain) {
  DmarcInput in;
  in.spf_result = result;
  in.spf_domain = domain;
  return in;
}

}  // namespace

TEST(Dmarc, OrgDomainFromPsl) {
  EXPECT_EQ(org_domain("mail.example.com"), "example.com");
  EXPECT_EQ(org_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(org_domain("Example.COM."), "example.com");
  EXPECT_EQ(org_domain("co.uk"), "co.uk");
}

TEST(Dmarc, ParseRecord) {
  auto r = parse_dmarc("v=DMARC1; p=reject; sp=none; adkim=s; aspf=r; pct=20; rua=mailto:x@y.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, DmarcPolicy::Reject);
  EXPECT_EQ(r->sp, DmarcPolicy::None);
  EXPECT_TRUE(r->adkim_strict);
  EXPECT_FALSE(r->aspf_strict);
  EXPECT_EQ(r->pct, 20);
  EXPECT_FALSE(parse_dmarc("p=reject; v=DMARC1"));          // v must come first
  EXPECT_FALSE(parse_dmarc("v=DMARC1; p=bogus"));           // invalid p, no rua
  auto lenient = parse_dmarc("v=DMARC1; p=bogus; rua=mailto:a@b.test");  // treated as p=none
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->p, DmarcPolicy::None);
  EXPECT_EQ(parse_dmarc("v=DMARC1;p=quarantine;pct=150")->pct, 100);  // out of range: default
}

TEST(Dmarc, DiscoveryAndPolicies) {
  StaticZone z;
  z.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject; sp=quarantine");
  z.add("_dmarc.own.example.com", Type::TXT, "v=DMARC1; p=none");
  auto d = discover(z, "example.com");
  ASSERT_EQ(d.state, DmarcDiscovery::State::Found);
  auto o = dmarc_evaluate(d, spf_only("fail", "example.com"), 0);
  EXPECT_EQ(o.result, DmarcResult::Fail);
  EXPECT_EQ(o.applied, DmarcPolicy::Reject);

  auto sub = discover(z, "news.example.com");  // found at the organisational domain: sp applies
  ASSERT_EQ(sub.state, DmarcDiscovery::State::Found);
  EXPECT_EQ(sub.record_domain, "example.com");
  EXPECT_EQ(dmarc_evaluate(sub, spf_only("fail", "x.test"), 0).applied, DmarcPolicy::Quarantine);

  auto own = discover(z, "own.example.com");  // its own record: p applies
  EXPECT_EQ(dmarc_evaluate(own, spf_only("fail", "x.test"), 0).applied, DmarcPolicy::None);

  EXPECT_EQ(discover(z, "nothing.test").state, DmarcDiscovery::State::None);
  z.fail("_dmarc.broken.test", Type::TXT);
  auto t = discover(z, "broken.test");
  EXPECT_EQ(t.state, DmarcDiscovery::State::TempError);
  EXPECT_EQ(dmarc_evaluate(t, spf_only("pass", "broken.test"), 0).result, DmarcResult::TempError);
}

TEST(Dmarc, Alignment) {
  StaticZone z;
  z.add("_dmarc.relaxed.test", Type::TXT, "v=DMARC1; p=reject");
  z.add("_dmarc.strict.test", Type::TXT, "v=DMARC1; p=reject; adkim=s; aspf=s");
  auto rel = discover(z, "relaxed.test");
  auto str = discover(z, "strict.test");
  EXPECT_EQ(dmarc_evaluate(rel, spf_only("pass", "bounce.relaxed.test"), 0).result, DmarcResult::Pass);
  EXPECT_EQ(dmarc_evaluate(str, spf_only("pass", "bounce.strict.test"), 0).result, DmarcResult::Fail);
  EXPECT_EQ(dmarc_evaluate(str, spf_only("pass", "strict.test"), 0).result, DmarcResult::Pass);
  EXPECT_EQ(dmarc_evaluate(rel, spf_only("softfail", "relaxed.test"), 0).result, DmarcResult::Fail);

  DmarcInput dk;
  dk.spf_result = "fail";
  dk.spf_domain = "other.test";
  dk.dkim.push_back({"mail.strict.test", true, false});  // the libopendmarc bug case: must fail
  EXPECT_EQ(dmarc_evaluate(str, dk, 0).result, DmarcResult::Fail);
  dk.dkim.push_back({"strict.test", false, false});
  EXPECT_EQ(dmarc_evaluate(str, dk, 0).result, DmarcResult::Fail);
  dk.dkim.push_back({"strict.test", true, false});
  EXPECT_EQ(dmarc_evaluate(str, dk, 0).result, DmarcResult::Pass);

  DmarcInput unknown;  // an aligned signature whose key could not be fetched: no verdict
  unknown.spf_result = "fail";
  unknown.spf_domain = "x.test";
  unknown.dkim.push_back({"relaxed.test", false, true});
  EXPECT_EQ(dmarc_evaluate(rel, unknown, 0).result, DmarcResult::TempError);
}

TEST(Dmarc, PctSampling) {
  StaticZone z;
  z.add("_dmarc.pct.test", Type::TXT, "v=DMARC1; p=reject; pct=30");
  auto d = discover(z, "pct.test");
  EXPECT_EQ(dmarc_evaluate(d, spf_only("fail", "pct.test"), 29).applied, DmarcPolicy::Reject);
  EXPECT_EQ(dmarc_evaluate(d, spf_only("fail", "pct.test"), 30).applied, DmarcPolicy::Quarantine);
  z.add("_dmarc.q.test", Type::TXT, "v=DMARC1; p=quarantine; pct=0");
  auto q = discover(z, "q.test");
  auto o = dmarc_evaluate(q, spf_only("fail", "q.test"), 0);
  EXPECT_EQ(o.requested, DmarcPolicy::Quarantine);
  EXPECT_EQ(o.applied, DmarcPolicy::None);
}
