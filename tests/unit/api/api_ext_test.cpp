// Issue 7 API extensions: dashboard statistics, TOTP, connection control.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "api/totp.h"
#include "reputation/reputation.h"
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


TEST(Totp, Rfc6238AppendixBAndRfc4226AppendixD) {
  const std::string key = "12345678901234567890";
  const std::pair<int64_t, const char*> b[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
                                               {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (auto [t, code] : b) EXPECT_EQ(hotp(key, static_cast<uint64_t>(totp_step(t)), 8), code) << t;
  const char* d[] = {"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(hotp(key, i), d[i]) << i;
  EXPECT_EQ(hotp("", 1), "");
}

TEST(Totp, Base32AndMatchingWindow) {
  const std::pair<const char*, const char*> v[] = {{"", ""},          {"f", "MY"},          {"fo", "MZXQ"},
                                                   {"foo", "MZXW6"},  {"foob", "MZXW6YQ"},  {"fooba", "MZXW6YTB"},
                                                   {"foobar", "MZXW6YTBOI"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base32_encode(plain), enc);
    EXPECT_EQ(base32_decode(enc), std::string(plain));
  }
  EXPECT_EQ(base32_decode("mzxw 6ytb oi=="), std::string("foobar"));
  EXPECT_FALSE(base32_decode("MZXW1"));
  auto secret = new_totp_secret();
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_NE(secret, new_totp_secret());
  auto key = *base32_decode(secret);
  const int64_t now = 1'700'000'015;  // step 56'666'667
  for (int64_t d : {-1, 0, 1}) EXPECT_EQ(totp_match(secret, hotp(key, uint64_t(totp_step(now) + d)), now), totp_step(now) + d);
  for (int64_t d : {-3, -2, 2, 3}) {
    auto code = hotp(key, uint64_t(totp_step(now) + d));
    bool near = false;  // a code of a far step may collide with a near one by chance
    for (int64_t e : {-1, 0, 1}) near |= code == hotp(key, uint64_t(totp_step(now) + e));
    if (!near) {
      EXPECT_FALSE(totp_match(secret, code, now)) << d;
    }
  }
  EXPECT_FALSE(totp_match(secret, "12345", now));
  EXPECT_FALSE(totp_match(secret, "12345a", now));
  EXPECT_EQ(otpauth_uri("a b@x", "ABC"), "otpauth://totp/mailmoat:a%20b@x?secret=ABC&issuer=mailmoat");
}

class TotpApiTest : public ApiTest {
 protected:
  static std::string key(char c) { return std::string(32, c); }
  void auth(AuthOptions& o) override { o.secrets_key = key('k'); }  // secrets sealed in the store
  std::string code(const std::string& secret, int64_t delta = 0) {
    return hotp(*base32_decode(secret), static_cast<uint64_t>(totp_step(now) + delta));
  }
  Response try_login(const std::string& user, const std::string& pw, const std::string& totp = "") {
    json b = {{"name", user}, {"password", pw}};
    if (!totp.empty()) b["totp_code"] = totp;
    return call("POST", "/api/v1/login", b.dump());
  }
  // Enrols alice; returns the secret.
  std::string enrol() {
    std::string csrf;
    auto cookie = login("alice", "alice-password-12", &csrf);
    std::map<std::string, std::string> h = {{"cookie", cookie}, {"x-csrf-token", csrf}};
    auto r = call("POST", "/api/v1/session/totp", "", h);
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    std::string secret = j["secret"];
    EXPECT_EQ(j["otpauth_uri"], "otpauth://totp/mailmoat:alice?secret=" + secret + "&issuer=mailmoat");
    // Pending: login needs no code yet, a wrong confirmation is refused.
    EXPECT_EQ(try_login("alice", "alice-password-12").status, 200);
    auto bad = call("POST", "/api/v1/session/totp/confirm", json{{"code", code(secret, 5)}}.dump(), h);
    EXPECT_EQ(bad.status, 400);  // the session itself is fine
    EXPECT_EQ(json::parse(bad.body)["error"]["code"], "totp_invalid");
    auto okr = call("POST", "/api/v1/session/totp/confirm", json{{"code", code(secret)}}.dump(), h);
    EXPECT_EQ(okr.status, 200) << okr.body;
    EXPECT_EQ(json::parse(okr.body)["totp"], true);
    EXPECT_EQ(json::parse(call("GET", "/api/v1/session", "", h).body)["totp"], true);
    EXPECT_EQ(call("POST", "/api/v1/session/totp", "", h).status, 409);  // on: no second enrolment
    return secret;
  }
};

TEST_F(TotpApiTest, LoginNeedsAFreshCodeOnce) {
  auto secret = enrol();
  now += 30;  // the confirmation used the previous step
  auto r = try_login("alice", "alice-password-12");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "totp_required");
  r = try_login("alice", "wrong-password-xx", code(secret));
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unauthorized");
  r = try_login("alice", "alice-password-12", "000000" == code(secret) ? "111111" : "000000");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "totp_invalid");
  auto c = code(secret);
  EXPECT_EQ(try_login("alice", "alice-password-12", c).status, 200);
  r = try_login("alice", "alice-password-12", c);  // replay of the same step
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "totp_invalid");
  EXPECT_EQ(try_login("alice", "alice-password-12", code(secret, -1)).status, 401);  // older than the used one
  EXPECT_EQ(try_login("alice", "alice-password-12", code(secret, 1)).status, 200);  // next step, clock drift
  now += 90;
  EXPECT_EQ(try_login("alice", "alice-password-12", code(secret)).status, 200);
  // Other users are unaffected.
  EXPECT_EQ(try_login("bob", "bob-password-1234").status, 200);
}

TEST_F(TotpApiTest, SecretsAreSealedInTheStore) {
  auto secret = enrol();
  now += 30;
  auto stored = st->api()->totp("alice");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->secret.rfind("sb1:", 0), 0u) << stored->secret;
  EXPECT_EQ(stored->secret.find(secret), std::string::npos);
  EXPECT_EQ(try_login("alice", "alice-password-12", code(secret)).status, 200);
  // Another key (a database restored without its key file): refused with the way out named.
  ApiDeps d;
  d.store = st.get();
  d.tenancy = ten.get();
  d.clock = [this] { return now; };
  AuthOptions other;
  other.secrets_key = key('x');
  Api wrong_key(d, other);
  now += 30;
  Request r;
  r.method = "POST";
  r.path = "/api/v1/login";
  r.headers["content-type"] = "application/json";
  r.body = json{{"name", "alice"}, {"password", "alice-password-12"}, {"totp_code", code(secret)}}.dump();
  r.client_ip = "127.0.0.1";
  auto res = wrong_key.handle(r);
  EXPECT_EQ(res.status, 500) << res.body;
  EXPECT_NE(res.body.find("totp-reset"), std::string::npos) << res.body;
  // A secret stored before the key was set is still read as it is.
  ASSERT_TRUE(st->api()->set_totp("alice", secret, true));
  now += 30;
  EXPECT_EQ(try_login("alice", "alice-password-12", code(secret)).status, 200);
}

TEST(SecretsKey, CreatedOnceWithMode0600AndCheckedOnRead) {
  char tmpl[] = "/tmp/mm-secrets-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/secrets.key";
  auto k1 = load_or_create_secrets_key(path);
  ASSERT_TRUE(k1) << k1.error();
  EXPECT_EQ(k1->size(), 32u);
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  auto k2 = load_or_create_secrets_key(path);
  ASSERT_TRUE(k2);
  EXPECT_EQ(*k1, *k2);
  {
    std::ofstream(path, std::ios::trunc) << "short";
  }
  auto bad = load_or_create_secrets_key(path);
  EXPECT_FALSE(bad);
  EXPECT_NE(bad.error().find("32 bytes"), std::string::npos) << bad.error();
  std::filesystem::remove_all(dir);
}

TEST_F(TotpApiTest, WrongCodesLockTheUserOut) {
  auto secret = enrol();  // the confirmation cleared its wrong try
  now += 30;
  std::string wrong = code(secret) == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(try_login("alice", "alice-password-12", wrong).status, 401) << i;
  auto r = try_login("alice", "alice-password-12", code(secret));
  EXPECT_EQ(r.status, 429) << r.body;
  auto ev = ten->security_events(tenancy::Scope::operator_scope(), "acme", 10);
  ASSERT_TRUE(ev);
  ASSERT_FALSE(ev->empty());
  EXPECT_EQ(ev->front().kind, "login_lockout");
}

TEST_F(TotpApiTest, DisableResetAndNoSecretInTheAuditLog) {
  auto secret = enrol();
  now += 30;
  std::string csrf;
  auto cookie = login("root", "operator-password-1", &csrf);
  std::map<std::string, std::string> root = {{"cookie", cookie}, {"x-csrf-token", csrf}};
  auto bob_cookie = login("bob", "bob-password-1234", &csrf);
  std::map<std::string, std::string> bob = {{"cookie", bob_cookie}, {"x-csrf-token", csrf}};
  EXPECT_EQ(call("PATCH", "/api/v1/users/alice", json{{"totp", false}}.dump(), bob).status, 403);
  EXPECT_EQ(call("PATCH", "/api/v1/users/alice", json{{"totp", true}}.dump(), root).status, 400);
  auto users = json::parse(call("GET", "/api/v1/users?name=alice", "", root).body);
  EXPECT_EQ(users["items"][0]["totp"], true);
  auto r = call("PATCH", "/api/v1/users/alice", json{{"totp", false}}.dump(), root);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["totp"], false);
  auto last = st->api()->audit({}).front();
  EXPECT_EQ(last.action, "PATCH /api/v1/users/{name}");
  EXPECT_EQ(json::parse(last.before_json)["totp"], true);
  EXPECT_EQ(json::parse(last.after_json)["totp"], false);
  EXPECT_EQ(try_login("alice", "alice-password-12").status, 200);

  // Enrol again, then turn it off with a code of her own.
  secret = enrol();
  now += 30;
  auto lr = try_login("alice", "alice-password-12", code(secret));
  ASSERT_EQ(lr.status, 200);
  std::string acookie;
  for (auto [it, end] = lr.headers.equal_range("Set-Cookie"); it != end; ++it)
    if (it->second.rfind("mm_session=", 0) == 0) acookie = it->second.substr(0, it->second.find(';'));
  std::map<std::string, std::string> ah = {{"cookie", acookie}, {"x-csrf-token", json::parse(lr.body)["csrf_token"]}};
  EXPECT_EQ(call("POST", "/api/v1/session/totp/disable", json{{"code", code(secret)}}.dump(), ah).status, 400);  // used
  now += 30;
  EXPECT_EQ(call("POST", "/api/v1/session/totp/disable", json{{"code", code(secret)}}.dump(), ah).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/session/totp/disable", json{{"code", code(secret)}}.dump(), ah).status, 409);
  EXPECT_EQ(try_login("alice", "alice-password-12").status, 200);

  for (auto& a : st->api()->audit({}))
    EXPECT_EQ((a.before_json + a.after_json).find(secret), std::string::npos) << a.action;
  auto ev = ten->security_events(tenancy::Scope::operator_scope(), "acme", 20);
  bool reset = false;
  for (auto& e : *ev) reset |= e.kind == "totp_reset";
  EXPECT_TRUE(reset);
}

TEST_F(TotpApiTest, TokensCannotEnrol) {
  std::string csrf;
  auto cookie = login("alice", "alice-password-12", &csrf);
  auto t = call("POST", "/api/v1/tokens", json{{"label", "ci"}, {"access", "write"}}.dump(),
                {{"cookie", cookie}, {"x-csrf-token", csrf}});
  ASSERT_EQ(t.status, 201) << t.body;
  std::string bearer = "Bearer " + json::parse(t.body)["token"].get<std::string>();
  EXPECT_EQ(call("POST", "/api/v1/session/totp", "", {{"authorization", bearer}}).status, 403);
}


class ConnectionApiTest : public ApiTest {
 protected:
  void deps(ApiDeps& d) override {
    d.reputation = &rep;
    d.default_strictness = "normal";
  }
  void SetUp() override {
    for (int i = 0; i < 12; ++i) rep.record("198.51.100.7", reputation::Outcome::Spam, now);
    rep.record("198.51.100.7", reputation::Outcome::Clean, now);
    rep.record("192.0.2.10", reputation::Outcome::Clean, now);
    ApiTest::SetUp();
    auto op = tenancy::Scope::operator_scope();
    ASSERT_TRUE(ten->create_user(op, "carol", "auditor", "acme", "", "carol-password-12"));
    ASSERT_TRUE(ten->add_account(op, "acme", "dave@acme.example", ""));
    ASSERT_TRUE(ten->create_user(op, "dave", "user", "acme", "dave@acme.example", "dave-password-123"));
    for (auto [u, pw] : {std::pair{"root", "operator-password-1"}, {"alice", "alice-password-12"}, {"bob", "bob-password-1234"},
                         {"carol", "carol-password-12"}, {"dave", "dave-password-123"}}) {
      std::string csrf;
      auto cookie = login(u, pw, &csrf);
      as[u] = {{"cookie", cookie}, {"x-csrf-token", csrf}};
    }
  }
  Response req(const std::string& who, const std::string& method, const std::string& path, const json& body = nullptr) {
    return call(method, path, body.is_null() ? "" : body.dump(), as[who]);
  }
  reputation::Reputation rep{{86400, 0.5}};
  std::map<std::string, std::map<std::string, std::string>> as;
};

TEST_F(ConnectionApiTest, LookupShowsCountsActionsAndAllowEntries) {
  auto r = req("root", "GET", "/api/v1/reputation/ips/198.51.100.7");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["ip"], "198.51.100.7");
  EXPECT_EQ(j["network"], "198.51.100.0/24");
  EXPECT_DOUBLE_EQ(j["ip_counts"]["spam"].get<double>(), 12);
  EXPECT_DOUBLE_EQ(j["ip_counts"]["clean"].get<double>(), 1);
  EXPECT_NEAR(j["bad_share_ip"].get<double>(), 12.0 / 13, 1e-9);
  EXPECT_EQ(j["actions"]["normal"], "refuse");
  EXPECT_EQ(j["strictness"], "normal");
  EXPECT_EQ(j["action"], "refuse");
  EXPECT_NE(j["reason"].get<std::string>().find("198.51.100.7"), std::string::npos);
  EXPECT_TRUE(j["allowed_by"].empty());
  EXPECT_EQ(json::parse(req("root", "GET", "/api/v1/reputation/ips/192.0.2.10").body)["action"], "none");
  EXPECT_EQ(req("root", "GET", "/api/v1/reputation/ips/not-an-ip").status, 400);

  // acme turns strictness off and allows the network; its admin sees that, beta's does not.
  EXPECT_EQ(req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"strictness", "off"}}).status, 200);
  auto a = req("alice", "POST", "/api/v1/tenants/acme/allowlist", {{"entry", "198.51.100.9/24"}, {"note", "partner"}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(json::parse(a.body)["entry"], "198.51.100.0/24");  // normalised as the CLI does
  j = json::parse(req("carol", "GET", "/api/v1/reputation/ips/198.51.100.7").body);
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_EQ(j["strictness"], "off");
  ASSERT_EQ(j["allowed_by"].size(), 1u);
  EXPECT_EQ(j["allowed_by"][0]["note"], "partner");
  j = json::parse(req("bob", "GET", "/api/v1/reputation/ips/198.51.100.7").body);
  EXPECT_EQ(j["strictness"], "normal");
  EXPECT_TRUE(j["allowed_by"].empty());
  EXPECT_EQ(req("bob", "GET", "/api/v1/reputation/ips/198.51.100.7?tenant=acme").status, 403);
  EXPECT_EQ(req("dave", "GET", "/api/v1/reputation/ips/198.51.100.7").status, 403);
}

TEST_F(ConnectionApiTest, TopIsForOperators) {
  auto r = req("root", "GET", "/api/v1/reputation/top?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  ASSERT_EQ(j["items"].size(), 2u);
  std::set<std::string> sources;
  for (auto& i : j["items"]) sources.insert(i["source"]);
  EXPECT_TRUE(sources.count("198.51.100.7"));
  EXPECT_TRUE(sources.count("198.51.100.0/24"));
  for (auto& i : j["items"]) EXPECT_DOUBLE_EQ(i["bad"].get<double>(), 12);
  for (auto who : {"alice", "carol", "dave"}) EXPECT_EQ(req(who, "GET", "/api/v1/reputation/top").status, 403) << who;
}

TEST_F(ConnectionApiTest, AllowListsAreScopedValidatedAndAudited) {
  // Operator-wide: operators only.
  auto r = req("root", "POST", "/api/v1/allowlist", {{"entry", "*.Partner.Example"}, {"expires_at", now + 3600}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json::parse(r.body)["id"].get<int64_t>();
  EXPECT_EQ(json::parse(r.body)["entry"], "*.partner.example");
  EXPECT_EQ(req("root", "POST", "/api/v1/allowlist", {{"entry", "*.partner.example"}}).status, 200);  // replaced
  for (auto who : {"alice", "carol", "dave"}) {
    EXPECT_EQ(req(who, "GET", "/api/v1/allowlist").status, 403) << who;
    EXPECT_EQ(req(who, "POST", "/api/v1/allowlist", {{"entry", "192.0.2.1"}}).status, 403) << who;
    EXPECT_EQ(req(who, "DELETE", "/api/v1/allowlist/" + std::to_string(id)).status, 403) << who;
  }
  for (auto bad : {"", "not an entry", "192.0.2.0/99", "sender:"})
    EXPECT_EQ(req("root", "POST", "/api/v1/allowlist", {{"entry", bad}}).status, 400) << bad;
  EXPECT_EQ(req("root", "POST", "/api/v1/allowlist", {{"entry", "192.0.2.1"}, {"expires_at", now - 1}}).status, 400);

  // A tenant's list: its admin changes, its auditor reads, others are refused.
  r = req("alice", "POST", "/api/v1/tenants/acme/allowlist", {{"entry", "sender:Example.COM"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto tid = json::parse(r.body)["id"].get<int64_t>();
  auto list = json::parse(req("carol", "GET", "/api/v1/tenants/acme/allowlist").body);
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["entry"], "sender:example.com");
  EXPECT_EQ(req("carol", "POST", "/api/v1/tenants/acme/allowlist", {{"entry", "192.0.2.1"}}).status, 403);
  EXPECT_EQ(req("bob", "GET", "/api/v1/tenants/acme/allowlist").status, 403);
  EXPECT_EQ(req("bob", "DELETE", "/api/v1/tenants/acme/allowlist/" + std::to_string(tid)).status, 403);
  EXPECT_EQ(req("dave", "GET", "/api/v1/tenants/acme/allowlist").status, 403);
  EXPECT_EQ(req("root", "GET", "/api/v1/tenants/nope/allowlist").status, 404);
  // The operator-wide entry is not in acme's list, and acme's id does not reach it.
  EXPECT_EQ(req("alice", "DELETE", "/api/v1/tenants/acme/allowlist/" + std::to_string(id)).status, 204);
  EXPECT_EQ(json::parse(req("root", "GET", "/api/v1/allowlist").body)["items"].size(), 1u);
  // The store has what the CLI would list.
  int found = 0;
  for (auto& e : st->reputation().allow_entries()) found += e.tenant == "acme" && e.pattern == "sender:example.com";
  EXPECT_EQ(found, 1);
  EXPECT_EQ(req("alice", "DELETE", "/api/v1/tenants/acme/allowlist/" + std::to_string(tid)).status, 204);
  EXPECT_EQ(req("alice", "DELETE", "/api/v1/tenants/acme/allowlist/" + std::to_string(tid)).status, 204);  // idempotent
  EXPECT_TRUE(json::parse(req("alice", "GET", "/api/v1/tenants/acme/allowlist").body)["items"].empty());
  EXPECT_EQ(req("alice", "DELETE", "/api/v1/tenants/acme/allowlist/x").status, 400);

  bool added = false, removed = false;
  for (auto& a : st->api()->audit({})) {
    if (a.action == "POST /api/v1/tenants/{tenant}/allowlist") added |= a.tenant == "acme" && a.actor == "alice";
    if (a.action == "DELETE /api/v1/tenants/{tenant}/allowlist/{id}")
      removed |= a.before_json.find("sender:example.com") != std::string::npos;
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(removed);
}

TEST_F(ConnectionApiTest, TenantStrictnessAndGreylisting) {
  auto j = json::parse(req("carol", "GET", "/api/v1/tenants/acme/connection").body);
  EXPECT_EQ(j, (json{{"tenant", "acme"}, {"strictness", "normal"}, {"inherited", true}, {"greylisting", false}}));
  auto gen = st->config_generation();
  auto r = req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"strictness", "strict"}, {"greylisting", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), (json{{"tenant", "acme"}, {"strictness", "strict"}, {"inherited", false}, {"greylisting", true}}));
  EXPECT_GT(st->config_generation(), gen);  // the gateway reloads
  EXPECT_EQ(st->reputation().strictness().at("acme"), "strict");
  EXPECT_TRUE(st->reputation().greylisting().count("acme"));
  // Idempotent, partial, and back to the default.
  EXPECT_EQ(req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"strictness", "strict"}}).status, 200);
  j = json::parse(req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"strictness", "default"}}).body);
  EXPECT_EQ(j["strictness"], "normal");
  EXPECT_EQ(j["inherited"], true);
  EXPECT_EQ(j["greylisting"], true);
  EXPECT_EQ(req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"strictness", "paranoid"}}).status, 400);
  EXPECT_EQ(req("alice", "PUT", "/api/v1/tenants/acme/connection", {{"greylist", true}}).status, 400);
  EXPECT_EQ(req("carol", "PUT", "/api/v1/tenants/acme/connection", {{"greylisting", false}}).status, 403);
  EXPECT_EQ(req("bob", "PUT", "/api/v1/tenants/acme/connection", {{"greylisting", false}}).status, 403);
  EXPECT_EQ(req("bob", "GET", "/api/v1/tenants/acme/connection").status, 403);
  EXPECT_EQ(req("dave", "GET", "/api/v1/tenants/acme/connection").status, 403);
  EXPECT_EQ(req("root", "PUT", "/api/v1/tenants/acme/connection", {{"greylisting", false}}).status, 200);
  EXPECT_FALSE(st->reputation().greylisting().count("acme"));
}

TEST_F(ApiTest, ReputationWithoutALiveServerIs503) {
  std::string csrf;
  auto cookie = login("root", "operator-password-1", &csrf);
  EXPECT_EQ(call("GET", "/api/v1/reputation/ips/192.0.2.1", "", {{"cookie", cookie}}).status, 503);
  EXPECT_EQ(call("GET", "/api/v1/reputation/top", "", {{"cookie", cookie}}).status, 503);
}

}  // namespace
}  // namespace mm::api
