#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/mm-config-XXXXXX";
  int fd = mkstemp(name);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(Config, DefaultsFillDerivedPaths) {
  auto c = mm::config::defaults();
  EXPECT_EQ(c.spool_dir, "var/spool");
  EXPECT_EQ(c.db_path, "var/mailmoat.db");
  EXPECT_FALSE(c.hostname.empty());
  EXPECT_EQ(c.listen.size(), 2u);
}

TEST(Config, ParsesValuesAndDerivesFromVarDir) {
  auto p = write_temp(
      "[server]\nhostname = \"mx.test\"\nvar_dir = \"/tmp/x\"\n"
      "[smtp]\nlisten = [\"127.0.0.1:2600\", \"[::1]:2601\"]\nmax_recipients = 50\n"
      "[queue]\nfsync = false\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->hostname, "mx.test");
  EXPECT_EQ(c->spool_dir, "/tmp/x/spool");
  ASSERT_EQ(c->listen.size(), 2u);
  EXPECT_EQ(c->listen[1].address, "::1");
  EXPECT_EQ(c->listen[1].port, 2601);
  EXPECT_EQ(c->max_recipients, 50u);
  EXPECT_FALSE(c->spool_fsync);
  unlink(p.c_str());
}

TEST(Config, RefusesUnknownKeysSectionsAndBadValues) {
  auto p = write_temp(
      "[smtp]\nmax_recipents = 5\nmax_errors = 0\nlisten = [\"nohost\"]\n[bogus]\nx = 1\n"
      "[log]\nlevel = \"loud\"\n");
  auto c = mm::config::load(p);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("unknown key 'max_recipents' in [smtp]"), std::string::npos);
  EXPECT_NE(c.error().find("max_errors must be an integer from 1"), std::string::npos);
  EXPECT_NE(c.error().find("unknown section [bogus]"), std::string::npos);
  EXPECT_NE(c.error().find("listen"), std::string::npos);
  EXPECT_NE(c.error().find("[log] level"), std::string::npos);
  unlink(p.c_str());
}

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  auto p = write_temp("[server]\nhostname = \n");
  auto c = mm::config::load(p);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find(p + ":2:"), std::string::npos) << c.error();
  unlink(p.c_str());
}

TEST(Config, MissingFileIsAClearError) {
  auto c = mm::config::load("/nonexistent/mailmoat.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("/nonexistent/mailmoat.toml"), std::string::npos);
}

}  // namespace

TEST(Config, DnsAndAuthSections) {
  auto d = mm::config::defaults();
  EXPECT_TRUE(d.auth_enabled);     // the embedded default authenticates senders
  EXPECT_TRUE(d.dns_servers.empty());  // with the system resolver
  auto p = write_temp(
      "[dns]\nservers = \"127.0.0.1:5353,[::1]:53,192.0.2.1\"\ntimeout_ms = 500\ntries = 3\n"
      "[auth]\nenabled = true\nauthserv_id = \"mx.example.net\"\ndkim = false\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->dns_servers, "127.0.0.1:5353,[::1]:53,192.0.2.1");
  EXPECT_EQ(c->dns_timeout_ms, 500);
  EXPECT_EQ(c->dns_tries, 3);
  EXPECT_EQ(c->authserv_id, "mx.example.net");
  EXPECT_FALSE(c->auth_dkim);
  EXPECT_TRUE(c->auth_spf);
  unlink(p.c_str());
  p = write_temp("[dns]\nservers = \"resolver.example:53\"\n[auth]\nauthserv_id = \"a b;\"\nspf = \"yes\"\n");
  c = mm::config::load(p);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("[dns] servers: 'resolver.example:53'"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("[auth] authserv_id must be a host name"), std::string::npos);
  EXPECT_NE(c.error().find("[auth] spf must be true or false"), std::string::npos);
  unlink(p.c_str());
}
