// The c-ares resolver against a real dnsmasq on a loopback port: record types, CNAME, negative
// answers, TTL cache, coalescing, timeouts (a silent server) and the blocking wrapper.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dns/awaitable.h"
#include "dns/resolver.h"
#include "net/event_loop.h"

using namespace mm::dns;
using namespace std::chrono_literals;

namespace {

int free_udp_port() {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

class Dnsmasq {
 public:
  // The port is free when chosen but another test may take it before dnsmasq binds it; dnsmasq
  // then exits, and it is started again on another port (at most 5 times).
  explicit Dnsmasq(std::vector<std::string> records) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_udp_port();
      std::vector<std::string> args = {"dnsmasq", "--keep-in-foreground", "--port=" + std::to_string(port_),
                                       "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                                       "--conf-file=/dev/null", "--pid-file=", "--user=root", "--local-ttl=300",
                                       "--local=/dns.test/", "--log-facility=/dev/null"};
      for (auto& r : records) args.push_back(r);
      pid_ = fork();
      if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execvp("dnsmasq", argv.data());
        _exit(127);
      }
      if (wait_ready()) return;
      stop();
    }
  }
  ~Dnsmasq() { stop(); }
  // Until dnsmasq answers a query (any answer), at most 10 s: a fixed sleep lost the race on a
  // loaded machine, and the first query then met a closed port. False: dnsmasq exited or never
  // answered.
  bool wait_ready() {
    const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'r', 'e', 'a', 'd', 'y',
                               3,    'd',  'n',  's',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    auto until = std::chrono::steady_clock::now() + 10s;
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < until) {
      unsigned char buf[512];
      if (sendto(s, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == static_cast<ssize_t>(sizeof q) &&
          recv(s, buf, sizeof buf, 0) > 0) {
        ready = true;
        break;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited (e.g. the port was taken)
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    close(s);
    return ready;
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

struct Loop {
  mm::net::EventLoop loop;
  std::thread t;
  Loop() {
    t = std::thread([this] { loop.run(1); });
  }
  // The resolver is destroyed only when its loop no longer runs.
  void stop() {
    if (!t.joinable()) return;
    loop.stop();
    t.join();
  }
  ~Loop() { stop(); }
};

std::shared_ptr<AresResolver> resolver_for(Loop& l, const Dnsmasq& dns) {
  ResolverOptions o;
  o.servers = dns.server();
  std::string err;
  auto r = AresResolver::create(l.loop, o, &err);
  EXPECT_TRUE(r) << err;
  return r;
}

Answer ask(Resolver& r, const std::string& name, Type t) {
  return resolve_blocking(r, name, t, std::chrono::steady_clock::now() + 10s);
}

}  // namespace

TEST(Resolver, RecordTypesAgainstDnsmasq) {
  Dnsmasq dns({"--host-record=a.dns.test,192.0.2.1,2001:db8::1", "--mx-host=dns.test,mx1.dns.test,20",
               "--mx-host=dns.test,mx0.dns.test,10", "--txt-record=dns.test,v=spf1 -all",
               "--txt-record=long.dns.test,part one,part two", "--cname=alias.dns.test,a.dns.test",
               "--ptr-record=1.2.0.192.in-addr.arpa,a.dns.test", "--host-record=2.0.0.127.bl.dns.test,127.0.0.2"});
  Loop l;
  auto r = resolver_for(l, dns);
  ASSERT_TRUE(r);

  auto a = ask(*r, "a.dns.test", Type::A);
  ASSERT_EQ(a.rcode, Rcode::Ok) << a.error;
  EXPECT_EQ(a.records, std::vector<std::string>{"192.0.2.1"});
  EXPECT_GT(a.ttl, 250u);
  EXPECT_EQ(ask(*r, "a.dns.test", Type::AAAA).records, std::vector<std::string>{"2001:db8::1"});
  auto mx = ask(*r, "dns.test", Type::MX);
  EXPECT_EQ(mx.records, (std::vector<std::string>{"mx0.dns.test", "mx1.dns.test"}));
  EXPECT_EQ(mx.mx_pref, (std::vector<uint16_t>{10, 20}));
  EXPECT_EQ(ask(*r, "dns.test", Type::TXT).records, std::vector<std::string>{"v=spf1 -all"});
  EXPECT_EQ(ask(*r, "long.dns.test", Type::TXT).records, std::vector<std::string>{"part onepart two"});
  EXPECT_EQ(ask(*r, "alias.dns.test", Type::A).records, std::vector<std::string>{"192.0.2.1"});  // via CNAME
  EXPECT_EQ(ask(*r, reverse_name("192.0.2.1"), Type::PTR).records, std::vector<std::string>{"a.dns.test"});
  EXPECT_EQ(ask(*r, list_query_name("127.0.0.2", "bl.dns.test"), Type::A).records, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(ask(*r, "missing.dns.test", Type::A).rcode, Rcode::NxDomain);
  EXPECT_EQ(ask(*r, "a.dns.test", Type::MX).rcode, Rcode::NoData);

  // The cache answers again without the server, and keeps negative answers too.
  auto before = r->stats();
  dns.stop();
  auto cached = ask(*r, "a.dns.test", Type::A);
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(cached.records, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(ask(*r, "missing.dns.test", Type::A).rcode, Rcode::NxDomain);
  EXPECT_EQ(r->stats().sent, before.sent);
  r->shutdown();
  l.stop();
}

TEST(Resolver, DeadServerIsTempErrorNeverNotFound) {
  Loop l;
  ResolverOptions o;
  o.servers = "127.0.0.1:" + std::to_string(free_udp_port());  // nothing listens
  o.timeout_ms = 200;
  o.tries = 1;
  std::string err;
  auto r = AresResolver::create(l.loop, o, &err);
  ASSERT_TRUE(r) << err;
  auto t0 = std::chrono::steady_clock::now();
  auto a = ask(*r, "x.dns.test", Type::TXT);
  EXPECT_EQ(a.rcode, Rcode::TempError);
  EXPECT_FALSE(a.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Not cached: a failure is asked again.
  ask(*r, "x.dns.test", Type::TXT);
  EXPECT_EQ(r->stats().sent, 2u);
  // A server that never answers: the blocking wrapper gives up at its deadline.
  int silent = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t sl = sizeof sa;
  getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &sl);
  o.servers = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  o.timeout_ms = 3000;
  auto slow = AresResolver::create(l.loop, o, &err);
  auto d = resolve_blocking(*slow, "y.dns.test", Type::A, std::chrono::steady_clock::now() + 100ms);
  EXPECT_EQ(d.rcode, Rcode::TempError);
  EXPECT_EQ(d.error, "deadline");
  r->shutdown();
  slow->shutdown();
  std::this_thread::sleep_for(50ms);
  l.stop();
  close(silent);
}

TEST(Resolver, CoalescesIdenticalQueries) {
  Dnsmasq dns({"--host-record=c.dns.test,192.0.2.7"});
  Loop l;
  auto r = resolver_for(l, dns);
  ASSERT_TRUE(r);
  std::vector<std::promise<Answer>> ps(20);
  for (auto& p : ps) r->query("c.dns.test", Type::A, [&p](const Answer& a) { p.set_value(a); });
  for (auto& p : ps) EXPECT_EQ(p.get_future().get().records, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(r->stats().sent, 1u);
  r->shutdown();
  l.stop();
}

TEST(Resolver, AwaitableFromACoroutine) {
  Dnsmasq dns({"--host-record=co.dns.test,192.0.2.9", "--txt-record=co.dns.test,hello"});
  Loop l;
  auto r = resolver_for(l, dns);
  ASSERT_TRUE(r);
  // A separate io_context, as a gateway coroutine's would be: run() returns only when the
  // coroutine finished, so the operation kept it alive while the answer was out.
  boost::asio::io_context ctx;
  std::vector<std::string> got;
  boost::asio::co_spawn(
      ctx,
      [&]() -> boost::asio::awaitable<void> {
        Answer a = co_await async_query(*r, "co.dns.test", Type::A, boost::asio::use_awaitable);
        got.push_back(a.records.empty() ? "?" : a.records[0]);
        Answer t = co_await async_query(*r, "co.dns.test", Type::TXT, boost::asio::use_awaitable);
        got.push_back(t.records.empty() ? "?" : t.records[0]);
        Answer n = co_await async_query(*r, "none.dns.test", Type::A, boost::asio::use_awaitable);
        got.push_back(to_string(n.rcode));
      },
      boost::asio::detached);
  ctx.run();
  EXPECT_EQ(got, (std::vector<std::string>{"192.0.2.9", "hello", "nxdomain"}));
  r->shutdown();
  l.stop();
}

TEST(Resolver, ReverseNames) {
  EXPECT_EQ(reverse_name("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("2001:db8::1").substr(0, 8), "1.0.0.0.");
  EXPECT_EQ(reverse_name("nonsense"), "");
  EXPECT_EQ(list_query_name("127.0.0.2", "bl.dns.test."), "2.0.0.127.bl.dns.test");
  EXPECT_EQ(list_query_name("2001:db8::1", "bl.test").size(), 64u + 7u);
  EXPECT_EQ(list_query_name("x", "bl.test"), "");
}
