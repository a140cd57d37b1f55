#include "api/console.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/api.h"
#include "store/store.h"
#include "tenancy/tenancy.h"

namespace mm::api {
namespace {

namespace fs = std::filesystem;

std::string header(const Response& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::temp_directory_path() / ("mm-console-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base);
    dist = base / "dist";
    fs::create_directories(dist / "assets");
    write(dist / "index.html", "<!doctype html><title>console</title>");
    write(dist / "assets" / "index-3f2a9c.js", "console.log(1)");
    write(dist / "assets" / "index-77aa.css", "body{}");
    write(dist / "favicon.svg", "<svg/>");
    write(base / "secret.txt", "outside");
  }
  void TearDown() override { fs::remove_all(base); }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
  Response get(const ConsoleFiles& c, const std::string& path, const std::string& method = "GET") {
    Request r;
    r.method = method;
    r.path = path;
    return c.serve(r);
  }
  fs::path base, dist;
};

TEST_F(ConsoleTest, ServesFilesWithTypesCachingAndCsp) {
  ConsoleFiles c(dist.string());
  auto r = get(c, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>console</title>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(header(r, "Content-Security-Policy"), kConsoleCsp);
  EXPECT_NE(std::string(kConsoleCsp).find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");

  r = get(c, "/assets/index-3f2a9c.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get(c, "/assets/index-77aa.css").content_type, "text/css; charset=utf-8");

  r = get(c, "/favicon.svg");
  EXPECT_EQ(r.content_type, "image/svg+xml");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(content_type_for("x.woff2"), "font/woff2");
  EXPECT_EQ(content_type_for("X.PNG"), "image/png");
  EXPECT_EQ(content_type_for("a.b/noext"), "application/octet-stream");
}

TEST_F(ConsoleTest, SpaRoutesGetIndexMissingAssetsDoNot) {
  ConsoleFiles c(dist.string());
  for (auto p : {"/quarantine", "/tenants/acme/policies", "/dashboard/", "/a.b/c"}) {
    auto r = get(c, p);
    EXPECT_EQ(r.status, 200) << p;
    EXPECT_EQ(r.body, "<!doctype html><title>console</title>") << p;
    EXPECT_EQ(header(r, "Cache-Control"), "no-store") << p;
  }
  EXPECT_EQ(get(c, "/assets/missing-123.js").status, 404);
  EXPECT_EQ(get(c, "/nothing.png").status, 404);
  EXPECT_EQ(get(c, "/", "POST").status, 405);
}

TEST_F(ConsoleTest, NothingOutsideTheDirectory) {
  ConsoleFiles c(dist.string());
  for (auto p : {"/../secret.txt", "/assets/../../secret.txt", "/./index.html", "/..", "/a\\..\\secret.txt"}) {
    auto r = get(c, p);
    EXPECT_EQ(r.status, 400) << p;
    EXPECT_EQ(r.body.find("outside"), std::string::npos) << p;
  }
  // A symlink pointing out of the directory is not followed, one staying inside is.
  fs::create_symlink(base / "secret.txt", dist / "leak.txt");
  fs::create_symlink(base, dist / "up");
  fs::create_symlink(dist / "favicon.svg", dist / "icon.svg");
  EXPECT_EQ(get(c, "/leak.txt").status, 404);
  EXPECT_EQ(get(c, "/up/secret.txt").status, 404);
  EXPECT_EQ(get(c, "/icon.svg").status, 200);
  // A directory is no file: an extension-less directory name is an SPA route.
  EXPECT_EQ(get(c, "/assets").body, "<!doctype html><title>console</title>");
}

TEST_F(ConsoleTest, MissingDirectoryOrIndexIsAClear404) {
  ConsoleFiles none((base / "nope").string());
  auto r = get(none, "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("not installed"), std::string::npos);
  fs::remove(dist / "index.html");
  ConsoleFiles c(dist.string());
  r = get(c, "/quarantine");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("index.html"), std::string::npos);
}

TEST_F(ConsoleTest, ApiAnswersApiPathsAndTheConsoleTheRest) {
  auto s = store::open_sqlite(":memory:");
  ASSERT_TRUE(s);
  tenancy::TenancyService ten(**s);
  ApiDeps d;
  d.store = s->get();
  d.tenancy = &ten;
  d.console_dir = dist.string();
  Api api(d);
  Request r;
  r.method = "GET";
  r.path = "/quarantine";
  auto res = api.handle(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(header(res, "Content-Security-Policy"), kConsoleCsp);
  r.path = "/api/v1/openapi.json";
  res = api.handle(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(header(res, "Content-Security-Policy"), "default-src 'self'; frame-ancestors 'none'");
  r.path = "/api/v1/nothing";
  EXPECT_EQ(api.handle(r).status, 404);
  EXPECT_TRUE(is_api_path("/api"));
  EXPECT_FALSE(is_api_path("/apix"));

  ApiDeps d2 = d;
  d2.console_dir.clear();
  Api no_console(d2);
  r.path = "/";
  res = no_console.handle(r);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
}

}  // namespace
}  // namespace mm::api
