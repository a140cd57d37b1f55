#include "quarantine/quarantine.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tenancy/tenancy.h"
#include "util/clock.h"

namespace mm::quarantine {
namespace {

using tenancy::Scope;
namespace fs = std::filesystem;

struct FakeReleaser : Releaser {
  scan::Class cls = scan::Class::Clean;
  std::vector<std::string> bodies;
  Result<scan::Verdict> rescan(std::shared_ptr<const std::string>, const scan::Envelope&) override {
    scan::Verdict v;
    v.cls = cls;
    return v;
  }
  Result<std::string> deliver(const store::QuarantineItem&, std::string body) override {
    bodies.push_back(std::move(body));
    return std::string("NEWID");
  }
};

const std::string kReceived = "Received: from x ([1.2.3.4])\r\n\tby mx; Thu, 1 Jan 2026 00:00:00 +0000\r\n";
const std::string kRaw =
    "From: Eve <eve@evil.example>\r\nTo: bob@acme.example\r\nSubject: Hello there\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/html\r\n\r\n<html><script>alert(1)</script><p>Visible <b>words</b></p></html>\r\n";

class QuarantineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("mm-q-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    auto s = store::open_sqlite(":memory:");
    ASSERT_TRUE(s);
    st = std::move(*s);
    tenancy::TenancyService ten(*st);
    for (auto [t, d] : {std::pair{"acme", "acme.example"}, {"beta", "beta.example"}}) {
      ASSERT_TRUE(ten.create_tenant(op, t, ""));
      ASSERT_TRUE(st->add_domain(t, d));
    }
    ASSERT_TRUE(ten.add_account(op, "acme", "bob@acme.example", ""));
    q = std::make_unique<Quarantine>(*st, dir.string());
  }
  void TearDown() override { fs::remove_all(dir); }

  std::vector<std::string> hold(const std::string& tenant, std::vector<HoldRecipient> rcpts,
                                const std::string& verdict = "spam", int64_t now = 0) {
    HoldRequest r;
    r.tenant = tenant;
    r.queue_id = "Q" + std::to_string(++n);
    r.sender = "eve@evil.example";
    r.subject = "Hello there";
    r.verdict = verdict;
    r.score = 7;
    r.recipients = std::move(rcpts);
    r.received = kReceived;
    r.raw = kRaw;
    r.now = now ? now : now_s();
    auto ids = q->hold(r);
    EXPECT_TRUE(ids) << ids.error();
    return ids ? *ids : std::vector<std::string>{};
  }

  Scope op = Scope::operator_scope();
  Scope bob = Scope::end_user("acme", {"bob@acme.example"}, "bob");
  fs::path dir;
  int n = 0;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<Quarantine> q;
};

TEST_F(QuarantineTest, ReleaseDeliversTheOriginalBytesAfterARescan) {
  auto ids = hold("acme", {{"bob@acme.example", "spam"}, {"carol@acme.example", "spam"}});
  ASSERT_EQ(ids.size(), 2u);
  FakeReleaser rel;
  auto r = q->release(Scope::admin("acme", "boss"), ids[0], true, rel);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(rel.bodies.size(), 1u);
  const std::string& b = rel.bodies[0];
  EXPECT_EQ(b.substr(0, kReceived.size()), kReceived);
  EXPECT_EQ(b.substr(b.size() - kRaw.size()), kRaw);
  EXPECT_NE(b.find("X-Mailmoat-Released: " + ids[0] + " by boss"), std::string::npos);
  EXPECT_TRUE(r->approved);
  auto l = st->tenancy().list_senders("acme");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].owner, "bob@acme.example") << "approved in the recipient's own list";
  EXPECT_EQ(l[0].pattern, "eve@evil.example");
  EXPECT_FALSE(q->release(op, ids[0], false, rel)) << "released once only";
  // The file stays while carol's copy is held.
  auto item = st->tenancy().get_quarantine(ids[1]);
  EXPECT_TRUE(fs::exists(item->path));
  ASSERT_TRUE(q->remove(op, ids[1]));
  EXPECT_FALSE(fs::exists(item->path));
}

TEST_F(QuarantineTest, EndUsersSeeOnlyTheirOwnAndNeverReleaseMalware) {
  auto spam = hold("acme", {{"bob@acme.example", "spam"}, {"carol@acme.example", "spam"}});
  auto mal = hold("acme", {{"bob@acme.example", "malware"}}, "malware");
  auto phish = hold("acme", {{"bob@acme.example", "phishing"}}, "phishing");
  auto mine = q->search(bob, {});
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->size(), 3u);
  for (auto& i : *mine) EXPECT_EQ(i.recipient, "bob@acme.example");
  store::QuarantineQuery other;
  other.recipients = {"carol@acme.example"};
  EXPECT_TRUE(q->search(bob, other)->empty());
  EXPECT_FALSE(q->get(bob, spam[1]));
  EXPECT_FALSE(q->preview(bob, spam[1]));

  FakeReleaser rel;
  auto m = q->release(bob, mal[0], false, rel);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("malware is never released by end users"), std::string::npos);
  auto p = q->release(bob, phish[0], false, rel);
  ASSERT_FALSE(p) << "phishing is not in the default user_release list";
  EXPECT_NE(p.error().find("does not let users release phishing"), std::string::npos);
  EXPECT_TRUE(q->release(bob, spam[0], false, rel));
  EXPECT_FALSE(q->release(Scope::auditor("acme"), phish[0], false, rel));
  // An admin may release malware only if the current engine no longer finds it.
  rel.cls = scan::Class::Malware;
  auto again = q->release(Scope::admin("acme"), mal[0], false, rel);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().find("finds malware"), std::string::npos);
  EXPECT_EQ(rel.bodies.size(), 1u);
}

TEST_F(QuarantineTest, TenantsNeverSeeEachOthersQuarantine) {
  auto a = hold("acme", {{"bob@acme.example", "spam"}});
  auto b = hold("beta", {{"x@beta.example", "spam"}});
  auto beta = Scope::admin("beta");
  auto list = q->search(beta, {});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].tenant, "beta");
  store::QuarantineQuery ask;
  ask.tenant = "acme";
  EXPECT_FALSE(q->search(beta, ask));
  store::QuarantineQuery by_rcpt;
  by_rcpt.recipients = {"bob@acme.example"};
  EXPECT_TRUE(q->search(beta, by_rcpt)->empty());
  FakeReleaser rel;
  EXPECT_FALSE(q->get(beta, a[0]));
  EXPECT_FALSE(q->preview(beta, a[0]));
  EXPECT_FALSE(q->release(beta, a[0], false, rel));
  EXPECT_FALSE(q->remove(beta, a[0]));
  EXPECT_TRUE(rel.bodies.empty());
  EXPECT_EQ(q->search(op, {})->size(), 2u);
}

TEST_F(QuarantineTest, SafePreviewAndSearchFilters) {
  auto ids = hold("acme", {{"bob@acme.example", "spam"}});
  auto p = q->preview(bob, ids[0]);
  ASSERT_TRUE(p) << p.error();
  EXPECT_NE(p->find("Subject: Hello there"), std::string::npos);
  EXPECT_NE(p->find("Visible words"), std::string::npos) << *p;
  EXPECT_EQ(p->find("<script"), std::string::npos);
  EXPECT_EQ(p->find("alert(1)"), std::string::npos);
  store::QuarantineQuery f;
  f.sender = "EVIL.example";
  EXPECT_EQ(q->search(op, f)->size(), 1u);
  f.subject = "nothing like it";
  EXPECT_EQ(q->search(op, f)->size(), 0u);
  store::QuarantineQuery v;
  v.verdict = "malware";
  EXPECT_EQ(q->search(op, v)->size(), 0u);
}

TEST_F(QuarantineTest, ExpiryAfterTheTenantsRetention) {
  int64_t t0 = now_s();
  auto old = hold("acme", {{"bob@acme.example", "spam"}}, "spam", t0 - 31 * 86400);
  auto fresh = hold("acme", {{"bob@acme.example", "spam"}}, "spam", t0 - 29 * 86400);
  auto path = st->tenancy().get_quarantine(old[0])->path;
  EXPECT_EQ(q->expire(t0), 1u);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(st->tenancy().get_quarantine(old[0])->status, "expired");
  EXPECT_EQ(st->tenancy().get_quarantine(fresh[0])->status, "held");
  EXPECT_EQ(q->expire(t0), 0u);
  EXPECT_EQ(q->expire(t0 + 2 * 86400), 1u);
}

}  // namespace
}  // namespace mm::quarantine
