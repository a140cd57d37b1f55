#include "policy/policy.h"

#include <gtest/gtest.h>

#include "tenancy/tenancy.h"
#include "util/clock.h"

namespace mm::policy {
namespace {

using tenancy::Scope;

TEST(PolicyParse, ValidatesWholeTextAndKeepsCanonicalForm) {
  auto p = parse_policy("Spam>=high=reject, spam>=7.5=quarantine; bulk=tag");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->spec(), "spam>=high=reject spam>=7.5=quarantine bulk=tag");
  for (const char* bad : {"", "spam", "spam=explode", "virus=reject", "spam>=x=reject", "spam=tag spam=reject",
                          "malware=deliver", "malware>=3=tag"})
    EXPECT_FALSE(parse_policy(bad)) << bad;
  auto e = parse_policy("spam=tag spam=oops");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("oops"), std::string::npos);
}

TEST(Patterns, AddressDomainAndWildcards) {
  EXPECT_TRUE(pattern_matches("a@b.example", "a@b.example"));
  EXPECT_FALSE(pattern_matches("a@b.example", "aa@b.example"));
  EXPECT_TRUE(pattern_matches("b.example", "x@b.example"));
  EXPECT_FALSE(pattern_matches("b.example", "x@sub.b.example"));
  EXPECT_TRUE(pattern_matches("*.b.example", "x@sub.b.example"));
  EXPECT_TRUE(pattern_matches("*@b.example", "x@b.example"));
  EXPECT_TRUE(pattern_matches("news*@b.example", "newsletter@b.example"));
  EXPECT_FALSE(pattern_matches("news*@b.example", "boss@b.example"));
  for (const char* bad : {"*", "*@*", "a@@b.example", "a b@c.example", "nodot"})
    EXPECT_FALSE(normalize_pattern(bad)) << bad;
  EXPECT_EQ(*normalize_pattern("*@B.Example"), "*@b.example");
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite(":memory:");
    ASSERT_TRUE(s) << s.error();
    st = std::move(*s);
    tenancy::TenancyService ten(*st);
    ASSERT_TRUE(ten.create_tenant(op, "acme", ""));
    ASSERT_TRUE(ten.create_tenant(op, "beta", ""));
    ASSERT_TRUE(st->add_domain("acme", "acme.example"));
    ASSERT_TRUE(st->add_domain("acme", "sales.acme.example"));
    ASSERT_TRUE(st->add_domain("beta", "beta.example"));
    ASSERT_TRUE(ten.add_account(op, "acme", "bob@sales.acme.example", "Bob"));
    ASSERT_TRUE(ten.add_alias(op, "acme", "bob@sales.acme.example", "robert@acme.example"));
    svc = std::make_unique<PolicyService>(*st);
  }
  Decision decide(scan::Class c, double score, const std::string& rcpt, const std::string& from = "x@sender.example",
                  std::vector<std::string> auth = {}) {
    MessageFacts f;
    f.tenant = "acme";
    f.envelope_sender = from;
    f.from_address = from;
    f.cls = c;
    f.score = score;
    f.high = 15;
    f.auth.aligned_pass_domains = std::move(auth);
    return Snapshot::load(*st)->decide(f, rcpt, now_s());
  }
  Scope op = Scope::operator_scope();
  std::unique_ptr<store::Store> st;
  std::unique_ptr<PolicyService> svc;
};

TEST_F(PolicyTest, SafeDefaults) {
  EXPECT_EQ(decide(scan::Class::Clean, 0, "a@acme.example").action, Action::Deliver);
  EXPECT_EQ(decide(scan::Class::Spam, 6, "a@acme.example").action, Action::Quarantine);
  EXPECT_EQ(decide(scan::Class::Spam, 16, "a@acme.example").action, Action::Reject);
  EXPECT_EQ(decide(scan::Class::Bulk, 2, "a@acme.example").action, Action::Tag);
  EXPECT_EQ(decide(scan::Class::Phishing, 6, "a@acme.example").action, Action::Quarantine);
  EXPECT_EQ(decide(scan::Class::Malware, 0, "a@acme.example").action, Action::Reject);
  EXPECT_EQ(decide(scan::Class::Unscannable, 0, "a@acme.example").action, Action::Quarantine);
  EXPECT_EQ(decide(scan::Class::Spam, 6, "a@acme.example").source, "default");
}

TEST_F(PolicyTest, AccountOverDomainOverTenant) {
  ASSERT_TRUE(svc->set(op, "acme", "tenant", "", "spam=tag"));
  ASSERT_TRUE(svc->set(op, "acme", "domain", "sales.acme.example", "spam=delete"));
  ASSERT_TRUE(svc->set(op, "acme", "account", "robert@acme.example", "spam>=10=deliver"));
  auto tenant = decide(scan::Class::Spam, 6, "a@acme.example");
  EXPECT_EQ(tenant.action, Action::Tag);
  EXPECT_EQ(tenant.source, "tenant");
  auto domain = decide(scan::Class::Spam, 6, "carol@sales.acme.example");
  EXPECT_EQ(domain.action, Action::Delete);
  EXPECT_EQ(domain.source, "domain:sales.acme.example");
  // Bob's account rule covers scores >= 10 only; below that the domain's rule applies. The alias
  // reaches the same account.
  EXPECT_EQ(decide(scan::Class::Spam, 12, "bob@sales.acme.example").action, Action::Deliver);
  EXPECT_EQ(decide(scan::Class::Spam, 12, "robert@acme.example").source, "account:bob@sales.acme.example");
  EXPECT_EQ(decide(scan::Class::Spam, 6, "bob@sales.acme.example").action, Action::Delete);
  // Classes not named at a level fall through to the defaults.
  EXPECT_EQ(decide(scan::Class::Malware, 0, "bob@sales.acme.example").action, Action::Reject);
  // Removing the account policy restores the domain's.
  ASSERT_TRUE(svc->remove(op, "acme", "account", "bob@sales.acme.example"));
  EXPECT_EQ(decide(scan::Class::Spam, 12, "bob@sales.acme.example").action, Action::Delete);
}

TEST_F(PolicyTest, ApprovedSendersSkipSpamOnlyWhenAuthenticated) {
  ASSERT_TRUE(svc->add_sender(op, "acme", "", "allow", "*@partner.example", 0));
  auto unauth = decide(scan::Class::Spam, 6, "a@acme.example", "news@partner.example");
  EXPECT_EQ(unauth.action, Action::Quarantine) << unauth.note;
  EXPECT_NE(unauth.note.find("not authenticated"), std::string::npos);
  auto auth = decide(scan::Class::Spam, 6, "a@acme.example", "news@partner.example", {"partner.example"});
  EXPECT_EQ(auth.action, Action::Deliver);
  EXPECT_EQ(auth.cls, "clean");
  // Authenticated for another domain only: not applied.
  EXPECT_EQ(decide(scan::Class::Spam, 6, "a@acme.example", "news@partner.example", {"evil.example"}).action,
            Action::Quarantine);
  // Never for malware, unscannable or phishing, authenticated or not.
  for (auto c : {scan::Class::Malware, scan::Class::Unscannable, scan::Class::Phishing}) {
    auto d = decide(c, 20, "a@acme.example", "news@partner.example", {"partner.example"});
    EXPECT_NE(d.action, Action::Deliver) << scan::to_string(c);
    EXPECT_NE(d.action, Action::Tag) << scan::to_string(c);
    EXPECT_EQ(d.cls, scan::to_string(c));
  }
}

TEST_F(PolicyTest, EndUserListsComeFirstAndExpire) {
  ASSERT_TRUE(svc->add_sender(op, "acme", "", "block", "spammy.example", 0));
  auto bob = Scope::end_user("acme", {"bob@sales.acme.example", "robert@acme.example"}, "bob");
  // Bob may manage his own list, not the tenant's nor another user's.
  EXPECT_FALSE(svc->add_sender(bob, "acme", "", "allow", "x.example", 0));
  EXPECT_FALSE(svc->add_sender(Scope::end_user("acme", {"carol@acme.example"}), "acme", "bob@sales.acme.example",
                               "allow", "x.example", 0));
  auto e = svc->add_sender(bob, "acme", "robert@acme.example", "block", "boss@work.example", now_s() + 3600);
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->owner, "bob@sales.acme.example");
  EXPECT_EQ(decide(scan::Class::Clean, 0, "robert@acme.example", "boss@work.example").cls, "blocked");
  EXPECT_EQ(decide(scan::Class::Clean, 0, "robert@acme.example", "boss@work.example").action, Action::Reject);
  EXPECT_EQ(decide(scan::Class::Clean, 0, "a@acme.example", "boss@work.example").action, Action::Deliver);
  EXPECT_EQ(decide(scan::Class::Clean, 0, "a@acme.example", "x@spammy.example").cls, "blocked");
  // An expired entry no longer applies.
  ASSERT_TRUE(svc->add_sender(op, "acme", "", "block", "old.example", now_s() - 1));
  EXPECT_EQ(decide(scan::Class::Clean, 0, "a@acme.example", "x@old.example").cls, "clean");
  // Bob sees only his own entries.
  auto mine = svc->senders(bob, "acme");
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].pattern, "boss@work.example");
}

TEST_F(PolicyTest, TenantsCannotTouchEachOther) {
  auto beta = Scope::admin("beta");
  EXPECT_FALSE(svc->set(beta, "acme", "tenant", "", "spam=deliver"));
  EXPECT_FALSE(svc->set(op, "beta", "domain", "acme.example", "spam=deliver")) << "domain of another tenant";
  EXPECT_FALSE(svc->add_sender(beta, "acme", "", "allow", "x.example", 0));
  ASSERT_TRUE(svc->add_sender(op, "acme", "", "allow", "x.example", 0));
  auto l = svc->senders(beta, "");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->empty());
  EXPECT_FALSE(svc->senders(beta, "acme"));
  auto id = (*svc->senders(op, "acme"))[0].id;
  EXPECT_FALSE(svc->remove_sender(beta, "beta", id)) << "an id of another tenant";
  EXPECT_FALSE(svc->remove_sender(beta, "acme", id));
  EXPECT_FALSE(svc->explain(beta, "a@acme.example", {}));
}

TEST_F(PolicyTest, DryRunShowsWhatACandidatePolicyChanges) {
  int64_t t = now_us();
  ASSERT_TRUE(st->tenancy().add_summaries({
      {"Q1", "acme", t, "x@sender.example", "a@acme.example,bob@sales.acme.example", "s1", "", "", "spam", 8, "", "", ""},
      {"Q2", "acme", t, "x@sender.example", "a@acme.example", "s2", "", "", "clean", 0, "", "", ""},
      {"Q3", "beta", t, "x@sender.example", "z@beta.example", "s3", "", "", "spam", 8, "", "", ""},
  }));
  auto d = svc->dry_run(op, "acme", "domain", "sales.acme.example", "spam=deliver", 0, 100, 15);
  ASSERT_TRUE(d) << d.error();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].recipient, "bob@sales.acme.example");
  EXPECT_EQ((*d)[0].before.action, Action::Quarantine);
  EXPECT_EQ((*d)[0].after.action, Action::Deliver);
  EXPECT_TRUE(svc->list(op, "acme")->empty()) << "a dry run saves nothing";
  auto all = svc->dry_run(op, "acme", "tenant", "", "spam>=5=tag", 0, 100, 15);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u) << "beta's mail is never replayed for acme";
  EXPECT_FALSE(svc->dry_run(Scope::admin("beta"), "acme", "tenant", "", "spam=tag", 0, 100, 15));
  EXPECT_FALSE(svc->dry_run(op, "acme", "tenant", "", "spam=explode", 0, 100, 15));
}

}  // namespace
}  // namespace mm::policy

namespace mm::policy {
namespace {

TEST(AttachmentOverrides, ParsedValidatedAndCanonical) {
  auto o = make_attachment_overrides({".JS", "vbs,js"}, {"iso"});
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->spec(), "allow=js,vbs block=iso");
  auto back = parse_attachment_overrides(o->spec());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->allow, o->allow);
  EXPECT_EQ(back->block, o->block);
  EXPECT_FALSE(make_attachment_overrides({"js"}, {"js"}));
  EXPECT_FALSE(make_attachment_overrides({"../x"}, {}));
  EXPECT_FALSE(make_attachment_overrides({""}, {}));
  EXPECT_FALSE(parse_attachment_overrides("unblock=js"));
  EXPECT_TRUE(parse_attachment_overrides("")->empty());
}

}  // namespace
}  // namespace mm::policy
