#include "quarantine/digest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "tenancy/tenancy.h"
#include "util/clock.h"

namespace mm::quarantine {
namespace {

namespace fs = std::filesystem;

struct OkReleaser : Releaser {
  int delivered = 0;
  Result<scan::Verdict> rescan(std::shared_ptr<const std::string>, const scan::Envelope&) override {
    return scan::Verdict{};
  }
  Result<std::string> deliver(const store::QuarantineItem&, std::string) override {
    ++delivered;
    return std::string("NEW");
  }
};

TEST(LinkSigner, SignedExpiringSinglePurpose) {
  LinkSigner s(std::string(32, 'k'));
  int64_t now = 1000000;
  auto tok = s.sign({LinkAction::ReleaseApprove, "abc", "bob@acme.example", now + 60});
  auto c = s.verify(tok, now);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->action, LinkAction::ReleaseApprove);
  EXPECT_EQ(c->item_id, "abc");
  EXPECT_EQ(c->recipient, "bob@acme.example");
  EXPECT_FALSE(s.verify(tok, now + 60)) << "expired";
  EXPECT_FALSE(LinkSigner(std::string(32, 'x')).verify(tok, now)) << "another key";
  // Changing the action (or anything else) in the payload breaks the signature.
  auto forged = s.sign({LinkAction::Block, "abc", "bob@acme.example", now + 60});
  std::string mixed = forged.substr(0, forged.find('.')) + tok.substr(tok.find('.'));
  EXPECT_FALSE(s.verify(mixed, now));
  for (const char* junk : {"", ".", "abc", "a.b", "!!!.???"}) EXPECT_FALSE(s.verify(junk, now)) << junk;
}

TEST(Digest, ListsNewItemsWithWorkingLinks) {
  auto dir = fs::temp_directory_path() / ("mm-digest-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto st = std::move(*store::open_sqlite(":memory:"));
  auto op = tenancy::Scope::operator_scope();
  tenancy::TenancyService ten(*st);
  ASSERT_TRUE(ten.create_tenant(op, "acme", ""));
  ASSERT_TRUE(st->add_domain("acme", "acme.example"));
  ASSERT_TRUE(ten.add_account(op, "acme", "bob@acme.example", ""));
  Quarantine q(*st, dir.string());
  int64_t now = now_s();
  auto hold = [&](const std::string& subject, const std::string& verdict) {
    HoldRequest r;
    r.tenant = "acme";
    r.queue_id = "Q" + subject;
    r.sender = "eve@evil.example";
    r.subject = subject;
    r.verdict = verdict;
    r.recipients = {{"bob@acme.example", verdict}};
    r.received = "Received: x\r\n";
    r.raw = "Subject: " + subject + "\r\n\r\nbody\r\n";
    r.now = now;
    return (*q.hold(r))[0];
  };
  auto spam = hold("cheap pills\r\nBcc: injected", "spam");
  auto mal = hold("invoice", "malware");
  auto signer = LinkSigner::from_store(*st);
  ASSERT_TRUE(signer);
  auto again = LinkSigner::from_store(*st);
  DigestOptions o{"https://mx.example/q", "quarantine@mx.example", "mx.example"};
  auto ds = build_digests(*st, *signer, now - 60, now, o);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].items, 2u);
  const std::string& m = ds[0].message;
  EXPECT_NE(m.find("Subject: Quarantine digest: 2 new messages"), std::string::npos);
  EXPECT_EQ(m.find("\r\nBcc: injected"), std::string::npos) << "untrusted text stays on one line";
  // The links of one item: its section runs from its Subject line to the next item's From line.
  auto links_of = [&](const std::string& subject) {
    std::vector<std::string> out;
    auto at = m.find("Subject: " + subject);
    auto end = m.find("\r\nFrom:    ", at);
    std::string section = m.substr(at, end == std::string::npos ? std::string::npos : end - at);
    std::regex link("https://mx\\.example/q\\?t=([A-Za-z0-9_.-]+)");
    for (auto it = std::sregex_iterator(section.begin(), section.end(), link); it != std::sregex_iterator(); ++it)
      out.push_back((*it)[1]);
    return out;
  };
  auto tokens = links_of("cheap pills");
  ASSERT_EQ(tokens.size(), 3u) << m;  // release, release and approve, block
  auto mal_links = links_of("invoice");
  ASSERT_EQ(mal_links.size(), 1u) << m;  // malware: block only
  tokens.push_back(mal_links[0]);
  // The key is stable across loads: links signed by one process verify in another.
  EXPECT_TRUE(again->verify(tokens[0], now));
  OkReleaser rel;
  auto claim = signer->verify(tokens[1], now);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->item_id, spam);
  auto r = redeem(q, *st, *signer, tokens[1], rel, now);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(rel.delivered, 1);
  EXPECT_FALSE(redeem(q, *st, *signer, tokens[0], rel, now)) << "already released";
  auto b = redeem(q, *st, *signer, tokens[2], rel, now);
  ASSERT_TRUE(b) << b.error();
  auto l = st->tenancy().list_senders("acme");
  ASSERT_EQ(l.size(), 2u);  // approved by the release link, then blocked
  // Even a forged release link for the malware item (signed with the right key) cannot release it.
  auto forged = signer->sign({LinkAction::Release, mal, "bob@acme.example", now + 60});
  auto f = redeem(q, *st, *signer, forged, rel, now);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().find("malware"), std::string::npos);
  EXPECT_EQ(rel.delivered, 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mm::quarantine
