#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "reputation/allow.h"
#include "reputation/dnsbl.h"
#include "reputation/reputation.h"

using namespace mm::reputation;

TEST(Reputation, NetworkKeys) {
  EXPECT_EQ(network_of("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(network_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(network_of("not-an-ip"), "");
}

TEST(Reputation, DecayHalvesPerHalfLife) {
  Counts c;
  c.spam = 8;
  c.updated_s = 100;
  c.decay_to(110, 10);
  EXPECT_NEAR(c.spam, 4, 1e-9);
  c.decay_to(130, 10);
  EXPECT_NEAR(c.spam, 1, 1e-9);
  c.decay_to(120, 10);  // time going backwards changes nothing
  EXPECT_NEAR(c.spam, 1, 1e-9);
}

TEST(Reputation, MixedSenderIsDelayedThenRefusedThenRecovers) {
  Reputation r({100, 0.5});
  const std::string ip = "192.0.2.7";
  int64_t t = 1000;
  for (int i = 0; i < 5; ++i) r.record(ip, Outcome::Clean, t);
  EXPECT_EQ(r.assess(ip, Strictness::Normal, t).action, Action::None);
  r.record(ip, Outcome::Spam, t);
  r.record(ip, Outcome::Spam, t);
  EXPECT_EQ(r.assess(ip, Strictness::Normal, t).action, Action::None);  // 2 bad: below volume
  r.record(ip, Outcome::Spam, t);
  auto a = r.assess(ip, Strictness::Normal, t);  // 3 of 8: delayed although most mail is clean
  EXPECT_EQ(a.action, Action::Tempfail);
  EXPECT_NE(a.reason.find("192.0.2.7"), std::string::npos);
  for (int i = 0; i < 6; ++i) r.record(ip, Outcome::Spam, t);
  EXPECT_EQ(r.assess(ip, Strictness::Normal, t).action, Action::Refuse);  // 9 of 14, persistent
  // Recovery: counts decay; after enough half-lives the volume is below the minimum.
  EXPECT_EQ(r.assess(ip, Strictness::Normal, t + 100).action, Action::Tempfail);  // 4.5 bad, 64%
  EXPECT_EQ(r.assess(ip, Strictness::Normal, t + 300).action, Action::None);
  // Clean mail improves the share too.
  for (int i = 0; i < 40; ++i) r.record(ip, Outcome::Clean, t);
  EXPECT_LT(r.assess(ip, Strictness::Normal, t).action, Action::Tempfail);
}

TEST(Reputation, StrictnessLevels) {
  Reputation r({86400, 0.5});
  r.record("198.51.100.1", Outcome::Clean, 0, 20);
  r.record("198.51.100.1", Outcome::Spam, 0);
  EXPECT_EQ(r.assess("198.51.100.1", Strictness::Strict, 0).action, Action::Tempfail);  // one spam
  EXPECT_EQ(r.assess("198.51.100.1", Strictness::Normal, 0).action, Action::None);
  EXPECT_EQ(r.assess("198.51.100.1", Strictness::Low, 0).action, Action::None);
  EXPECT_EQ(r.assess("198.51.100.9", Strictness::Strict, 0).action, Action::None);  // neighbour
}

TEST(Reputation, NetworkListingNeedsMoreVolume) {
  Reputation r({86400, 0.5});
  for (int i = 1; i <= 4; ++i) r.record("203.0.113." + std::to_string(i), Outcome::Spam, 0, 2);
  // Each IP has 2 bad (below 3); the /24 has 8 (below 9): nothing yet.
  EXPECT_EQ(r.assess("203.0.113.50", Strictness::Normal, 0).action, Action::None);
  r.record("203.0.113.5", Outcome::Spam, 0, 2);
  auto a = r.assess("203.0.113.50", Strictness::Normal, 0);
  EXPECT_EQ(a.action, Action::Tempfail);
  EXPECT_NE(a.reason.find("203.0.113.0/24"), std::string::npos);
}

TEST(Reputation, RefusedRecipientsCountHalf) {
  Reputation r({86400, 0.5});
  r.record("192.0.2.1", Outcome::Refused, 0, 5);  // 2.5 bad
  EXPECT_EQ(r.assess("192.0.2.1", Strictness::Normal, 0).action, Action::None);
  r.record("192.0.2.1", Outcome::Refused, 0, 1);  // 3 bad
  EXPECT_NE(r.assess("192.0.2.1", Strictness::Normal, 0).action, Action::None);
}

TEST(Reputation, SaveAndLoadSurviveRestart) {
  std::string path = ::testing::TempDir() + "/rep_state.txt";
  {
    Reputation r({1000, 0.5});
    r.record("192.0.2.7", Outcome::Spam, 500, 4);
    r.record("2001:db8::1", Outcome::Malware, 500, 1);
    ASSERT_TRUE(r.save(path, 500));
  }
  Reputation r2({1000, 0.5});
  ASSERT_TRUE(r2.load(path));
  auto a = r2.assess("192.0.2.7", Strictness::Normal, 500);
  EXPECT_NEAR(a.ip.spam, 4, 1e-6);
  EXPECT_EQ(a.action, Action::Tempfail);  // 4 bad, share 100%: tempfail (refusal needs 8)
  EXPECT_NEAR(r2.assess("2001:db8::1", Strictness::Normal, 1500).ip.malware, 0.5, 1e-6);
  auto top = r2.top(10, 500);
  ASSERT_FALSE(top.empty());
  EXPECT_NEAR(top[0].second.spam, 4, 1e-6);
  // A damaged file: good lines load, bad ones are reported.
  {
    std::ofstream f(path, std::ios::app);
    f << "garbage line\n";
  }
  Reputation r3({1000, 0.5});
  EXPECT_FALSE(r3.load(path));
  EXPECT_NEAR(r3.assess("192.0.2.7", Strictness::Normal, 500).ip.spam, 4, 1e-6);
  std::remove(path.c_str());
}

TEST(Allow, ParseAndMatch) {
  EXPECT_EQ(parse_allow("192.0.2.77/24")->second, "192.0.2.0/24");
  EXPECT_EQ(parse_allow("192.0.2.77")->first, AllowKind::Ip);
  EXPECT_EQ(parse_allow("2001:DB8::1/32")->second, "2001:db8::/32");
  EXPECT_EQ(parse_allow("*.Example.com")->first, AllowKind::Host);
  EXPECT_EQ(parse_allow("sender:example.com")->first, AllowKind::Sender);
  EXPECT_FALSE(parse_allow("192.0.2.1/33"));
  EXPECT_FALSE(parse_allow("nodots"));
  EXPECT_FALSE(parse_allow("sender:*.x.com"));
  EXPECT_TRUE(ip_in("10.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(ip_in("11.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(ip_in("::1", "0.0.0.0/0"));
  EXPECT_TRUE(host_matches("*.example.com", "MX1.example.com."));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "badexample.com"));

  std::vector<AllowEntry> e = {{"acme", "192.0.2.0/24", 0},
                               {"", "198.51.100.1", 0},
                               {"beta", "*.mx.example.net", 0},
                               {"acme", "sender:partner.example", 0},
                               {"acme", "203.0.113.5", 100}};
  EXPECT_TRUE(match_allow(e, "acme", "192.0.2.9", "", "", 0).matched);
  EXPECT_FALSE(match_allow(e, "beta", "192.0.2.9", "", "", 0).matched);  // other tenant's entry
  EXPECT_TRUE(match_allow(e, "beta", "198.51.100.1", "", "", 0).matched);  // operator-wide
  EXPECT_TRUE(match_allow(e, "beta", "1.2.3.4", "a.mx.example.net", "", 0).matched);
  EXPECT_TRUE(match_allow(e, "acme", "203.0.113.5", "", "", 99).matched);
  EXPECT_FALSE(match_allow(e, "acme", "203.0.113.5", "", "", 100).matched);  // expired
  auto m = match_allow(e, "acme", "1.2.3.4", "", "Partner.Example", 0);
  EXPECT_FALSE(m.matched);
  EXPECT_EQ(m.sender_domain, "partner.example");
}

TEST(Allow, SenderDomainNeedsAuthentication) {
  AuthView a{"pass", "partner.example", {}};
  EXPECT_TRUE(authenticated_for(a, "partner.example"));
  EXPECT_FALSE(authenticated_for(a, "other.example"));
  AuthView d{"fail", "partner.example", {{"mail.partner.example", "pass"}, {"evil.example", "pass"}}};
  EXPECT_TRUE(authenticated_for(d, "partner.example"));
  AuthView f{"softfail", "partner.example", {{"partner.example", "fail"}, {"xpartner.example", "pass"}}};
  EXPECT_FALSE(authenticated_for(f, "partner.example"));
}

TEST(Dnsbl, ParseAndWeigh) {
  DnsList l;
  ASSERT_TRUE(parse_dns_list("bl.example.org", &l));
  EXPECT_EQ(l.weight, 1);
  EXPECT_EQ(list_weight(l, {"127.0.0.9"}), 1);
  EXPECT_EQ(list_weight(l, {}), 0);
  ASSERT_TRUE(parse_dns_list("zen.example=127.0.0.2,127.0.0.4*3", &l));
  EXPECT_EQ(l.zone, "zen.example");
  EXPECT_EQ(list_weight(l, {"127.0.0.4"}), 3);
  EXPECT_EQ(list_weight(l, {"127.0.0.10"}), 0);
  ASSERT_TRUE(parse_dns_list("wl.example*-2", &l));
  EXPECT_EQ(list_weight(l, {"127.0.0.1"}), -2);
  EXPECT_FALSE(parse_dns_list("zone*x", &l));
  EXPECT_FALSE(parse_dns_list("zone.example=notip", &l));
  EXPECT_FALSE(parse_dns_list("nodot", &l));
}

TEST(Dnsbl, HeloSanity) {
  EXPECT_TRUE(bad_helo("localhost", "mx.us"));
  EXPECT_TRUE(bad_helo("192.0.2.1", "mx.us"));
  EXPECT_TRUE(bad_helo("foo", "mx.us"));
  EXPECT_TRUE(bad_helo("MX.us", "mx.us"));
  EXPECT_FALSE(bad_helo("[192.0.2.1]", "mx.us"));
  EXPECT_FALSE(bad_helo("mail.example.com", "mx.us"));
}

#include "reputation/greylist.h"

TEST(Greylist, RetryAfterDelayPassesAndNetworkAutoPasses) {
  Greylist g({60, 3600, 86400, 2, 1000});
  EXPECT_EQ(g.check("192.0.2.1", "a@x.example", "bob@acme.example", 1000), 60);
  EXPECT_EQ(g.check("192.0.2.1", "a@x.example", "bob@acme.example", 1030), 30);  // too early
  EXPECT_EQ(g.check("192.0.2.1", "a@x.example", "bob@acme.example", 1060), 0);   // correct retry
  EXPECT_EQ(g.check("192.0.2.1", "A@X.example", "bob@acme.example", 50000), 0);  // remembered
  // Another recipient: a new triplet; another host of the same /24 shares the network's record.
  EXPECT_EQ(g.check("192.0.2.2", "a@x.example", "carol@acme.example", 2000), 60);
  EXPECT_EQ(g.check("192.0.2.2", "a@x.example", "carol@acme.example", 2070), 0);
  // Two correct retries: the network passes every triplet now.
  EXPECT_EQ(g.check("192.0.2.9", "new@y.example", "dave@acme.example", 3000), 0);
  // Retried too late: starts again.
  EXPECT_EQ(g.check("198.51.100.1", "s@z.example", "r@acme.example", 0), 60);
  EXPECT_EQ(g.check("198.51.100.1", "s@z.example", "r@acme.example", 4000), 60);
  EXPECT_EQ(g.check("not-an-ip", "s", "r", 0), 0);
}

#include "reputation/connection.h"

TEST(ConnectionControl, ReputationPerTenantStrictnessAndAllowLists) {
  Reputation rep({86400, 0.5});
  rep.record("192.0.2.7", Outcome::Clean, 0, 20);
  rep.record("192.0.2.7", Outcome::Spam, 0, 1);
  ConnectionOptions o;
  ConnectionControl cc(o, rep, nullptr);
  cc.set_lists({{"beta", "192.0.2.7", 0}}, {{"acme", Strictness::Strict}, {"gamma", Strictness::Off}});
  auto c = cc.begin("192.0.2.7");
  cc.on_mail(*c, "x.example", 0);
  EXPECT_TRUE(cc.decide(*c, "other", "x.example", 0).accepted());  // normal: one spam in 21 is fine
  auto strict = cc.decide(*c, "acme", "x.example", 0);             // strict: listed after one spam
  EXPECT_EQ(strict.code, 450);
  EXPECT_NE(strict.reason.find("strict"), std::string::npos);
  auto allowed = cc.decide(*c, "beta", "x.example", 0);
  EXPECT_TRUE(allowed.accepted());
  EXPECT_TRUE(allowed.allowed);
  rep.record("192.0.2.7", Outcome::Spam, 0, 5);  // 6 of 26 (23%): tarpit at normal
  EXPECT_TRUE(cc.decide(*c, "other", "x.example", 0).tarpit);
  EXPECT_TRUE(cc.decide(*c, "other", "x.example", 0).accepted());
  EXPECT_EQ(cc.decide(*c, "acme", "x.example", 0).code, 450);
  auto off = cc.decide(*c, "gamma", "x.example", 0);  // look up and log only
  EXPECT_TRUE(off.accepted());
  EXPECT_TRUE(off.logged_only);
  EXPECT_EQ(off.action, Action::Tarpit);
  rep.record("192.0.2.7", Outcome::Spam, 0, 10);  // 16 of 36 (44%): refused at strict, delayed at normal
  EXPECT_EQ(cc.decide(*c, "acme", "x.example", 0).code, 550);
  EXPECT_EQ(cc.decide(*c, "other", "x.example", 0).code, 450);
}

TEST(ConnectionControl, SenderDomainEntryDefersToAuthentication) {
  Reputation rep({86400, 0.5});
  rep.record("192.0.2.8", Outcome::Spam, 0, 10);
  ConnectionControl cc({}, rep, nullptr);
  cc.set_lists({{"acme", "sender:partner.example", 0}}, {});
  auto c = cc.begin("192.0.2.8");
  auto d = cc.decide(*c, "acme", "partner.example", 0);
  EXPECT_EQ(d.code, 550);
  EXPECT_EQ(d.pending_domain, "partner.example");
  EXPECT_TRUE(cc.decide(*c, "acme", "other.example", 0).pending_domain.empty());
}

TEST(ConnectionControl, RateAndConcurrencyLimitsNameTheReason) {
  Reputation rep({86400, 0.5});
  ConnectionOptions o;
  o.rate_per_ip = 3;
  o.rate_per_sender_domain = 5;
  o.max_per_network = 2;
  ConnectionControl cc(o, rep, nullptr);
  auto c = cc.begin("198.51.100.1");
  for (int i = 0; i < 3; ++i) {
    cc.on_mail(*c, "bulk.example", 60);
    EXPECT_TRUE(cc.decide(*c, "acme", "bulk.example", 60).accepted()) << i;
  }
  cc.on_mail(*c, "bulk.example", 60);
  auto d = cc.decide(*c, "acme", "bulk.example", 60);
  EXPECT_EQ(d.code, 450);
  EXPECT_NE(d.text.find("too many messages from 198.51.100.1"), std::string::npos);
  // Another IP, same sender domain: the domain's limit (5 a minute) is next.
  auto c2 = cc.begin("203.0.113.1");
  cc.on_mail(*c2, "bulk.example", 61);  // the domain's 4th and 5th (the refused 4th from the IP was not counted)
  EXPECT_TRUE(cc.decide(*c2, "acme", "bulk.example", 61).accepted());
  cc.on_mail(*c2, "bulk.example", 61);
  EXPECT_TRUE(cc.decide(*c2, "acme", "bulk.example", 61).accepted());
  cc.on_mail(*c2, "bulk.example", 61);
  EXPECT_NE(cc.decide(*c2, "acme", "bulk.example", 61).text.find("sender domain bulk.example"), std::string::npos);
  // Two minutes later the window has moved on.
  cc.on_mail(*c, "bulk.example", 200);
  EXPECT_TRUE(cc.decide(*c, "acme", "bulk.example", 200).accepted());
  // A third concurrent session from 198.51.100.0/24 is over the network's limit; closing one frees it.
  auto c3 = cc.begin("198.51.100.2");
  auto c4 = cc.begin("198.51.100.3");
  EXPECT_NE(cc.decide(*c4, "acme", "", 200).text.find("Too many connections"), std::string::npos);
  c3.reset();
  c4.reset();
  auto c5 = cc.begin("198.51.100.4");
  EXPECT_TRUE(cc.decide(*c5, "acme", "", 200).accepted());
}

TEST(ConnectionControl, EarlyTalkerScoresItsWeight) {
  Reputation rep({86400, 0.5});
  ConnectionOptions o;
  o.pregreet_weight = 3;  // the default refuse score
  ConnectionControl cc(o, rep, nullptr);
  auto polite = cc.begin("198.51.100.20");
  cc.on_mail(*polite, "x.example", 0);
  EXPECT_TRUE(cc.decide(*polite, "acme", "x.example", 0).accepted());
  auto early = cc.begin("198.51.100.21");
  early->set_pregreet();
  cc.on_mail(*early, "x.example", 0);
  auto d = cc.decide(*early, "acme", "x.example", 0);
  EXPECT_EQ(d.code, 554);
  EXPECT_NE(d.text.find("talked before the greeting"), std::string::npos);
  o.pregreet_weight = 2;  // the tempfail score: delayed, not refused
  ConnectionControl soft(o, rep, nullptr);
  auto e2 = soft.begin("198.51.100.22");
  e2->set_pregreet();
  soft.on_mail(*e2, "x.example", 0);
  EXPECT_EQ(soft.decide(*e2, "acme", "x.example", 0).code, 450);
}
