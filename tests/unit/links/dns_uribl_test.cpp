// The URI DNS list resolver over the project's resolver interface: answers, "not listed",
// failures and a deadline that passes before a late answer.
#include <gtest/gtest.h>

#include <thread>

#include "auth/lookup.h"
#include "dns/resolver.h"
#include "links/dns_uribl.h"

using namespace std::chrono_literals;

namespace {

// Answers nothing until told: a question still in flight when the deadline passes.
class SilentResolver : public mm::dns::Resolver {
 public:
  void query(const std::string&, mm::dns::Type, mm::dns::Callback cb) override { pending.push_back(std::move(cb)); }
  std::vector<mm::dns::Callback> pending;
};

TEST(DnsUriResolver, ListedUnlistedAndFailedNames) {
  auto zone = std::make_shared<mm::auth::StaticZone>();
  zone->add("evil.test.multi.uribl.test", mm::dns::Type::A, "127.0.0.2");
  zone->add("other.test.multi.uribl.test", mm::dns::Type::A, "127.0.0.64");
  zone->fail("broken.test.multi.uribl.test", mm::dns::Type::A);
  auto r = mm::links::make_dns_uri_resolver(zone);
  ASSERT_TRUE(r);
  auto out = r->resolve_a({"evil.test.multi.uribl.test", "good.test.multi.uribl.test", "broken.test.multi.uribl.test",
                           "other.test.multi.uribl.test"},
                          std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_FALSE(out[0].error);
  ASSERT_EQ(out[0].a.size(), 1u);
  EXPECT_EQ(out[0].a[0], 0x7f000002u);
  EXPECT_FALSE(out[1].error);  // NXDOMAIN: not listed
  EXPECT_TRUE(out[1].a.empty());
  EXPECT_TRUE(out[2].error);  // a DNS failure is unknown, never listed
  EXPECT_TRUE(out[2].a.empty());
  EXPECT_EQ(out[3].a.at(0), 0x7f000040u);
}

TEST(DnsUriResolver, DeadlineGivesUnknownAndLateAnswersAreHarmless) {
  auto silent = std::make_shared<SilentResolver>();
  auto r = mm::links::make_dns_uri_resolver(silent);
  auto start = std::chrono::steady_clock::now();
  auto out = r->resolve_a({"slow.test.multi.uribl.test"}, start + 50ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].error);
  // The answer arrives after the caller gave up: it must go nowhere, without a crash.
  mm::dns::Answer a;
  a.rcode = mm::dns::Rcode::Ok;
  a.records = {"127.0.0.2"};
  ASSERT_EQ(silent->pending.size(), 1u);
  silent->pending[0](a);
}

TEST(DnsUriResolver, NoResolverNoLists) { EXPECT_FALSE(mm::links::make_dns_uri_resolver(nullptr)); }

}  // namespace
