#include "tenancy/tenancy.h"

#include <gtest/gtest.h>

#include "tenancy/tracking.h"
#include "util/clock.h"

namespace mm::tenancy {
namespace {

class TenancyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite(":memory:");
    ASSERT_TRUE(s) << s.error();
    st = std::move(*s);
    svc = std::make_unique<TenancyService>(*st);
    for (auto [t, d] : {std::pair{"acme", "acme.example"}, {"beta", "beta.example"}}) {
      ASSERT_TRUE(svc->create_tenant(op, t, ""));
      ASSERT_TRUE(st->add_domain(t, d));
    }
  }
  Scope op = Scope::operator_scope();
  std::unique_ptr<store::Store> st;
  std::unique_ptr<TenancyService> svc;
};

TEST_F(TenancyTest, AccountsBeyondTheLicenceAreRefused) {
  Contract c;
  c.licensed_accounts = 2;
  c.account_list = 1;
  ASSERT_TRUE(svc->set_contract(op, "acme", c));
  auto admin = Scope::admin("acme");
  ASSERT_TRUE(svc->add_account(admin, "acme", "a@acme.example", "A"));
  ASSERT_TRUE(svc->add_account(admin, "acme", "b@acme.example", "B"));
  auto third = svc->add_account(admin, "acme", "c@acme.example", "C");
  ASSERT_FALSE(third);
  EXPECT_NE(third.error().find("licensed for 2 protected accounts and already has 2"), std::string::npos)
      << third.error();
  // Aliases are not accounts: they do not count against the licence.
  EXPECT_TRUE(svc->add_alias(admin, "acme", "a@acme.example", "alias@acme.example"));
  EXPECT_EQ(st->tenancy().count_accounts("acme"), 2);
  // Removing one makes room again.
  ASSERT_TRUE(svc->remove_account(admin, "acme", "b@acme.example"));
  EXPECT_TRUE(svc->add_account(admin, "acme", "c@acme.example", "C"));
  auto u = svc->usage(op, "acme", now_s());
  ASSERT_TRUE(u);
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].in_use, 2);
  EXPECT_FALSE((*u)[0].over);
}

TEST_F(TenancyTest, AccountsMustBeInTheTenantsOwnDomains) {
  auto r = svc->add_account(op, "acme", "x@beta.example", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not in a protected domain of this tenant"), std::string::npos);
  ASSERT_TRUE(svc->add_account(op, "acme", "x@acme.example", ""));
  EXPECT_FALSE(svc->add_alias(op, "acme", "x@acme.example", "y@beta.example"));
  EXPECT_FALSE(svc->add_account(op, "acme", "X@acme.example", "")) << "duplicate, case-insensitive";
}

TEST_F(TenancyTest, SeenAccountsOverTheLicenceRaiseOneAlertEach) {
  Contract c;
  c.licensed_accounts = 2;
  ASSERT_TRUE(svc->set_contract(op, "acme", c));
  int64_t now = now_s();
  EXPECT_EQ(svc->note_seen("acme", {"a@acme.example", "b@acme.example"}, now), "");
  EXPECT_EQ(svc->note_seen("acme", {"a@acme.example"}, now), "");
  auto alert = svc->note_seen("acme", {"c@acme.example"}, now);
  EXPECT_NE(alert.find("3 protected accounts in use"), std::string::npos) << alert;
  EXPECT_EQ(svc->note_seen("acme", {"c@acme.example"}, now), "") << "no repeated alert";
  auto events = svc->security_events(Scope::admin("acme"), "acme", 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "licence_exceeded");
  auto u = svc->usage(Scope::auditor("acme"), "", now);
  ASSERT_TRUE(u);
  ASSERT_EQ(u->size(), 1u) << "an auditor sees only its own tenant";
  EXPECT_TRUE((*u)[0].over);
  EXPECT_EQ((*u)[0].seen, 3);
  // Tenant beta sees none of it.
  auto other = svc->security_events(Scope::admin("beta"), "", 10);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());
  EXPECT_FALSE(svc->security_events(Scope::admin("beta"), "acme", 10));
}

TEST_F(TenancyTest, MailOutsideTheTermIsReportedOnce) {
  int64_t now = now_s();
  Contract c;
  c.term_start = now - 10 * 86400;
  c.term_end = now - 86400;
  ASSERT_TRUE(svc->set_contract(op, "acme", c));
  c.term_end = now - 20 * 86400;
  EXPECT_FALSE(svc->set_contract(op, "acme", c)) << "the end before the start";
  svc->note_seen("acme", {"a@acme.example"}, now);
  svc->note_seen("acme", {"b@acme.example"}, now);
  auto events = svc->security_events(op, "acme", 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "licence_term");
  auto u = svc->usage(op, "acme", now);
  ASSERT_TRUE(u);
  EXPECT_FALSE((*u)[0].term_active);
}

TEST_F(TenancyTest, SuspensionKeepsReasonAndTime) {
  EXPECT_FALSE(svc->suspend(Scope::admin("acme"), "acme", true, false, "x")) << "operators only";
  EXPECT_FALSE(svc->suspend(op, "acme", true, false, "")) << "a reason is required";
  ASSERT_TRUE(svc->suspend(op, "acme", false, true, "outbound spam"));
  auto i = svc->info(op, "acme");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->suspended_inbound);
  EXPECT_TRUE(i->suspended_outbound);
  EXPECT_EQ(i->suspend_reason, "outbound spam");
  EXPECT_GT(i->suspended_at, 0);
  EXPECT_EQ(st->get_tenant("acme")->status, "active") << "inbound mail still flows";
  ASSERT_TRUE(svc->suspend(op, "acme", true, false, "unpaid"));
  EXPECT_EQ(st->get_tenant("acme")->status, "suspended");
  ASSERT_TRUE(svc->resume(op, "acme"));
  EXPECT_EQ(st->get_tenant("acme")->status, "active");
}

TEST_F(TenancyTest, UsersRolesPasswordsAndRevocation) {
  ASSERT_TRUE(svc->add_account(op, "acme", "bob@acme.example", "Bob"));
  auto admin = Scope::admin("acme", "root@acme");
  EXPECT_FALSE(svc->create_user(admin, "evil", "operator", "", "", "long enough password"));
  EXPECT_FALSE(svc->create_user(admin, "x@beta", "admin", "beta", "", "long enough password"));
  EXPECT_FALSE(svc->create_user(admin, "bob", "user", "acme", "bob@acme.example", "short"));
  EXPECT_FALSE(svc->create_user(admin, "bob", "user", "acme", "nobody@acme.example", "long enough password"));
  auto u = svc->create_user(admin, "Bob", "user", "acme", "bob@acme.example", "long enough password");
  ASSERT_TRUE(u) << u.error();
  auto h = st->tenancy().password_hash("bob");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u) << *h;
  auto sc = svc->authenticate("bob", "long enough password");
  ASSERT_TRUE(sc) << sc.error();
  EXPECT_EQ(sc->role, Role::User);
  EXPECT_EQ(sc->addresses, std::vector<std::string>{"bob@acme.example"});
  EXPECT_FALSE(svc->authenticate("bob", "wrong password!!"));

  ASSERT_TRUE(st->tenancy().add_session("bob", "s1", now_s() + 3600));
  ASSERT_TRUE(st->tenancy().add_token("bob", "script", "t1"));
  EXPECT_EQ(st->tenancy().count_live_credentials("bob", now_s()), 2);
  EXPECT_FALSE(svc->reset_password(Scope::admin("beta"), "bob", "another long password"));
  ASSERT_TRUE(svc->reset_password(admin, "bob", "another long password"));
  EXPECT_EQ(st->tenancy().count_live_credentials("bob", now_s()), 0);
  EXPECT_FALSE(svc->authenticate("bob", "long enough password"));
  EXPECT_TRUE(svc->authenticate("bob", "another long password"));

  ASSERT_TRUE(svc->disable_user(admin, "bob", true));
  EXPECT_FALSE(svc->authenticate("bob", "another long password"));
  auto list = svc->users(Scope::admin("beta"), "");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(TenancyTest, TenantScopesCannotReachOtherTenants) {
  auto beta = Scope::admin("beta");
  EXPECT_FALSE(svc->info(beta, "acme"));
  EXPECT_FALSE(svc->add_account(beta, "acme", "z@acme.example", ""));
  EXPECT_FALSE(svc->accounts(beta, "acme"));
  EXPECT_EQ(svc->list(beta).size(), 1u);
  EXPECT_FALSE(svc->set_contact(Scope::auditor("acme"), "acme", {}));
  Contact c;
  c.email = "it@acme.example";
  EXPECT_TRUE(svc->set_contact(Scope::admin("acme"), "acme", c));
  EXPECT_EQ(svc->info(op, "acme")->contact_email, "it@acme.example");
}

TEST_F(TenancyTest, TrackingSearchIsScoped) {
  int64_t t = now_us();
  ASSERT_TRUE(st->tenancy().add_summaries({
      {"QA", "acme", t, "x@s.example", "bob@acme.example", "for bob", "<a@x>", "192.0.2.1", "spam", 6, "quarantine:1", "", ""},
      {"QC", "acme", t, "x@s.example", "carol@acme.example", "for carol", "<c@x>", "192.0.2.1", "clean", 0, "deliver:1", "", ""},
      {"QB", "beta", t, "y@s.example", "z@beta.example", "for beta", "<b@x>", "192.0.2.2", "clean", 0, "deliver:1", "", ""},
  }));
  ASSERT_TRUE(st->add_events({{"QA", 0, "received", "bob@acme.example", "", "acme"},
                              {"QA", 0, "scanned", "", "spam", "acme"},
                              {"QC", 0, "received", "carol@acme.example", "", "acme"},
                              {"QB", 0, "received", "z@beta.example", "", "beta"}}));
  TrackingSearch ts(*st);
  auto everything = ts.search(op, {});
  ASSERT_TRUE(everything);
  EXPECT_EQ(everything->size(), 3u);
  auto beta = Scope::admin("beta");
  auto mine = ts.search(beta, {});
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].queue_id, "QB");
  store::SummaryQuery by_ip;
  by_ip.client_ip = "192.0.2.1";
  EXPECT_TRUE(ts.search(beta, by_ip)->empty());
  store::SummaryQuery other;
  other.tenant = "acme";
  EXPECT_FALSE(ts.search(beta, other));
  EXPECT_TRUE(ts.history(beta, "QA")->empty());
  EXPECT_EQ(ts.history(Scope::auditor("acme"), "QA")->size(), 2u);
  // An end user sees only mail to his own addresses.
  auto bob = Scope::end_user("acme", {"bob@acme.example"});
  auto b = ts.search(bob, {});
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].queue_id, "QA");
  store::SummaryQuery carol;
  carol.recipients = {"carol@acme.example"};
  EXPECT_TRUE(ts.search(bob, carol)->empty());
  EXPECT_TRUE(ts.history(bob, "QC")->empty());
  store::SummaryQuery by_subject;
  by_subject.subject = "FOR";
  by_subject.message_id = "<a@x>";
  EXPECT_EQ(ts.search(op, by_subject)->size(), 1u);
}

TEST_F(TenancyTest, TrackingSearchByAttachmentNameAndHash) {
  int64_t t = now_us();
  std::string h1 = sha256_hex("abc"), h2 = sha256_hex("payload");
  EXPECT_EQ(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_TRUE(st->tenancy().add_summaries({
      {"QA", "acme", t, "x@s.example", "bob@acme.example", "a", "", "", "clean", 0, "deliver:1",
       "Invoice.PDF\npayload.js\n", h1 + "\n" + h2 + "\n"},
      {"QB", "beta", t, "y@s.example", "z@beta.example", "b", "", "", "clean", 0, "deliver:1", "payload.js\n",
       h2 + "\n"},
      {"QC", "acme", t, "x@s.example", "bob@acme.example", "c", "", "", "clean", 0, "deliver:1", "", ""},
  }));
  TrackingSearch ts(*st);
  store::SummaryQuery by_name;
  by_name.attachment = "invoice";
  auto r = ts.search(op, by_name);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].queue_id, "QA");
  store::SummaryQuery by_hash;
  by_hash.sha256 = h2;
  EXPECT_EQ(ts.search(op, by_hash)->size(), 2u);
  r = ts.search(Scope::admin("beta"), by_hash);  // scoped to the tenant
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].queue_id, "QB");
  by_hash.sha256 = h1.substr(0, 63);  // whole hashes only
  EXPECT_TRUE(ts.search(op, by_hash)->empty());
  by_name.attachment = "%";
  EXPECT_TRUE(ts.search(op, by_name)->empty());
}

}  // namespace
}  // namespace mm::tenancy
