// The clamd client, the managed clamd and the antivirus check against a real clamd started here
// with the project's signature database (built at build time).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "av/av_check.h"
#include "av/clamd_client.h"
#include "av/managed_clamd.h"
#include "message/message.h"
#include "scan/engine.h"
#include "../attachments/helpers.h"

namespace fs = std::filesystem;
using namespace mm::av;
using namespace std::chrono_literals;

namespace {

using mm::test::read_file;
using mm::test::sample;

Deadline in(std::chrono::milliseconds ms) { return std::chrono::steady_clock::now() + ms; }

std::string temp_dir() {
  char tmpl[] = "/tmp/mm-av-XXXXXX";
  return mkdtemp(tmpl);
}

// One managed clamd (own var dir) per fixture.
class Clamd : public ::testing::Test {
 protected:
  void start(const std::string& db = "", int reload_s = 5, uint64_t max_scan = 64ull << 20) {
    dir_ = temp_dir();
    ManagedOptions o;
    o.var_dir = dir_ + "/var";
    o.database_dir = db;
    o.reload_check_s = reload_s;
    o.max_scan_size = max_scan;
    clamd_ = std::make_unique<ManagedClamd>(o);
    ASSERT_TRUE(clamd_->wait_ready(30s)) << read_file(dir_ + "/var/log/clamd.log");
  }
  void TearDown() override {
    clamd_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  ClamdClient client() { return ClamdClient(clamd_->address()); }
  std::string dir_;
  std::unique_ptr<ManagedClamd> clamd_;
};

std::string mime_with(const std::string& filename, const std::string& content) {
  return mm::test::mime_with(filename, content);
}

std::vector<mm::scan::Symbol> run_check(const AvCheck& c, const std::string& raw) {
  auto msg = mm::message::parse(std::make_shared<const std::string>(raw));
  mm::scan::Envelope env;
  std::vector<mm::scan::Symbol> prior, out;
  mm::scan::Context ctx{*msg, env, prior};
  c.run(ctx, out);
  return out;
}

// A server on loopback that accepts and never answers (-1 on failure); closed by the caller.
int mute_listener(ClamdAddress& at) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s, 8) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    if (s >= 0) ::close(s);
    return -1;
  }
  at.host = "127.0.0.1";
  at.port = ntohs(sa.sin_port);
  return s;
}

}  // namespace

TEST(ClamdAddress, Parses) {
  auto u = ClamdAddress::parse("/run/clamav/clamd.ctl");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->unix_path, "/run/clamav/clamd.ctl");
  auto t = ClamdAddress::parse("127.0.0.1:3310");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 3310);
  auto v6 = ClamdAddress::parse("[::1]:3310");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->str(), "[::1]:3310");
  EXPECT_FALSE(ClamdAddress::parse("localhost"));
  EXPECT_FALSE(ClamdAddress::parse("host:99999"));
  EXPECT_FALSE(ClamdAddress::parse(""));
}

TEST_F(Clamd, DetectsTheProjectSamplesAndPassesCleanData) {
  start();
  auto c = client();
  auto v = c.command("VERSION", in(2s));
  ASSERT_TRUE(v) << v.error();
  EXPECT_NE(v->find("ClamAV"), std::string::npos);
  auto e = c.scan(sample("eicar.com"), in(5s));
  ASSERT_EQ(e.kind, ScanResult::Found) << e.error;
  EXPECT_NE(e.signature.find("Mailmoat.Test.Eicar"), std::string::npos) << e.signature;
  auto m = c.scan(sample("mailmoat-marker.txt"), in(5s));
  ASSERT_EQ(m.kind, ScanResult::Found) << m.error;
  EXPECT_NE(m.signature.find("Mailmoat.Test.Marker"), std::string::npos);
  auto clean = c.scan(std::string(300000, 'a') + "hello", in(5s));
  EXPECT_EQ(clean.kind, ScanResult::Clean) << clean.error;
  // Small chunks: the stream is reassembled by clamd.
  ClamdClient small(clamd_->address(), 7);
  EXPECT_EQ(small.scan(sample("eicar.com"), in(5s)).kind, ScanResult::Found);
  EXPECT_EQ(c.scan("", in(5s)).kind, ScanResult::Clean);
}

TEST_F(Clamd, ConcurrentScansFromManyThreads) {
  start();
  auto c = client();
  std::string eicar = sample("eicar.com");
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        bool bad = (i + t) % 2 == 0;
        auto r = c.scan(bad ? "junk " + eicar : "plain text " + std::to_string(i), in(10s));
        if (r.kind != (bad ? ScanResult::Found : ScanResult::Clean)) ++wrong;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ClamdClient, ErrorsAreNeverClean) {
  // Nothing listens: an error, not a pass.
  ClamdAddress nowhere;
  nowhere.unix_path = "/tmp/mm-av-no-such-socket";
  auto r = ClamdClient(nowhere).scan("x", in(2s));
  EXPECT_EQ(r.kind, ScanResult::Error);
  EXPECT_FALSE(r.error.empty());
  // A server that accepts and never answers: the deadline ends the wait.
  ClamdAddress mute;
  int s = mute_listener(mute);
  ASSERT_GE(s, 0);
  auto t0 = std::chrono::steady_clock::now();
  auto late = ClamdClient(mute).scan("hello", in(300ms));
  auto took = std::chrono::steady_clock::now() - t0;
  ::close(s);
  EXPECT_EQ(late.kind, ScanResult::Error);
  EXPECT_NE(late.error.find("timed out"), std::string::npos) << late.error;
  EXPECT_LT(took, 3s);
}

TEST_F(Clamd, RestartedWhenItDies) {
  start();
  int first = clamd_->child_pid();
  ASSERT_GT(first, 0);
  ::kill(first, SIGKILL);
  std::ofstream(clamd_->temp_dir() + "/clamav-left-by-the-dead.tmp") << "x";  // cleaned at the restart
  // The supervisor notices, restarts it after its backoff, and it answers again.
  for (int i = 0; i < 200 && (clamd_->child_pid() == first || clamd_->child_pid() == 0); ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(clamd_->child_pid(), first);
  ASSERT_TRUE(clamd_->wait_ready(20s));
  EXPECT_EQ(clamd_->restarts(), 1);
  EXPECT_FALSE(fs::exists(clamd_->temp_dir() + "/clamav-left-by-the-dead.tmp"));
  EXPECT_EQ(client().scan(sample("eicar.com"), in(5s)).kind, ScanResult::Found);
}

TEST_F(Clamd, ReloadsChangedSignaturesWithoutFailingScans) {
  std::string db = temp_dir();
  fs::copy(MM_SIGNATURE_DIR, db, fs::copy_options::recursive);
  start(db, 1);
  auto c = client();
  const std::string fresh = "a brand-new-threat-string-0042 appears";
  ASSERT_EQ(c.scan(fresh, in(5s)).kind, ScanResult::Clean);
  {
    std::ofstream f(db + "/extra.ndb");
    std::string hex;
    for (unsigned char ch : std::string("brand-new-threat-string-0042")) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", ch);
      hex += b;
    }
    f << "Mailmoat.Test.Fresh:0:*:" << hex << "\n";
  }
  // Scans keep working during the reload; the new signature shows up within a few seconds.
  bool detected = false;
  int errors = 0;
  std::string eicar = sample("eicar.com");
  for (int i = 0; i < 200 && !detected; ++i) {
    auto r = c.scan(fresh, in(5s));
    if (r.kind == ScanResult::Error) ++errors;
    detected = r.kind == ScanResult::Found;
    if (c.scan(eicar, in(5s)).kind != ScanResult::Found) ++errors;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(detected);
  EXPECT_EQ(errors, 0);
  EXPECT_GE(clamd_->reloads(), 1);
  fs::remove_all(db);
}

TEST_F(Clamd, CheckNamesThePartAndFlagsErrors) {
  start();
  AvCheck check(client(), {});
  auto found = run_check(check, mime_with("invoice.com", sample("eicar.com")));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "AV_VIRUS");
  EXPECT_EQ(found[0].hint, mm::scan::Class::Malware);
  EXPECT_NE(found[0].detail.find("part 2 invoice.com"), std::string::npos) << found[0].detail;
  EXPECT_TRUE(run_check(check, mime_with("notes.txt", "just some notes\n")).empty());
  // uuencoded in a text body: clamd decodes it; no single part carries it, so "message".
  std::string eicar = sample("eicar.com");
  auto uu = run_check(check, "From: a@example.com\r\nSubject: uu\r\n\r\nbegin 644 e.com\r\n" +
                                 [&] {
                                   std::string out, line;
                                   for (size_t i = 0; i < eicar.size(); i += 45) {
                                     std::string chunk = eicar.substr(i, 45);
                                     line = static_cast<char>(32 + chunk.size());
                                     while (chunk.size() % 3) chunk.push_back('\0');
                                     for (size_t k = 0; k < chunk.size(); k += 3) {
                                       unsigned v = (uint8_t)chunk[k] << 16 | (uint8_t)chunk[k + 1] << 8 | (uint8_t)chunk[k + 2];
                                       for (int sh = 18; sh >= 0; sh -= 6) {
                                         unsigned c6 = (v >> sh) & 63;
                                         line += static_cast<char>(c6 ? 32 + c6 : '`');
                                       }
                                     }
                                     out += line + "\r\n";
                                   }
                                   return out;
                                 }() + "`\r\nend\r\n");
  ASSERT_EQ(uu.size(), 1u);
  EXPECT_EQ(uu[0].name, "AV_VIRUS");

  ClamdAddress nowhere;
  nowhere.unix_path = dir_ + "/none.sock";
  AvCheck broken{ClamdClient(nowhere), {}};
  auto err = run_check(broken, mime_with("a.txt", "x"));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0].name, "AV_ERROR");
  EXPECT_EQ(err[0].hint, mm::scan::Class::Unscannable);
  EXPECT_TRUE(err[0].retry);
  AvOptions tiny;
  tiny.max_scan_size = 100;
  auto big = run_check(AvCheck(client(), tiny), mime_with("a.txt", std::string(500, 'x')));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].name, "AV_UNSCANNABLE");
  EXPECT_FALSE(big[0].retry);
}

TEST_F(Clamd, DebianTestFilesAreDetectedByTheProjectDatabase) {
  const std::string dir = "/usr/share/clamav-testfiles";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "clamav-testfiles is not installed";
  start();
  auto c = client();
  int files = 0;
  std::vector<std::string> missed;
  for (auto& e : fs::directory_iterator(dir)) {
    ++files;
    auto r = c.scan(read_file(e.path()), in(10s));
    if (r.kind != ScanResult::Found) missed.push_back(e.path().filename().string() + " " + r.error);
  }
  EXPECT_GE(files, 40);
  EXPECT_TRUE(missed.empty()) << missed.size() << " missed, first: " << missed[0];
}

TEST_F(Clamd, OneOwnerPerVarDirAndTakeOver) {
  start();
  ManagedOptions o;
  o.var_dir = dir_ + "/var";
  {
    // A second user of the same var dir (e.g. `mailmoat scan` beside the server) uses the
    // running clamd and, when it goes, leaves the owner's files alone.
    ManagedClamd follower(o);
    ASSERT_TRUE(follower.wait_ready(5s));
    std::this_thread::sleep_for(600ms);  // a supervision round
    EXPECT_EQ(follower.child_pid(), 0);
    EXPECT_EQ(follower.temp_dir(), clamd_->temp_dir());
  }
  EXPECT_TRUE(fs::is_directory(clamd_->temp_dir()));
  EXPECT_EQ(client().scan(sample("eicar.com"), in(5s)).kind, ScanResult::Found);
  // When the owner goes, a waiting user takes over and starts its own clamd.
  auto heir = std::make_unique<ManagedClamd>(o);
  clamd_.reset();
  for (int i = 0; i < 100 && heir->child_pid() == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_GT(heir->child_pid(), 0);
  ASSERT_TRUE(heir->wait_ready(20s));
  EXPECT_EQ(ClamdClient(heir->address()).scan(sample("eicar.com"), in(5s)).kind, ScanResult::Found);
  clamd_ = std::move(heir);
}

TEST(ManagedClamdStart, GivesUpWhenClamdKeepsDying) {
  std::string dir = temp_dir();
  ManagedOptions o;
  o.var_dir = dir + "/var";
  o.database_dir = dir + "/no-signatures-here";  // clamd refuses to start without signatures
  fs::create_directories(o.database_dir);
  auto t0 = std::chrono::steady_clock::now();
  {
    ManagedClamd c(o);
    EXPECT_FALSE(c.wait_ready(60s));
    EXPECT_GE(c.exits(), 2);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
  EXPECT_NE(read_file(dir + "/var/log/clamd.log").find("database"), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(Clamd, OverClamdsStreamLimitIsUnscannableNotRetried) {
  start("", 5, 100 << 10);  // StreamMaxLength = 100 KiB + 1 MiB
  AvCheck check(client(), {});  // our own limit is larger: the message is sent
  auto s = run_check(check, mime_with("big.bin", std::string(3 << 20, 'x')));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "AV_UNSCANNABLE") << s[0].detail;
  EXPECT_EQ(s[0].hint, mm::scan::Class::Unscannable);
  EXPECT_FALSE(s[0].retry);
  EXPECT_NE(s[0].detail.find("size limit exceeded"), std::string::npos) << s[0].detail;
}

// The antivirus check on the engine's threads (parallel checks): while clamd scans, a CPU check
// runs on the calling thread; the verdict is the serial one. A clamd that never answers: the
// scan returns by its deadline and the message is held (failed, or AV_ERROR to retry).
class CpuProbe : public mm::scan::Check {
 public:
  std::string name() const override { return "probe"; }
  double max_abs_score() const override { return 1; }
  void run(const mm::scan::Context&, std::vector<mm::scan::Symbol>& out) const override {
    thread = std::this_thread::get_id();
    out.push_back({"PROBE", 0.5, "cpu", mm::scan::Class::Clean});
  }
  mutable std::thread::id thread;
};

TEST_F(Clamd, InAParallelEngineTheVirusIsFoundAsInSerial) {
  start();
  auto msg = mm::message::parse(std::make_shared<const std::string>(mime_with("invoice.com", sample("eicar.com"))));
  std::string verdicts[2];
  for (size_t threads : {size_t(0), size_t(2)}) {
    mm::scan::Engine e({5, 100, 1});  // no early stop: every check runs
    e.set_parallel_checks(threads);
    e.add(std::make_unique<AvCheck>(client(), AvOptions{}));
    auto probe = std::make_unique<CpuProbe>();
    auto* p = probe.get();
    e.add(std::move(probe));
    ASSERT_TRUE(e.finalize());
    auto v = e.scan(msg, {}, std::chrono::steady_clock::now() + 20s);
    EXPECT_EQ(v.cls, mm::scan::Class::Malware) << v.to_text();
    EXPECT_EQ(p->thread, std::this_thread::get_id());
    std::string j = v.to_json();
    size_t at = j.find("\"elapsed_us\":");
    verdicts[threads ? 1 : 0] = j.erase(at, j.find(',', at) - at);
  }
  EXPECT_EQ(verdicts[0], verdicts[1]);
  EXPECT_NE(verdicts[1].find("part 2 invoice.com"), std::string::npos) << verdicts[1];
}

TEST(ClamdClient, AMuteClamdInAParallelEngineHoldsTheMessageByTheDeadline) {
  ClamdAddress mute;
  int s = mute_listener(mute);
  ASSERT_GE(s, 0);
  {
    mm::scan::Engine e;
    e.set_parallel_checks(2);
    e.add(std::make_unique<AvCheck>(ClamdClient(mute), AvOptions{}));
    e.add(std::make_unique<CpuProbe>());
    ASSERT_TRUE(e.finalize());
    auto t0 = std::chrono::steady_clock::now();
    auto v = e.scan(mm::message::parse(std::make_shared<const std::string>("Subject: x\r\n\r\nhello\r\n")), {},
                    t0 + 300ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    bool retry = false;
    for (auto& sym : v.symbols) retry = retry || (sym.name == "AV_ERROR" && sym.retry);
    EXPECT_TRUE(v.failed || retry) << v.to_text();
  }  // the engine waits for the check, which gives up by the same deadline
  ::close(s);
}
