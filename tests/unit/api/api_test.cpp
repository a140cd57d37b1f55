#include "api/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api_fixture.h"
#include "tenancy/tenancy.h"

namespace mm::api {
extern const char* const kOpenApiDocument;
namespace {

using json = nlohmann::json;

TEST(Router, MatchesParametersAndPrefersLiterals) {
  Router r;
  r.add({"GET", "/api/v1/tenants/{tenant}"});
  r.add({"GET", "/api/v1/tenants/usage"});
  r.add({"DELETE", "/api/v1/tenants/{tenant}"});
  size_t i = 99;
  Params p;
  EXPECT_EQ(r.match("GET", "/api/v1/tenants/acme", &i, &p), Router::Match::Found);
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(p["tenant"], "acme");
  EXPECT_EQ(r.match("GET", "/api/v1/tenants/usage", &i, &p), Router::Match::Found);
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(r.match("GET", "/api/v1/tenants/a%40b", &i, &p), Router::Match::Found);
  EXPECT_EQ(p["tenant"], "a@b");
  std::string allow;
  EXPECT_EQ(r.match("PUT", "/api/v1/tenants/acme", &i, &p, &allow), Router::Match::MethodNotAllowed);
  EXPECT_NE(allow.find("DELETE"), std::string::npos);
  EXPECT_EQ(r.match("GET", "/api/v1/tenants/", &i, &p), Router::Match::NotFound);
  EXPECT_EQ(r.match("GET", "/api/v1/tenants/acme/x", &i, &p), Router::Match::NotFound);
}

TEST(Http, DecodesQueriesAndRefusesBadEscapes) {
  std::map<std::string, std::string> q;
  ASSERT_TRUE(parse_query("a=1&b=x+y%21&c", q));
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "x y!");
  EXPECT_EQ(q.count("c"), 1u);
  std::string out;
  EXPECT_FALSE(url_decode("%4", out, false));
  EXPECT_FALSE(url_decode("%zz", out, false));
  EXPECT_TRUE(url_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
}

TEST(Auth, CookiesTokensAndSecrets) {
  auto c = parse_cookies("a=1; mm_session=abc ; x");
  EXPECT_EQ(c["a"], "1");
  EXPECT_EQ(c["mm_session"], "abc");
  auto t1 = random_token(), t2 = random_token();
  EXPECT_EQ(t1.size(), 64u);
  EXPECT_NE(t1, t2);
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(csrf_for(t1), csrf_for(t2));
  EXPECT_TRUE(equal_secret("abc", "abc"));
  EXPECT_FALSE(equal_secret("abc", "abd"));
  EXPECT_FALSE(equal_secret("abc", "ab"));
}

TEST(Auth, LimiterLocksUserAndAddressAndExpires) {
  LoginLimiter l({3, 5, 60, 100});
  EXPECT_EQ(l.blocked_for("u", "1.1.1.1", 0), 0);
  EXPECT_FALSE(l.failure("u", "1.1.1.1", 1));
  EXPECT_FALSE(l.failure("u", "1.1.1.1", 2));
  EXPECT_TRUE(l.failure("u", "1.1.1.1", 3));
  EXPECT_EQ(l.blocked_for("u", "9.9.9.9", 4), 99);
  EXPECT_EQ(l.blocked_for("v", "9.9.9.9", 4), 0);
  EXPECT_EQ(l.blocked_for("u", "9.9.9.9", 103), 0);
  // per address: many users from one address
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(l.failure("w" + std::to_string(i), "2.2.2.2", 200));
  EXPECT_TRUE(l.failure("w9", "2.2.2.2", 200));
  EXPECT_GT(l.blocked_for("fresh", "2.2.2.2", 201), 0);
  // failures outside the window do not add up
  EXPECT_FALSE(l.failure("z", "3.3.3.3", 1000));
  EXPECT_FALSE(l.failure("z", "3.3.3.3", 1100));
  EXPECT_FALSE(l.failure("z", "3.3.3.3", 1200));
}


TEST_F(ApiTest, SessionCookieCsrfAndLogout) {
  auto r = call("POST", "/api/v1/login", json{{"name", "alice"}, {"password", "alice-password-12"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::string set_cookie;
  for (auto [it, end] = r.headers.equal_range("Set-Cookie"); it != end; ++it)
    if (it->second.rfind("mm_session=", 0) == 0) set_cookie = it->second;
  for (auto flag : {"HttpOnly", "Secure", "SameSite=Strict", "Max-Age="})
    EXPECT_NE(set_cookie.find(flag), std::string::npos) << set_cookie;
  std::string csrf;
  auto cookie = login("alice", "alice-password-12", &csrf);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", {{"cookie", cookie}}).status, 200);
  auto body = json{{"contact", {{"name", "Ops"}}}}.dump();
  auto refused = call("PATCH", "/api/v1/tenants/acme", body, {{"cookie", cookie}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "csrf");
  EXPECT_EQ(call("PATCH", "/api/v1/tenants/acme", body, {{"cookie", cookie}, {"x-csrf-token", (csrf[0] == '0' ? "1" : "0") + csrf.substr(1)}}).status, 403);
  auto okr = call("PATCH", "/api/v1/tenants/acme", body, {{"cookie", cookie}, {"x-csrf-token", csrf}});
  EXPECT_EQ(okr.status, 200) << okr.body;
  EXPECT_EQ(json::parse(okr.body)["contact"]["name"], "Ops");
  EXPECT_EQ(call("POST", "/api/v1/logout", "", {{"cookie", cookie}, {"x-csrf-token", csrf}}).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", {{"cookie", cookie}}).status, 401);
  // sessions expire
  cookie = login("alice", "alice-password-12", &csrf);
  now += 9 * 3600;
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", {{"cookie", cookie}}).status, 401);
}

TEST_F(ApiTest, LoginLockoutAfterFailures) {
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(call("POST", "/api/v1/login", json{{"name", "alice"}, {"password", "wrong-wrong-wrong"}}.dump()).status, 401);
  auto r = call("POST", "/api/v1/login", json{{"name", "alice"}, {"password", "alice-password-12"}}.dump());
  EXPECT_EQ(r.status, 429) << r.body;
  auto ev = ten->security_events(tenancy::Scope::operator_scope(), "acme", 10);
  ASSERT_TRUE(ev);
  ASSERT_FALSE(ev->empty());
  EXPECT_EQ(ev->front().kind, "login_lockout");
  now += 901;
  EXPECT_EQ(call("POST", "/api/v1/login", json{{"name", "alice"}, {"password", "alice-password-12"}}.dump()).status, 200);
}

TEST_F(ApiTest, TokensAreScopedReadOnlyAndExpire) {
  std::string csrf;
  auto cookie = login("root", "operator-password-1", &csrf);
  auto mk = [&](json body) {
    return call("POST", "/api/v1/tokens", body.dump(), {{"cookie", cookie}, {"x-csrf-token", csrf}});
  };
  auto r = mk({{"label", "ro"}, {"tenant", "acme"}, {"access", "read"}, {"expires_in", 3600}});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string ro = json::parse(r.body)["token"];
  r = mk({{"label", "rw"}, {"tenant", "acme"}, {"access", "write"}, {"expires_in", 7200}});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string rw = json::parse(r.body)["token"];
  int64_t rw_id = json::parse(r.body)["id"];
  auto bearer = [](const std::string& t) { return std::map<std::string, std::string>{{"authorization", "Bearer " + t}}; };
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", bearer(ro)).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/tenants/beta", "", bearer(ro)).status, 403);  // narrowed to acme
  auto body = json{{"contact", {{"phone", "1"}}}}.dump();
  EXPECT_EQ(call("PATCH", "/api/v1/tenants/acme", body, bearer(ro)).status, 403);
  EXPECT_EQ(call("PATCH", "/api/v1/tenants/acme", body, bearer(rw)).status, 200);  // no CSRF for bearer tokens
  EXPECT_EQ(call("PATCH", "/api/v1/tenants/beta", body, bearer(rw)).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", bearer("nope")).status, 401);
  // the token list never shows secrets
  auto list = call("GET", "/api/v1/tokens", "", {{"cookie", cookie}});
  EXPECT_EQ(list.body.find(ro), std::string::npos);
  EXPECT_EQ(json::parse(list.body)["total"], 2);
  now += 3601;
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", bearer(ro)).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", bearer(rw)).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + std::to_string(rw_id), "", {{"cookie", cookie}, {"x-csrf-token", csrf}}).status, 204);
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + std::to_string(rw_id), "", {{"cookie", cookie}, {"x-csrf-token", csrf}}).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme", "", bearer(rw)).status, 401);
}

TEST_F(ApiTest, ErrorsHaveOneShapeAndEveryResponseHasSecurityHeaders) {
  std::vector<Response> rs = {call("GET", "/api/v1/tenants"), call("GET", "/nope"), call("PUT", "/api/v1/login"),
                              call("POST", "/api/v1/login", "{bad"), call("GET", "/api/v1/openapi.json")};
  for (size_t i = 0; i < rs.size(); ++i) {
    auto& r = rs[i];
    EXPECT_EQ(r.headers.count("Content-Security-Policy"), 1u) << i;
    EXPECT_NE(r.headers.find("Content-Security-Policy")->second.find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(r.headers.find("X-Content-Type-Options")->second, "nosniff");
    EXPECT_EQ(r.headers.find("Cache-Control")->second, "no-store");
    EXPECT_EQ(r.headers.count("Referrer-Policy"), 1u);
    if (r.status >= 400) {
      auto j = json::parse(r.body);
      EXPECT_TRUE(j["error"]["code"].is_string()) << r.body;
      EXPECT_TRUE(j["error"]["message"].is_string());
      EXPECT_TRUE(j["error"].contains("field"));
    }
  }
  EXPECT_EQ(rs[0].status, 401);
  EXPECT_EQ(rs[1].status, 404);
  EXPECT_EQ(rs[2].status, 405);
  EXPECT_EQ(rs[3].status, 400);
  EXPECT_EQ(rs[4].status, 200);
}

TEST_F(ApiTest, ListsPageFilterSortAndChangesAreAudited) {
  std::string csrf;
  auto cookie = login("alice", "alice-password-12", &csrf);
  std::map<std::string, std::string> h{{"cookie", cookie}, {"x-csrf-token", csrf}};
  for (auto a : {"c@acme.example", "a@acme.example", "b@acme.example"})
    EXPECT_EQ(call("PUT", std::string("/api/v1/tenants/acme/accounts/") + a, json{{"display_name", a}}.dump(), h).status, 201);
  EXPECT_EQ(call("PUT", "/api/v1/tenants/acme/accounts/a@acme.example", "", h).status, 200);  // idempotent
  EXPECT_EQ(call("PUT", "/api/v1/tenants/beta/accounts/x@beta.example", "", h).status, 403);
  auto r = call("GET", "/api/v1/tenants/acme/accounts?sort=-address&limit=2", "", h);
  auto j = json::parse(r.body);
  ASSERT_EQ(j["items"].size(), 2u) << r.body;
  EXPECT_EQ(j["items"][0]["address"], "c@acme.example");
  EXPECT_EQ(j["total"], 3);
  r = call("GET", "/api/v1/tenants/acme/accounts?sort=-address&limit=2&cursor=" + j["next_cursor"].get<std::string>(), "", h);
  j = json::parse(r.body);
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_EQ(j["items"][0]["address"], "a@acme.example");
  EXPECT_TRUE(j["next_cursor"].is_null());
  j = json::parse(call("GET", "/api/v1/tenants/acme/accounts?address=b@acme.example", "", h).body);
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(call("GET", "/api/v1/tenants/acme/accounts?nosuch=1", "", h).status, 400);
  EXPECT_EQ(call("DELETE", "/api/v1/tenants/acme/accounts/b@acme.example", "", h).status, 204);
  EXPECT_EQ(call("DELETE", "/api/v1/tenants/acme/accounts/b@acme.example", "", h).status, 204);
  auto audit = json::parse(call("GET", "/api/v1/audit?sort=id", "", h).body);
  ASSERT_GE(audit["total"].get<int>(), 4) << audit.dump();
  auto del = audit["items"][audit["items"].size() - 2];
  EXPECT_EQ(del["action"], "DELETE /api/v1/tenants/{tenant}/accounts/{address}");
  EXPECT_EQ(del["actor"], "alice");
  EXPECT_EQ(del["client_ip"], "127.0.0.1");
  EXPECT_EQ(del["before"]["address"], "b@acme.example");
  // bob (another tenant) sees none of acme's audit
  auto bob = login("bob", "bob-password-1234", &csrf);
  EXPECT_EQ(call("GET", "/api/v1/audit?tenant=acme", "", {{"cookie", bob}}).status, 403);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/audit", "", {{"cookie", bob}}).body)["total"], 0);
}

TEST(OpenApi, DocumentListsExactlyTheRouterRoutes) {
  auto doc = json::parse(kOpenApiDocument);
  ASSERT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  auto s = store::open_sqlite(":memory:");
  ASSERT_TRUE(s);
  tenancy::TenancyService ten(**s);
  ApiDeps d;
  d.store = s->get();
  d.tenancy = &ten;
  Api api(d);
  std::set<std::string> router, documented;
  for (auto& r : api.router().routes()) {
    std::string m = r.method;
    for (auto& ch : m) ch = static_cast<char>(std::tolower(ch));
    router.insert(m + " " + r.pattern);
  }
  for (auto& [path, ops] : doc["paths"].items())
    for (auto& [method, op] : ops.items()) {
      if (method == "parameters") continue;
      documented.insert(method + " " + path);
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  for (auto& r : router) EXPECT_TRUE(documented.count(r)) << "not in docs/openapi.json: " << r;
  for (auto& r : documented) EXPECT_TRUE(router.count(r)) << "documented but not routed: " << r;
}

}  // namespace
}  // namespace mm::api
