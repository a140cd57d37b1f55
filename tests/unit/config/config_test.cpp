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

TEST(Config, ConsoleDirDefaultsToTheSourceTreesBuild) {
  std::string def = mm::config::defaults().api_console_dir;
  ASSERT_GE(def.size(), 9u);
  EXPECT_EQ(def.substr(def.size() - 9), "/web/dist");
  auto p = write_temp("[api]\nconsole_dir = \"\"\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->api_console_dir, "");
  unlink(p.c_str());
  p = write_temp("[api]\nconsole_dir = 3\n");
  EXPECT_FALSE(mm::config::load(p));
  unlink(p.c_str());
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

TEST(Config, LinksSection) {
  auto p = write_temp(
      "[links]\nblocklist_file = \"/etc/mailmoat/block.txt\"\nuri_dnsbl_zones = [\"multi.uribl.example\"]\n"
      "uri_dnsbl_timeout_ms = 500\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->links_enabled);
  EXPECT_EQ(c->url_blocklist_file, "/etc/mailmoat/block.txt");
  EXPECT_EQ(c->uri_dnsbl_zones, std::vector<std::string>{"multi.uribl.example"});
  EXPECT_EQ(c->uri_dnsbl_timeout_ms, 500);
  unlink(p.c_str());
  auto bad = write_temp("[links]\nuri_dnsbl_zones = \"one.example\"\nzones = 1\n");
  auto e = mm::config::load(bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("[links] uri_dnsbl_zones must be an array of strings"), std::string::npos) << e.error();
  EXPECT_NE(e.error().find("unknown key 'zones' in [links]"), std::string::npos) << e.error();
  unlink(bad.c_str());
}

}  // namespace

TEST(Config, QuarantineDigestSchedule) {
  auto p = write_temp("[quarantine]\ndigest_interval = 86400\ndigest_base_url = \"https://console.example/q\"\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->quarantine_digest_interval_s, 86400);
  EXPECT_EQ(c->quarantine_digest_base_url, "https://console.example/q");
  unlink(p.c_str());
  EXPECT_EQ(mm::config::defaults().quarantine_digest_interval_s, 0);
  auto bad = write_temp("[quarantine]\ndigest_interval = 3600\n");
  auto e = mm::config::load(bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("needs digest_base_url"), std::string::npos) << e.error();
  unlink(bad.c_str());
}

TEST(Config, AntivirusAndAttachmentSections) {
  auto d = mm::config::defaults();
  EXPECT_TRUE(d.av_enabled);
  EXPECT_EQ(d.av_mode, "managed");
  EXPECT_TRUE(d.att_enabled);
  EXPECT_FALSE(d.att_blocked_extensions_set);
  auto p = write_temp(
      "[antivirus]\nmode = \"external\"\nsocket = \"127.0.0.1:3310\"\ntimeout_ms = 2000\narchive_depth = 3\n"
      "[attachments]\nblocked_extensions = [\".EXE\", \"js\"]\nblock_macros = false\nmax_files = 10\n");
  auto c = mm::config::load(p);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->av_mode, "external");
  EXPECT_EQ(c->av_socket, "127.0.0.1:3310");
  EXPECT_EQ(c->av_timeout_ms, 2000);
  EXPECT_EQ(c->av_archive_depth, 3);
  EXPECT_TRUE(c->att_blocked_extensions_set);
  EXPECT_EQ(c->att_blocked_extensions, (std::vector<std::string>{"exe", "js"}));
  EXPECT_FALSE(c->att_block_macros);
  EXPECT_EQ(c->att_max_files, 10u);
  unlink(p.c_str());
  for (const char* bad : {"[antivirus]\nmode = \"cloud\"\n", "[antivirus]\nmode = \"external\"\n",
                          "[antivirus]\nsocket = \"/x.sock\"\n", "[antivirus]\ntimeout_ms = 5\n",
                          "[attachments]\nblocked_extensions = [\"a.b\"]\n", "[attachments]\nblocked_extensions = 3\n",
                          "[antivirus]\nfoo = 1\n"}) {
    auto q = write_temp(bad);
    EXPECT_FALSE(mm::config::load(q)) << bad;
    unlink(q.c_str());
  }
}

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
