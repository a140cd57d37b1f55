// DNS and SPF benchmark, each against a peer in the same run:
//  1. resolver queries/s against a local dnsmasq: mailmoat's c-ares resolver (cache off, 50 in
//     flight; and cache on) vs glibc's blocking res_nquery one at a time (what libspf2 uses);
//  2. SPF evaluations/s on the same records, offline: mailmoat's evaluator (auth::drive over an
//     in-memory zone) vs libspf2 (SPF_dns_zone).
// Build: ninja -C build auth_bench; run: build/src/auth/auth_bench [rounds]. Prints medians.
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>
}

#include "auth/spf.h"
#include "dns/resolver.h"
#include "net/event_loop.h"

using namespace mm;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int free_port() {
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

constexpr int kNames = 5000;

// Resolves every name once through `r` with `concurrency` in flight; returns queries/s.
// Answers that come at once (cache) do not recurse: the pump loop goes on issuing.
double run_async(dns::Resolver& r, int concurrency, int offset) {
  std::mutex mu;
  std::condition_variable cv;
  int next = 0, done = 0, bad = 0, inflight = 0;
  static thread_local bool pumping = false;
  std::function<void()> pump = [&] {
    bool outer = !pumping;
    pumping = true;
    for (;;) {
      int i;
      {
        std::lock_guard lk(mu);
        if (next >= kNames || inflight >= concurrency) break;
        i = next++;
        ++inflight;
      }
      std::string name = "h" + std::to_string((i + offset) % kNames) + ".bench.test";
      r.query(name, dns::Type::A, [&](const dns::Answer& a) {
        {
          std::lock_guard lk(mu);
          --inflight;
          if (!a.ok()) ++bad;
        }
        if (!pumping) pump();
        std::lock_guard lk(mu);  // last touch of this frame's locals: the waiter needs the lock
        ++done;
        cv.notify_all();
      });
    }
    if (outer) pumping = false;
  };
  auto t0 = Clock::now();
  pump();
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return done == kNames; });
  auto t1 = Clock::now();
  if (bad) std::fprintf(stderr, "warning: %d failed answers\n", bad);
  return kNames / secs(t0, t1);
}

double run_res_nquery(int port, int count, int offset) {
  struct __res_state st {};
  res_ninit(&st);
  st.nscount = 1;
  st.nsaddr_list[0].sin_family = AF_INET;
  st.nsaddr_list[0].sin_port = htons(static_cast<uint16_t>(port));
  st.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned char buf[1024];
  int bad = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::string name = "h" + std::to_string((i + offset) % kNames) + ".bench.test";
    if (res_nquery(&st, name.c_str(), ns_c_in, ns_t_a, buf, sizeof buf) < 0) ++bad;
  }
  auto t1 = Clock::now();
  res_nclose(&st);
  if (bad) std::fprintf(stderr, "warning: res_nquery %d failures\n", bad);
  return count / secs(t0, t1);
}

// A realistic SPF world: a sender with includes of providers, mx, a, and ip ranges.
struct Rec {
  std::string name;
  dns::Type type;
  ns_type nt;
  std::string value;
};
std::vector<Rec> spf_world() {
  return {
      {"sender.test", dns::Type::TXT, ns_t_txt, "v=spf1 mx a include:_spf.provider.test include:mailer.test ~all"},
      {"sender.test", dns::Type::MX, ns_t_mx, "mx1.sender.test"},
      {"mx1.sender.test", dns::Type::A, ns_t_a, "198.51.100.10"},
      {"sender.test", dns::Type::A, ns_t_a, "198.51.100.20"},
      {"_spf.provider.test", dns::Type::TXT, ns_t_txt, "v=spf1 include:_netblocks.provider.test include:_netblocks2.provider.test ~all"},
      {"_netblocks.provider.test", dns::Type::TXT, ns_t_txt, "v=spf1 ip4:203.0.113.0/25 ip4:192.0.2.0/26 ip6:2001:db8:1::/48 ~all"},
      {"_netblocks2.provider.test", dns::Type::TXT, ns_t_txt, "v=spf1 ip4:192.0.2.64/26 ip4:192.0.2.128/25 ~all"},
      {"mailer.test", dns::Type::TXT, ns_t_txt, "v=spf1 ip4:10.1.0.0/16 -all"},
  };
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  // ---- 1. resolver against dnsmasq -----------------------------------------------------------
  char dir[] = "/tmp/mm-dnsbench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  std::string hosts = std::string(dir) + "/hosts";
  {
    std::ofstream f(hosts);
    for (int i = 0; i < kNames; ++i) f << "192.0." << (i / 250) << "." << (i % 250 + 1) << " h" << i << ".bench.test\n";
  }
  int port = free_port();
  pid_t pid = fork();
  if (pid == 0) {
    std::string p = "--port=" + std::to_string(port), h = "--addn-hosts=" + hosts;
    execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", p.c_str(), "--listen-address=127.0.0.1", "--bind-interfaces",
           "--no-resolv", "--no-hosts", h.c_str(), "--conf-file=/dev/null", "--pid-file=", "--user=root",
           "--local-ttl=300", "--local=/bench.test/", "--log-facility=/dev/null", "--cache-size=10000", (char*)nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  net::EventLoop loop;
  std::thread t([&] { loop.run(1); });
  std::string err;
  dns::ResolverOptions nocache;
  nocache.servers = "127.0.0.1:" + std::to_string(port);
  nocache.cache_entries = 0;
  auto r0 = dns::AresResolver::create(loop, nocache, &err);
  dns::ResolverOptions cached = nocache;
  cached.cache_entries = 100000;
  auto r1 = dns::AresResolver::create(loop, cached, &err);
  if (!r0 || !r1) {
    std::fprintf(stderr, "resolver: %s\n", err.c_str());
    return 1;
  }
  run_async(*r1, 50, 0);  // fills r1's cache
  std::vector<double> a50, a1, cache, glibc;
  for (int i = 0; i < rounds; ++i) {
    a50.push_back(run_async(*r0, 50, i * 7));
    a1.push_back(run_async(*r0, 1, i * 7));
    cache.push_back(run_async(*r1, 50, i * 7));
    glibc.push_back(run_res_nquery(port, kNames, i * 7));
  }
  std::printf("DNS against dnsmasq (%d A queries per run, %d runs, medians):\n", kNames, rounds);
  std::printf("  mailmoat resolver, no cache, 50 in flight: %8.0f q/s\n", median(a50));
  std::printf("  mailmoat resolver, no cache, 1 in flight:  %8.0f q/s\n", median(a1));
  std::printf("  glibc res_nquery, blocking (libspf2's way): %8.0f q/s   ratio 50-in-flight/glibc %.2f\n",
              median(glibc), median(a50) / median(glibc));
  std::printf("  mailmoat resolver, cached:                  %8.0f q/s\n", median(cache));
  r0->shutdown();
  r1->shutdown();
  loop.stop();
  t.join();
  r0.reset();
  r1.reset();
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  unlink(hosts.c_str());
  rmdir(dir);

  // ---- 2. SPF evaluations, offline, same records -------------------------------------------
  auth::StaticZone zone;
  SPF_dns_server_t* z = SPF_dns_zone_new(nullptr, "bench", 0);
  for (auto& r : spf_world()) {
    zone.add(r.name, r.type, r.value, 10);
    SPF_dns_zone_add_str(z, r.name.c_str(), r.nt, NETDB_SUCCESS, r.value.c_str());
  }
  SPF_server_t* spf = SPF_server_new_dns(z, 0);
  std::vector<std::string> ips;
  for (int i = 0; i < 64; ++i) ips.push_back("192.0.2." + std::to_string(i * 4));
  ips.push_back("10.1.2.3");
  ips.push_back("198.51.100.10");
  ips.push_back("8.8.8.8");
  const int kEvals = 30000;
  std::vector<double> ours, theirs;
  int agree = 0;
  for (int rnd = 0; rnd < rounds; ++rnd) {
    auto t0 = Clock::now();
    for (int i = 0; i < kEvals; ++i) {
      auto answers = std::make_shared<auth::AnswerSet>();
      auth::SpfOutcome o;
      auth::drive(zone, answers, [&](auth::Lookup& l) { o = auth::spf_mailfrom(l, ips[i % ips.size()], "a@sender.test", "h.test"); },
                  Clock::time_point::max(), [] {});
      if (rnd == 0 && i < int(ips.size())) agree += o.result == auth::SpfResult::Pass || o.result == auth::SpfResult::SoftFail;
    }
    auto t1 = Clock::now();
    for (int i = 0; i < kEvals; ++i) {
      SPF_request_t* req = SPF_request_new(spf);
      SPF_request_set_ipv4_str(req, ips[i % ips.size()].c_str());
      SPF_request_set_env_from(req, "a@sender.test");
      SPF_request_set_helo_dom(req, "h.test");
      SPF_response_t* resp = nullptr;
      SPF_request_query_mailfrom(req, &resp);
      SPF_response_free(resp);
      SPF_request_free(req);
    }
    auto t2 = Clock::now();
    ours.push_back(kEvals / secs(t0, t1));
    theirs.push_back(kEvals / secs(t1, t2));
  }
  SPF_server_free(spf);
  SPF_dns_free(z);
  std::printf("SPF evaluations, offline zone (3 includes, mx, a; %d per run, %d runs, medians):\n", kEvals, rounds);
  std::printf("  mailmoat: %8.0f evals/s\n  libspf2:  %8.0f evals/s   ratio mailmoat/libspf2 %.2f\n", median(ours),
              median(theirs), median(ours) / median(theirs));
  return 0;
}
