#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/migrations.h"
#include "temp_dir.h"

namespace mm::store {
namespace {

// Reads one integer/text with a raw connection, to check what is really on disk.
std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        auto t = sqlite3_column_text(s, 0);
        out = t ? reinterpret_cast<const char*>(t) : "";
      } else if (rc == SQLITE_DONE) {
        out = "";
      }
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp.path().empty());
    path = tmp.file("var/db/mailmoat.db");
    auto r = open_sqlite(path);
    ASSERT_TRUE(r) << r.error();
    store = std::move(*r);
  }
  test_util::TempDir tmp;
  std::string path;
  std::unique_ptr<Store> store;
};

TEST_F(StoreTest, OpenCreatesParentDirsAndUsesWal) {
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(path, "SELECT generation FROM config_generation WHERE id = 1"), "0");
  EXPECT_EQ(store->config_generation(), 0);
}

TEST_F(StoreTest, BlobsRoundTripBinaryAndReplace) {
  EXPECT_FALSE(store->get_blob("model"));
  std::string bin("\0\x01\xff binary \0 data", 20);
  ASSERT_TRUE(store->put_blob("model", bin));
  auto b = store->get_blob("model");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(*b, bin);
  ASSERT_TRUE(store->put_blob("model", "v2"));
  EXPECT_EQ(*store->get_blob("model"), "v2");
  auto again = open_sqlite(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(*(*again)->get_blob("model"), "v2");
  EXPECT_NE(store->get_blob("other").error().find("'other'"), std::string::npos);
}

TEST(StoreOpen, UnusablePathIsAClearError) {
  test_util::TempDir tmp;
  std::filesystem::create_directories(tmp.file("dir.db"));
  auto r = open_sqlite(tmp.file("dir.db"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot open database"), std::string::npos) << r.error();
  EXPECT_FALSE(open_sqlite(""));
}

TEST(StoreOpen, TempDirIsRemoved) {
  std::string p;
  {
    test_util::TempDir tmp;
    p = tmp.path();
    auto r = open_sqlite(tmp.file("x.db"));
    ASSERT_TRUE(r) << r.error();
    ASSERT_TRUE((*r)->create_tenant("acme", "Acme"));
  }
  EXPECT_FALSE(p.empty());
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST_F(StoreTest, TenantCrud) {
  auto t = store->create_tenant("acme", "Acme Corp");
  ASSERT_TRUE(t) << t.error();
  EXPECT_GT(t->id, 0);
  EXPECT_EQ(t->name, "acme");
  EXPECT_EQ(t->display_name, "Acme Corp");
  EXPECT_EQ(t->status, "active");
  EXPECT_GT(t->created_at, 1600000000);
  ASSERT_TRUE(store->create_tenant("beta", "Beta"));

  auto g = store->get_tenant("acme");
  ASSERT_TRUE(g) << g.error();
  EXPECT_EQ(g->id, t->id);
  EXPECT_EQ(g->display_name, "Acme Corp");
  EXPECT_EQ(g->created_at, t->created_at);

  auto dup = store->create_tenant("acme", "Other");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), "tenant 'acme' already exists");
  EXPECT_FALSE(store->create_tenant("Bad_Name", "x"));
  EXPECT_FALSE(store->create_tenant("", "x"));

  auto all = store->list_tenants();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "acme");
  EXPECT_EQ(all[1].name, "beta");

  ASSERT_TRUE(store->set_tenant_status("acme", "suspended"));
  EXPECT_EQ(store->get_tenant("acme")->status, "suspended");
  EXPECT_FALSE(store->set_tenant_status("acme", "gone"));
  EXPECT_EQ(store->set_tenant_status("nope", "active").message(), "tenant 'nope' does not exist");

  ASSERT_TRUE(store->delete_tenant("beta"));
  auto gone = store->get_tenant("beta");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), "tenant 'beta' does not exist");
  EXPECT_FALSE(store->delete_tenant("beta"));
  EXPECT_EQ(store->list_tenants().size(), 1u);
}

TEST_F(StoreTest, DeleteTenantWithDomainsIsRefused) {
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  EXPECT_EQ(store->delete_tenant("acme").message(), "tenant 'acme' still has 1 domain; remove them first");
  ASSERT_TRUE(store->add_domain("acme", "acme2.example"));
  EXPECT_EQ(store->delete_tenant("acme").message(), "tenant 'acme' still has 2 domains; remove them first");
  EXPECT_TRUE(store->get_tenant("acme"));
  ASSERT_TRUE(store->remove_domain("acme.example"));
  ASSERT_TRUE(store->remove_domain("acme2.example"));
  EXPECT_TRUE(store->delete_tenant("acme"));
}

TEST_F(StoreTest, DomainCrud) {
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  ASSERT_TRUE(store->create_tenant("beta", "Beta"));
  auto d = store->add_domain("acme", "Acme.Example.");
  ASSERT_TRUE(d) << d.error();
  EXPECT_GT(d->id, 0);
  EXPECT_EQ(d->name, "acme.example");
  EXPECT_EQ(d->tenant, "acme");
  EXPECT_EQ(d->tls, TlsMode::Opportunistic);
  EXPECT_FALSE(d->recipient_validation);
  EXPECT_TRUE(d->routes.empty());

  auto g = store->get_domain("ACME.example");
  ASSERT_TRUE(g) << g.error();
  EXPECT_EQ(g->id, d->id);
  EXPECT_EQ(g->tenant, "acme");
  EXPECT_EQ(g->tenant_id, d->tenant_id);
  EXPECT_EQ(g->created_at, d->created_at);

  auto bad = store->add_domain("acme", "x..y");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().rfind("domain 'x..y' is not a valid domain name", 0), 0u) << bad.error();
  EXPECT_EQ(store->add_domain("nope", "nope.example").error(), "tenant 'nope' does not exist");
  EXPECT_EQ(store->add_domain("acme", "acme.example").error(),
            "domain 'acme.example' already exists for tenant 'acme'");
  EXPECT_EQ(store->add_domain("beta", "ACME.example").error(), "domain 'acme.example' belongs to tenant 'acme'");

  ASSERT_TRUE(store->add_domain("beta", "beta.example"));
  ASSERT_TRUE(store->add_domain("acme", "a-second.example"));
  auto acme = store->list_domains("acme");
  ASSERT_EQ(acme.size(), 2u);
  EXPECT_EQ(acme[0].name, "a-second.example");
  EXPECT_EQ(acme[1].name, "acme.example");
  EXPECT_EQ(store->list_domains("beta").size(), 1u);
  EXPECT_EQ(store->list_domains("").size(), 3u);
  EXPECT_TRUE(store->list_domains("nope").empty());

  ASSERT_TRUE(store->remove_domain("acme.example"));
  EXPECT_EQ(store->get_domain("acme.example").error(), "domain 'acme.example' is not a protected domain");
  EXPECT_EQ(store->remove_domain("acme.example").message(), "domain 'acme.example' is not a protected domain");
  EXPECT_FALSE(store->remove_domain("x..y"));
  // Once removed, another tenant may take it.
  EXPECT_TRUE(store->add_domain("beta", "acme.example"));
}

TEST_F(StoreTest, RoutesOrderedByPreferenceAndReplaced) {
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  std::vector<RouteHost> hosts = {{"backup.acme.example", 2525, 20},
                                  {"MX1.acme.example", 25, 10},
                                  {"[2001:db8::1]", 25, 10},
                                  {"192.0.2.7", 587, 5}};
  ASSERT_TRUE(store->set_routes("acme.example", hosts, TlsMode::Required));
  auto d = store->get_domain("acme.example");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tls, TlsMode::Required);
  ASSERT_EQ(d->routes.size(), 4u);
  EXPECT_EQ(d->routes[0].host, "192.0.2.7");
  EXPECT_EQ(d->routes[0].port, 587);
  EXPECT_EQ(d->routes[0].preference, 5);
  EXPECT_EQ(d->routes[1].host, "mx1.acme.example");  // ties keep the given order
  EXPECT_EQ(d->routes[2].host, "2001:db8::1");
  EXPECT_EQ(d->routes[3].host, "backup.acme.example");
  EXPECT_EQ(d->routes[3].port, 2525);
  EXPECT_EQ(store->list_domains("acme")[0].routes.size(), 4u);

  ASSERT_TRUE(store->set_routes("acme.example", {{"relay", 25, 0}}, TlsMode::None));
  d = store->get_domain("acme.example");
  ASSERT_EQ(d->routes.size(), 1u);
  EXPECT_EQ(d->routes[0].host, "relay");
  EXPECT_EQ(d->tls, TlsMode::None);

  // Rejected changes leave the route as it was.
  EXPECT_EQ(store->set_routes("acme.example", {}, TlsMode::Required).message(),
            "route for domain 'acme.example' needs at least one host");
  EXPECT_FALSE(store->set_routes("acme.example", {{"mx.acme.example", 0, 10}}, TlsMode::Required));
  EXPECT_FALSE(store->set_routes("acme.example", {{"mx.acme.example", 25, -1}}, TlsMode::Required));
  EXPECT_FALSE(store->set_routes("acme.example", {{"mx.acme.example", 25, 70000}}, TlsMode::Required));
  auto badhost = store->set_routes("acme.example", {{"mx..acme", 25, 10}}, TlsMode::Required);
  EXPECT_NE(badhost.message().find("route host 'mx..acme' is not a valid hostname or IP address"), std::string::npos);
  EXPECT_EQ(
      store->set_routes("acme.example", {{"a.example", 25, 10}, {"A.example", 25, 20}}, TlsMode::Required).message(),
      "route host 'a.example:25' is listed twice");
  EXPECT_TRUE(store->set_routes("acme.example", {{"a.example", 25, 10}, {"a.example", 26, 20}}, TlsMode::Required));
  EXPECT_EQ(store->set_routes("other.example", {{"a.example", 25, 10}}, TlsMode::None).message(),
            "domain 'other.example' is not a protected domain");
  d = store->get_domain("acme.example");
  ASSERT_EQ(d->routes.size(), 2u);
  EXPECT_EQ(d->routes[1].port, 26);
}

TEST_F(StoreTest, RecipientValidationFlag) {
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  ASSERT_TRUE(store->set_recipient_validation("acme.example", true));
  EXPECT_TRUE(store->get_domain("acme.example")->recipient_validation);
  ASSERT_TRUE(store->set_recipient_validation("acme.example", false));
  EXPECT_FALSE(store->get_domain("acme.example")->recipient_validation);
  EXPECT_FALSE(store->set_recipient_validation("unknown.example", true));
}

TEST_F(StoreTest, RecipientsCrud) {
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  ASSERT_TRUE(store->add_recipient("Zed@Acme.Example"));
  ASSERT_TRUE(store->add_recipient("alice@acme.example"));
  EXPECT_EQ(store->list_recipients("acme.example"),
            (std::vector<std::string>{"alice@acme.example", "zed@acme.example"}));
  EXPECT_EQ(store->add_recipient("ALICE@acme.example").message(), "recipient 'alice@acme.example' already exists");
  auto unprotected = store->add_recipient("bob@other.example");
  EXPECT_NE(unprotected.message().find("'other.example' is not a protected domain"), std::string::npos)
      << unprotected.message();
  EXPECT_FALSE(store->add_recipient("not an address"));
  EXPECT_TRUE(store->list_recipients("other.example").empty());

  ASSERT_TRUE(store->remove_recipient("ZED@acme.example"));
  EXPECT_EQ(store->remove_recipient("zed@acme.example").message(), "recipient 'zed@acme.example' does not exist");
  EXPECT_EQ(store->list_recipients("acme.example"), std::vector<std::string>{"alice@acme.example"});

  // Removing the domain removes its recipients.
  ASSERT_TRUE(store->remove_domain("acme.example"));
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  EXPECT_TRUE(store->list_recipients("acme.example").empty());
}

TEST_F(StoreTest, ConfigGenerationBumpsOnEveryChangeAndIsSharedAcrossStores) {
  auto other = open_sqlite(path);
  ASSERT_TRUE(other) << other.error();
  int64_t g = store->config_generation();
  auto changed = [&](const char* what) {
    int64_t now = store->config_generation();
    EXPECT_GT(now, g) << what;
    EXPECT_EQ((*other)->config_generation(), now) << what;
    g = now;
  };
  auto unchanged = [&](const char* what) {
    EXPECT_EQ(store->config_generation(), g) << what;
    EXPECT_EQ((*other)->config_generation(), g) << what;
  };
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  changed("create_tenant");
  ASSERT_TRUE(store->set_tenant_status("acme", "suspended"));
  changed("set_tenant_status");
  ASSERT_TRUE(store->add_domain("acme", "acme.example"));
  changed("add_domain");
  ASSERT_TRUE(store->set_routes("acme.example", {{"mx.acme.example", 25, 10}}, TlsMode::Required));
  changed("set_routes");
  ASSERT_TRUE(store->set_recipient_validation("acme.example", true));
  changed("set_recipient_validation");
  ASSERT_TRUE(store->add_recipient("a@acme.example"));
  changed("add_recipient");
  ASSERT_TRUE(store->remove_recipient("a@acme.example"));
  changed("remove_recipient");
  ASSERT_TRUE(store->remove_domain("acme.example"));
  changed("remove_domain");
  ASSERT_TRUE(store->delete_tenant("acme"));
  changed("delete_tenant");
  // Changes through the second store are seen by the first.
  ASSERT_TRUE((*other)->create_tenant("beta", "Beta"));
  changed("create_tenant via other store");
  EXPECT_TRUE(store->get_tenant("beta"));

  // Failed changes, reads and tracking do not move it.
  EXPECT_FALSE(store->create_tenant("beta", "Beta"));
  EXPECT_FALSE(store->add_domain("nope", "x.example"));
  EXPECT_FALSE(store->delete_tenant("nope"));
  EXPECT_FALSE(store->set_routes("x.example", {{"mx", 25, 1}}, TlsMode::None));
  store->list_tenants();
  store->list_domains("");
  ASSERT_TRUE(store->add_events({{"Q1", 1, "received", "", "", "beta"}}));
  unchanged("failures, reads and tracking");
}

TEST_F(StoreTest, MigrationsAreIdempotentOnReopen) {
  auto n = std::to_string(sqlite_migrations().size());
  auto latest = std::to_string(sqlite_migrations().back().version);
  EXPECT_EQ(raw_query(path, "SELECT COUNT(*) FROM schema_migrations"), n);
  ASSERT_TRUE(store->create_tenant("acme", "Acme"));
  store.reset();
  for (int i = 0; i < 2; ++i) {
    auto again = open_sqlite(path);
    ASSERT_TRUE(again) << again.error();
    EXPECT_TRUE((*again)->get_tenant("acme"));
    EXPECT_EQ((*again)->config_generation(), 1);
  }
  EXPECT_EQ(raw_query(path, "SELECT COUNT(*) FROM schema_migrations"), n);
  EXPECT_EQ(raw_query(path, "SELECT MAX(version) FROM schema_migrations"), latest);
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  store.reset();
  EXPECT_EQ(raw_query(path, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"), "");
  auto r = open_sqlite(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("schema version 999 is newer than this build supports"), std::string::npos) << r.error();
}

TEST_F(StoreTest, TrackingInsertQueryPrune) {
  std::vector<TrackingEvent> evs = {
      {"Q1", 1000, "received", "", "from a@x.example", "acme"},
      {"Q1", 2000, "queued", "Bob@Acme.Example", "", "acme"},
      {"Q1", 3000, "delivered", "bob@acme.example", "250 ok", "acme"},
      {"Q2", 1500, "received", "", "", "beta"},
      {"Q2", 2500, "bounced", "carol@beta.example", "550 no", "beta"},
  };
  ASSERT_TRUE(store->add_events(evs));
  ASSERT_TRUE(store->add_events({}));

  TrackingQuery q;
  q.queue_id = "Q1";
  auto r = store->query_events(q);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].event, "received");
  EXPECT_EQ(r[0].detail, "from a@x.example");
  EXPECT_EQ(r[0].ts_us, 1000);
  EXPECT_EQ(r[2].event, "delivered");  // newest last
  EXPECT_EQ(r[1].recipient, "bob@acme.example");
  EXPECT_EQ(r[1].tenant, "acme");

  q = {};
  q.recipient = "BOB@acme.example";
  EXPECT_EQ(store->query_events(q).size(), 2u);

  q = {};
  q.tenant = "beta";
  r = store->query_events(q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].event, "bounced");

  q = {};
  q.since_us = 2000;
  EXPECT_EQ(store->query_events(q).size(), 3u);
  q.tenant = "acme";
  EXPECT_EQ(store->query_events(q).size(), 2u);

  q = {};
  q.limit = 2;  // the two newest, oldest first
  r = store->query_events(q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].ts_us, 2500);
  EXPECT_EQ(r[1].ts_us, 3000);
  q.limit = 0;  // default
  EXPECT_EQ(store->query_events(q).size(), 5u);

  q = {};
  q.queue_id = "Q1";
  q.tenant = "beta";
  EXPECT_TRUE(store->query_events(q).empty());

  // ts_us 0 is stamped with the current time.
  ASSERT_TRUE(store->add_events({{"Q3", 0, "received", "", "", "acme"}}));
  q = {};
  q.queue_id = "Q3";
  r = store->query_events(q);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GT(r[0].ts_us, 1600000000LL * 1000000);

  ASSERT_TRUE(store->prune_events(2500));
  q = {};
  r = store->query_events(q);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].ts_us, 2500);
  EXPECT_EQ(r[2].queue_id, "Q3");
}

}  // namespace
}  // namespace mm::store
