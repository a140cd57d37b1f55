#include "policy/content_rules.h"

#include <gtest/gtest.h>

#include "policy/policy.h"
#include "tenancy/tenancy.h"
#include "util/clock.h"

namespace mm::policy {
namespace {

TEST(ContentRules, ParsedAndValidatedAsAWhole) {
  auto r = parse_rules(
      "# comment\n"
      "rule exe: attachment ~ \"*.exe\" => reject\n"
      "rule ceo: recipient ~ \"ceo@acme.example\", subject contains \"Invoice\" => quarantine, add-header \"X-Check: ceo\"\n"
      "rule partner: sender ~ \"*@partner.example\" => skip-spam\n");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->rules.size(), 3u);
  EXPECT_EQ(r->rules[1].conditions.size(), 2u);
  EXPECT_EQ(r->rules[1].conditions[1].value, "invoice");
  EXPECT_EQ(r->rules[1].add_headers, std::vector<std::string>{"X-Check: ceo"});
  EXPECT_TRUE(r->rules[2].skip_spam);
  for (const char* bad :
       {"rule x: => reject", "rule x: size > 10", "rule x: size ~ 10 => reject", "rule x: colour = red => reject",
        "rule x: subject contains \"open => reject", "rule x: verdict = evil => reject",
        "rule x: size > 1 => reject, quarantine", "rule x: size > 1 => explode", "rule x: size > 1 => redirect",
        "rule x: size > 1 => redirect \"not an address\"", "rule x: size > 1 => redirect \"a@b.example\", redirect \"c@b.example\"",
        "rule x: size > 1 => copy",
        "rule x: size > 1 => add-header \"X-Spam-Flag: NO\"", "rule x: sender ~ \"*\" => reject",
        "rule x: size > 1 => reject\nrule x: size > 2 => reject", "x: size > 1 => reject"})
    EXPECT_FALSE(parse_rules(bad)) << bad;
  auto rc = parse_rules("rule r: size > 1 => redirect \"Boss@Acme.example\", copy \"a@acme.example\", copy \"b@acme.example\"\n");
  ASSERT_TRUE(rc) << rc.error();
  EXPECT_EQ(rc->rules[0].redirect, "boss@acme.example");
  EXPECT_EQ(rc->rules[0].copies, (std::vector<std::string>{"a@acme.example", "b@acme.example"}));
  auto e = parse_rules("rule ok: size > 1 => tag\nrule bad: size > lots => reject\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("line 2"), std::string::npos) << e.error();
}

TEST(ContentRules, MatchOnMessageContent) {
  auto raw = std::make_shared<const std::string>(
      "From: a@partner.example\r\nTo: ceo@acme.example\r\nSubject: Your INVOICE\r\nX-Tag: blue sky\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "Please pay by wire transfer.\r\n--b\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"Setup.EXE\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "TVqQAAMAAAAEAAAA\r\n--b--\r\n");
  auto msg = message::parse(raw);
  RuleInput in{msg.get(), {"a@partner.example"}, "ceo@acme.example", "clean", 1.5, raw->size()};
  auto one = [&](const std::string& cond) {
    auto r = parse_rules("rule t: " + cond + " => tag");
    EXPECT_TRUE(r) << cond << ": " << r.error();
    return r && matches(r->rules[0], in);
  };
  EXPECT_TRUE(one("attachment ~ \"*.exe\""));
  EXPECT_FALSE(one("attachment ~ \"*.zip\""));
  EXPECT_TRUE(one("attachment-type ~ \"application/*\""));
  EXPECT_TRUE(one("subject contains \"invoice\""));
  EXPECT_TRUE(one("body contains \"WIRE transfer\""));
  EXPECT_FALSE(one("body contains \"bitcoin\""));
  EXPECT_TRUE(one("header X-Tag contains \"sky\""));
  EXPECT_FALSE(one("header X-Other contains \"sky\""));
  EXPECT_TRUE(one("sender ~ \"partner.example\""));
  EXPECT_TRUE(one("recipient ~ \"*@acme.example\""));
  EXPECT_TRUE(one("size > 100, size < 100000, score >= 1, score < 2, verdict = clean"));
  EXPECT_FALSE(one("size > 100, verdict = spam"));
}

TEST(ContentRules, DecideOrderedNeverHalfAppliedNeverDeliveringMalware) {
  auto st = std::move(*store::open_sqlite(":memory:"));
  auto op = tenancy::Scope::operator_scope();
  tenancy::TenancyService ten(*st);
  ASSERT_TRUE(ten.create_tenant(op, "acme", ""));
  ASSERT_TRUE(st->add_domain("acme", "acme.example"));
  PolicyService ps(*st);
  ASSERT_TRUE(ps.set_rules(op, "acme",
                           "rule hdr: sender ~ \"*@partner.example\" => add-header \"X-Partner: yes\"\n"
                           "rule friend: sender ~ \"*@partner.example\" => skip-spam\n"
                           "rule big: size > 1000 => quarantine\n"
                           "rule free-pass: verdict = malware => deliver\n"
                           "rule later: size > 10 => delete\n"));
  // A bad replacement is refused whole: the old rules stay.
  EXPECT_FALSE(ps.set_rules(op, "acme", "rule big: size > 1 => delete\nrule broken: nonsense"));
  EXPECT_FALSE(ps.set_rules(tenancy::Scope::admin("beta"), "acme", "rule x: size > 1 => delete"));
  auto decide = [&](scan::Class c, double score, size_t size, const std::string& from) {
    MessageFacts f;
    f.tenant = "acme";
    f.envelope_sender = f.from_address = from;
    f.cls = c;
    f.score = score;
    f.size = size;
    return Snapshot::load(*st)->decide(f, "bob@acme.example", now_s());
  };
  auto p = decide(scan::Class::Spam, 7, 5, "x@partner.example");
  EXPECT_EQ(p.action, Action::Deliver) << p.note;
  EXPECT_EQ(p.cls, "clean");
  EXPECT_EQ(p.add_headers, std::vector<std::string>{"X-Partner: yes"});
  auto big = decide(scan::Class::Clean, 0, 5000, "x@other.example");
  EXPECT_EQ(big.action, Action::Quarantine);
  EXPECT_EQ(big.source, "rule:big");
  auto m = decide(scan::Class::Malware, 0, 50, "x@partner.example");
  EXPECT_EQ(m.action, Action::Delete) << "the deliver rule is skipped for malware: " << m.note;
  EXPECT_EQ(m.cls, "malware");
  EXPECT_EQ(decide(scan::Class::Malware, 0, 5, "x@partner.example").action, Action::Reject) << "default";
  ASSERT_TRUE(ps.set_rules(op, "acme", ""));
  EXPECT_EQ(decide(scan::Class::Clean, 0, 5000, "x@other.example").action, Action::Deliver);
}

}  // namespace
}  // namespace mm::policy
