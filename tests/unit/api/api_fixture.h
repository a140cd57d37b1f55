// The fixture of the API unit tests: an in-memory store with tenants acme and beta, an operator
// (root) and an administrator of each (alice, bob), and an Api with a fake clock.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/api.h"
#include "tenancy/tenancy.h"

namespace mm::api {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite(":memory:");
    ASSERT_TRUE(s) << s.error();
    st = std::move(*s);
    ten = std::make_unique<tenancy::TenancyService>(*st);
    auto op = tenancy::Scope::operator_scope();
    for (auto t : {"acme", "beta"}) {
      ASSERT_TRUE(ten->create_tenant(op, t, ""));
      ASSERT_TRUE(st->add_domain(t, std::string(t) + ".example"));
    }
    ASSERT_TRUE(ten->create_user(op, "root", "operator", "", "", "operator-password-1"));
    ASSERT_TRUE(ten->create_user(op, "alice", "admin", "acme", "", "alice-password-12"));
    ASSERT_TRUE(ten->create_user(op, "bob", "admin", "beta", "", "bob-password-1234"));
    ApiDeps d;
    d.store = st.get();
    d.tenancy = ten.get();
    d.clock = [this] { return now; };
    d.queue_stats = [] { return QueueFigures{7, 2, 1, 0}; };
    deps(d);
    AuthOptions ao;
    auth(ao);
    api = std::make_unique<Api>(d, ao);
  }
  // More dependencies / authentication options for a test's own fixture.
  virtual void deps(ApiDeps&) {}
  virtual void auth(AuthOptions&) {}
  Response call(const std::string& method, const std::string& path, const std::string& body = "",
                std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = method;
    auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) parse_query(path.substr(q + 1), r.query);
    r.headers = std::move(headers);
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.body = body;
    r.client_ip = "127.0.0.1";
    return api->handle(r);
  }
  // Logs in; returns the cookie header and sets csrf.
  std::string login(const std::string& user, const std::string& pw, std::string* csrf) {
    auto r = call("POST", "/api/v1/login", nlohmann::json{{"name", user}, {"password", pw}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string cookie;
    for (auto [it, end] = r.headers.equal_range("Set-Cookie"); it != end; ++it)
      if (it->second.rfind("mm_session=", 0) == 0) cookie = it->second.substr(0, it->second.find(';'));
    *csrf = nlohmann::json::parse(r.body)["csrf_token"];
    return cookie;
  }
  int64_t now = 1'700'000'000;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<tenancy::TenancyService> ten;
  std::unique_ptr<Api> api;
};

}  // namespace mm::api
