// Issue 7 API extensions: dashboard statistics, TOTP, connection control.
#include <gtest/gtest.h>

#include "api_fixture.h"

namespace mm::api {
namespace {

using json = nlohmann::json;

store::MessageSummary summary(const std::string& tenant, int64_t ts, const std::string& verdict, const std::string& action,
                              const std::string& sender, const std::string& ip) {
  static int n = 0;
  store::MessageSummary m;
  m.queue_id = "Q" + std::to_string(++n);
  m.tenant = tenant;
  m.ts_us = ts * 1000000;
  m.sender = sender;
  m.recipients = "x@" + tenant + ".example";
  m.client_ip = ip;
  m.verdict = verdict;
  m.action = action;
  return m;
}

class StatsTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    auto op = tenancy::Scope::operator_scope();
    ASSERT_TRUE(ten->create_user(op, "carol", "auditor", "acme", "", "carol-password-12"));
    ASSERT_TRUE(ten->add_account(op, "acme", "dave@acme.example", ""));
    ASSERT_TRUE(ten->create_user(op, "dave", "user", "acme", "dave@acme.example", "dave-password-123"));
    // now = 1'700'000'000 = 22:13:20 UTC; the hour bucket starts at 1'699'999'200.
    const int64_t h = 1'699'999'200;
    std::vector<store::MessageSummary> v = {
        summary("acme", h + 10, "clean", "deliver:1", "a@x.example", "192.0.2.1"),
        summary("acme", h + 20, "spam", "quarantine:1", "bad@spam.example", "198.51.100.7"),
        summary("acme", h + 30, "spam", "quarantine:2", "bad@spam.example", "198.51.100.7"),
        summary("acme", h - 3600 + 5, "malware", "reject:1", "virus@evil.example", "203.0.113.9"),
        summary("acme", h - 3600 + 6, "bulk", "deliver:1 quarantine:1", "news@bulk.example", "192.0.2.2"),
        summary("beta", h + 40, "phishing", "reject:1", "phish@beta-only.example", "203.0.113.50"),
        summary("acme", h - 25 * 3600, "spam", "reject:1", "old@spam.example", "203.0.113.1"),  // outside 24 h
    };
    ASSERT_TRUE(st->tenancy().add_summaries(v));
    ASSERT_TRUE(st->add_events({{"", (h + 50) * 1000000, "refused", "nobody@acme.example", "550", "acme"},
                                {"", (h + 51) * 1000000, "refused", "nobody@beta.example", "550", "beta"},
                                {"Q1", (h + 52) * 1000000, "delivered", "x@acme.example", "250", "acme"}}));
  }
  json get(const std::string& user, const std::string& pw, const std::string& path, int want = 200) {
    std::string csrf;
    auto cookie = login(user, pw, &csrf);
    auto r = call("GET", path, "", {{"cookie", cookie}});
    EXPECT_EQ(r.status, want) << path << " " << r.body;
    return json::parse(r.body);
  }
  static const json& bucket(const json& j, int64_t t) {
    for (auto& b : j["series"])
      if (b["t"] == t) return b;
    static json none;
    return none;
  }
};

TEST_F(StatsTest, HourlySeriesCountsVerdictsActionsAndRefusals) {
  auto j = get("root", "operator-password-1", "/api/v1/stats");
  EXPECT_EQ(j["bucket"], "hour");
  EXPECT_EQ(j["to"], now);
  EXPECT_EQ(j["from"], 1'699'999'200 - 24 * 3600);  // 24 h back, aligned to the hour
  ASSERT_EQ(j["series"].size(), 25u);
  auto& last = bucket(j, 1'699'999'200);
  EXPECT_EQ(last["total"], 4);
  EXPECT_EQ(last["clean"], 1);
  EXPECT_EQ(last["spam"], 2);
  EXPECT_EQ(last["phishing"], 1);
  EXPECT_EQ(last["quarantined"], 2);
  EXPECT_EQ(last["rejected"], 1);
  EXPECT_EQ(last["refused"], 2);
  auto& prev = bucket(j, 1'699'999'200 - 3600);
  EXPECT_EQ(prev["total"], 2);
  EXPECT_EQ(prev["malware"], 1);
  EXPECT_EQ(prev["bulk"], 1);
  EXPECT_EQ(prev["rejected"], 1);
  EXPECT_EQ(prev["quarantined"], 1);
  int64_t total = 0;
  for (auto& b : j["series"]) total += b["total"].get<int64_t>();
  EXPECT_EQ(total, 6);  // the 25 h old message is out of range
  ASSERT_FALSE(j["top_blocked_senders"].empty());
  EXPECT_EQ(j["top_blocked_senders"][0], (json{{"sender", "bad@spam.example"}, {"count", 2}}));
  EXPECT_EQ(j["top_blocked_senders"].size(), 4u);  // bad, virus, news, phish; not the clean one
  EXPECT_EQ(j["top_blocked_ips"][0], (json{{"ip", "198.51.100.7"}, {"count", 2}}));
  EXPECT_EQ(j["queue"], (json{{"messages", 7}, {"deferred", 2}, {"held", 1}, {"in_flight", 0}}));
  EXPECT_EQ(j["licence"].size(), 2u);

  // Daily buckets over 30 days take in the old message too.
  j = get("root", "operator-password-1", "/api/v1/stats?bucket=day");
  EXPECT_EQ(j["series"].size(), 31u);
  total = 0;
  for (auto& b : j["series"]) total += b["total"].get<int64_t>();
  EXPECT_EQ(total, 7);
  // An explicit range.
  j = get("root", "operator-password-1", "/api/v1/stats?from=1699999200&to=1700002800&tenant=beta");
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"][0]["total"], 1);
  EXPECT_EQ(j["series"][0]["refused"], 1);
  EXPECT_EQ(j["licence"].size(), 1u);
}

TEST_F(StatsTest, ScopedToTheCallersTenant) {
  for (auto [user, pw] : {std::pair{"alice", "alice-password-12"}, {"carol", "carol-password-12"}}) {
    auto j = get(user, pw, "/api/v1/stats");
    EXPECT_EQ(j["tenant"], "acme");
    EXPECT_TRUE(j["queue"].is_null());
    auto& last = bucket(j, 1'699'999'200);
    EXPECT_EQ(last["total"], 3);  // not beta's phishing
    EXPECT_EQ(last["refused"], 1);
    for (auto& s : j["top_blocked_senders"]) EXPECT_NE(s["sender"], "phish@beta-only.example");
    ASSERT_EQ(j["licence"].size(), 1u);
    EXPECT_EQ(j["licence"][0]["tenant"], "acme");
    get(user, pw, "/api/v1/stats?tenant=beta", 403);
  }
  get("dave", "dave-password-123", "/api/v1/stats", 403);
  get("root", "operator-password-1", "/api/v1/stats?tenant=nope", 404);
  get("root", "operator-password-1", "/api/v1/stats?bucket=week", 400);
  get("root", "operator-password-1", "/api/v1/stats?from=5&to=4", 400);
  get("root", "operator-password-1", "/api/v1/stats?from=0", 400);  // too many buckets
}

}  // namespace
}  // namespace mm::api
