// Authentication-Results building, forged-header removal, From domain, DKIM-Signature references.
#include <gtest/gtest.h>

#include "auth/auth.h"
#include "auth/auth_check.h"
#include "auth/message_util.h"

using namespace mm::auth;

TEST(AuthResultsHeader, BuildsOneFieldWithEveryMethod) {
  mm::scan::AuthFacts f;
  f.evaluated = true;
  f.spf = "pass";
  f.spf_domain = "example.com";
  f.spf_reason = "ip4:192.0.2.0/24";
  f.helo_spf = "none";
  f.dkim.push_back({"example.com", "sel1", "pass", ""});
  f.dkim.push_back({"evil.test", "s", "fail", "body hash did not verify"});
  f.dmarc = "pass";
  f.dmarc_domain = "example.com";
  f.dmarc_requested = "reject";
  f.dmarc_policy = "none";
  std::string h = build_authentication_results("mx.mailmoat.test", f, "alice@example.com", "mail.example.com");
  EXPECT_EQ(h,
            "Authentication-Results: mx.mailmoat.test;\r\n"
            "\tspf=pass (ip4:192.0.2.0/24) smtp.mailfrom=alice@example.com;\r\n"
            "\tspf=none smtp.helo=mail.example.com;\r\n"
            "\tdkim=pass header.d=example.com header.s=sel1;\r\n"
            "\tdkim=fail (body hash did not verify) header.d=evil.test header.s=s;\r\n"
            "\tdmarc=pass (p=reject dis=none) header.from=example.com\r\n");
  mm::scan::AuthFacts none;
  EXPECT_EQ(build_authentication_results("id", none, "", ""), "Authentication-Results: id; none\r\n");
  // A comment cannot be broken out of, a weird local part is reduced to the domain.
  f.dkim.clear();
  f.spf_reason = "x) dkim=pass (";
  h = build_authentication_results("id", f, "\"a b\"@example.com", "h.test");
  EXPECT_NE(h.find("spf=pass (x  dkim=pass  ) smtp.mailfrom=example.com;"), std::string::npos) << h;
}

TEST(AuthResultsHeader, RemovesOnlyFieldsClaimingOurId) {
  std::string raw =
      "Authentication-Results: mx.mailmoat.test; spf=pass smtp.mailfrom=evil.test\r\n"
      "Received: from x\r\n"
      "authentication-results:  (comment) MX.Mailmoat.Test 1;\r\n\tdkim=pass header.d=bank.test\r\n"
      "Authentication-Results: \"mx.mailmoat.test\"; none\r\n"
      "Authentication-Results: other.example; spf=fail\r\n"
      "Authentication-Results: mx.mailmoat.test.evil; spf=pass\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "Authentication-Results: mx.mailmoat.test; body text stays\r\n";
  std::string out = remove_our_authentication_results(raw, "mx.mailmoat.test");
  EXPECT_EQ(out,
            "Received: from x\r\n"
            "Authentication-Results: other.example; spf=fail\r\n"
            "Authentication-Results: mx.mailmoat.test.evil; spf=pass\r\n"
            "Subject: hi\r\n"
            "\r\n"
            "Authentication-Results: mx.mailmoat.test; body text stays\r\n");
  std::string clean = "Subject: x\r\n\r\nbody\r\n";
  EXPECT_EQ(remove_our_authentication_results(clean, "mx.mailmoat.test"), clean);
}

TEST(MessageUtil, FromDomainAndSignatureRefs) {
  std::string problem;
  EXPECT_EQ(from_domain("From: \"Bob <x@evil.test>\" <bob@Example.COM>\r\n\r\n", &problem), "example.com");
  EXPECT_EQ(from_domain("From: bob@example.com (Bob @ evil.test)\r\n\r\n", &problem), "example.com");
  EXPECT_EQ(from_domain("From: a@one.test\r\nFrom: b@two.test\r\n\r\n", &problem), "");
  EXPECT_EQ(problem, "more than one From field");
  EXPECT_EQ(from_domain("Subject: x\r\n\r\nFrom: a@b.test\r\n", &problem), "");
  EXPECT_EQ(from_domain("From: me@evil.test, \"CEO\" <ceo@bank.test>\r\n\r\n", &problem), "");
  EXPECT_EQ(problem, "From has addresses in more than one domain");
  EXPECT_EQ(from_domain("From: a@same.test, B <b@Same.test>\r\n\r\n", &problem), "same.test");
  EXPECT_EQ(from_domain("From: team: a@grp.test, b@grp.test;\r\n\r\n", &problem), "grp.test");
  auto refs = dkim_signature_refs(
      "DKIM-Signature: v=1; a=rsa-sha256; d=Example.com;\r\n\ts=sel1; b=abc\r\n"
      "DKIM-Signature: v=1; s=s2; d=other.test; b=x\r\n"
      "DKIM-Signature: v=1; b=nothing\r\n\r\nbody");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].key_name(), "sel1._domainkey.example.com");
  EXPECT_EQ(refs[1].key_name(), "s2._domainkey.other.test");
}

TEST(AuthCheck, SymbolsCountAndExplain) {
  mm::scan::Envelope env;
  env.sender = "a@bank.test";
  auto msg = mm::message::parse(std::make_shared<const std::string>("From: a@bank.test\r\nSubject: x\r\n\r\nhi\r\n"));
  std::vector<mm::scan::Symbol> prior, out;
  AuthCheck c;
  c.run({*msg, env, prior}, out);
  EXPECT_TRUE(out.empty());  // not evaluated: nothing to say
  env.auth.evaluated = true;
  env.auth.spf = "fail";
  env.auth.spf_domain = "bank.test";
  env.auth.spf_reason = "-all";
  env.auth.dmarc = "fail";
  env.auth.dmarc_domain = "bank.test";
  env.auth.dmarc_requested = "reject";
  env.auth.dmarc_policy = "reject";
  c.run({*msg, env, prior}, out);
  double total = 0;
  std::string names;
  for (auto& s : out) {
    total += s.score;
    names += s.name + " ";
    EXPECT_LE(std::abs(s.score), c.max_abs_score());
  }
  EXPECT_EQ(names, "SPF_FAIL DKIM_NONE DMARC_FAIL_REJECT ");
  EXPECT_GT(total, 5.0);
  EXPECT_NE(out[2].detail.find("p=reject"), std::string::npos);
  EXPECT_EQ(out[2].hint, mm::scan::Class::Phishing);
  out.clear();
  env.auth.spf = "pass";
  env.auth.dkim.push_back({"bank.test", "s1", "pass", ""});
  env.auth.dmarc = "pass";
  c.run({*msg, env, prior}, out);
  total = 0;
  for (auto& s : out) total += s.score;
  EXPECT_LT(total, 0);
}

TEST(AuthResultsHeader, FactsComeBackFromOurHeaderForARescan) {
  mm::scan::AuthFacts f;
  f.evaluated = true;
  f.spf = "fail";
  f.spf_domain = "bank.test";
  f.spf_reason = "-all";
  f.helo_spf = "none";
  f.dkim.push_back({"bank.test", "s1", "fail", "body hash did not verify"});
  f.dkim.push_back({"other.test", "s2", "pass", ""});
  f.dmarc = "fail";
  f.dmarc_domain = "bank.test";
  f.dmarc_requested = "reject";
  f.dmarc_policy = "quarantine";
  f.dmarc_reason = "no aligned SPF or DKIM pass for bank.test";
  std::string msg = "Received: from x\r\n" + build_authentication_results("mx.mm.test", f, "ceo@bank.test", "h.test") +
                    "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y.test\r\nSubject: s\r\n\r\nbody\r\n";
  auto g = facts_from_authentication_results(msg, "mx.mm.test");
  ASSERT_TRUE(g.evaluated);
  EXPECT_EQ(g.spf, "fail");
  EXPECT_EQ(g.spf_domain, "bank.test");
  EXPECT_EQ(g.spf_reason, "-all");
  EXPECT_EQ(g.helo_spf, "none");
  ASSERT_EQ(g.dkim.size(), 2u);
  EXPECT_EQ(g.dkim[0].domain, "bank.test");
  EXPECT_EQ(g.dkim[0].result, "fail");
  EXPECT_EQ(g.dkim[0].reason, "body hash did not verify");
  EXPECT_EQ(g.dkim[1].selector, "s2");
  EXPECT_EQ(g.dmarc, "fail");
  EXPECT_EQ(g.dmarc_requested, "reject");
  EXPECT_EQ(g.dmarc_policy, "quarantine");
  EXPECT_EQ(g.dmarc_reason, "no aligned SPF or DKIM pass for bank.test");
  EXPECT_FALSE(facts_from_authentication_results(msg, "other.test").evaluated);
  // A null sender: the HELO identity is the SPF one.
  mm::scan::AuthFacts n;
  n.evaluated = true;
  n.spf = n.helo_spf = "pass";
  n.spf_reason = "ip4:192.0.2.1";
  auto h = facts_from_authentication_results(build_authentication_results("id", n, "", "h.test"), "id");
  EXPECT_EQ(h.spf, "pass");
  EXPECT_EQ(h.spf_domain, "h.test");
  EXPECT_TRUE(h.dkim.empty());
}
