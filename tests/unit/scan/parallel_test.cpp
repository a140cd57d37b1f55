// The engine's parallel checks: checks that wait() start on the engine's threads and overlap the
// others (shown by rendezvous, not by timing), the verdict equals the serial run's, and deadline,
// exceptions and early stop leave nothing dangling while such a check still runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <stdexcept>
#include <thread>

#include "scan/engine.h"

namespace mm::scan {
namespace {

using namespace std::chrono_literals;

// Blocks its callers until `n` have arrived (or `limit` passed); says whether all arrived.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : n_(n) {}
  bool arrive(std::chrono::milliseconds limit = 20s) {
    std::unique_lock lk(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lk, limit, [&] { return arrived_ >= n_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_, arrived_ = 0;
};

// A gate a check waits at until the test opens it (bounded, so that a failing test cannot hang).
class Gate {
 public:
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 30s, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A configurable fake check: runs `body` and adds one symbol.
class Fake : public Check {
 public:
  Fake(std::string name, bool waits, double score, std::vector<std::string> deps = {})
      : name_(std::move(name)), waits_(waits), score_(score), deps_(std::move(deps)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> depends_on() const override { return deps_; }
  double max_abs_score() const override { return std::abs(score_); }
  bool waits() const override { return waits_; }
  void run(const Context& ctx, std::vector<Symbol>& out) const override {
    {
      std::lock_guard lk(mu);
      thread = std::this_thread::get_id();
      for (auto& s : ctx.prior) prior.push_back(s.name);
    }
    started = true;
    std::string detail = ctx.msg.subject + "/" + ctx.env.sender;
    if (body) body(ctx);
    out.push_back({"SYM_" + name_, score_, detail, Class::Clean});
    {
      std::lock_guard lk(mu);
      seen = detail + "/" + ctx.msg.subject + "/" + ctx.env.sender;  // read again after the wait
    }
    finished = true;
  }
  std::function<void(const Context&)> body;
  mutable std::mutex mu;
  mutable std::thread::id thread;
  mutable std::vector<std::string> prior;
  mutable std::string seen;
  mutable std::atomic<bool> started{false}, finished{false};

 private:
  std::string name_;
  bool waits_;
  double score_;
  std::vector<std::string> deps_;
};

std::shared_ptr<const message::Message> message_with(std::string subject) {
  auto m = std::make_shared<message::Message>();
  m->subject = std::move(subject);
  return m;
}

template <class T>
T* add(Engine& e, std::unique_ptr<T> c) {
  T* p = c.get();
  e.add(std::move(c));
  return p;
}

TEST(ParallelChecks, WaitingChecksOverlapEachOtherAndTheCpuChecks) {
  Engine e;
  e.set_parallel_checks(4);
  Rendezvous all(3);
  std::atomic<int> met{0};
  auto* av = add(e, std::make_unique<Fake>("av", true, 0));
  auto* cpu = add(e, std::make_unique<Fake>("cpu", false, 1));
  auto* dns = add(e, std::make_unique<Fake>("dns", true, 0));
  for (auto* c : {av, cpu, dns})
    c->body = [&](const Context&) { met += all.arrive() ? 1 : 0; };  // each waits for the two others
  ASSERT_TRUE(e.finalize());
  Envelope env;
  env.sender = "a@b.example";
  auto v = e.scan(message_with("hello"), env);
  EXPECT_EQ(met.load(), 3) << "the three checks did not run at the same time";
  EXPECT_FALSE(v.failed) << v.error;
  EXPECT_EQ(v.symbol_list(), "SYM_cpu(1.00),SYM_av(0.00),SYM_dns(0.00)");
  ASSERT_EQ(v.symbols.size(), 3u);  // merged in run order
  EXPECT_EQ(v.symbols[0].name, "SYM_av");
  EXPECT_EQ(v.symbols[2].name, "SYM_dns");
  EXPECT_EQ(v.symbols[0].detail, "hello/a@b.example");
  EXPECT_EQ(cpu->thread, std::this_thread::get_id());  // CPU checks stay on the calling thread
  EXPECT_NE(av->thread, std::this_thread::get_id());
  EXPECT_NE(dns->thread, std::this_thread::get_id());
  EXPECT_NE(av->thread, dns->thread);
}

TEST(ParallelChecks, SerialModeRunsOneAfterAnotherOnTheCallingThread) {
  Engine e;  // parallel checks off by default
  std::atomic<int> running{0}, overlapped{0};
  std::vector<Fake*> fakes;
  for (auto name : {"av", "cpu", "dns"}) {
    auto* f = add(e, std::make_unique<Fake>(name, std::string(name) != "cpu", 0));
    f->body = [&](const Context&) {
      if (++running > 1) ++overlapped;
      std::this_thread::sleep_for(2ms);
      --running;
    };
    fakes.push_back(f);
  }
  ASSERT_TRUE(e.finalize());
  auto v = e.scan(message_with("x"), {});
  EXPECT_EQ(overlapped.load(), 0);
  for (auto* f : fakes) EXPECT_EQ(f->thread, std::this_thread::get_id());
  EXPECT_EQ(v.symbols.size(), 3u);
}

TEST(ParallelChecks, ABusyPoolLeavesTheQueuedCheckToTheCallingThread) {
  Engine e;
  e.set_parallel_checks(1);
  Rendezvous both(2);  // the two waiting checks must run at once: one on the only pool thread
  std::atomic<int> met{0};
  auto* a = add(e, std::make_unique<Fake>("a", true, 0));
  auto* b = add(e, std::make_unique<Fake>("b", true, 0));
  for (auto* c : {a, b}) c->body = [&](const Context&) { met += both.arrive() ? 1 : 0; };
  ASSERT_TRUE(e.finalize());
  auto v = e.scan(message_with("x"), {});
  EXPECT_EQ(met.load(), 2);
  EXPECT_FALSE(v.failed) << v.error;
  EXPECT_TRUE(a->thread == std::this_thread::get_id() || b->thread == std::this_thread::get_id());
}

TEST(ParallelChecks, AStartedCheckSeesItsDependenciesOnly) {
  Engine e;
  e.set_parallel_checks(2);
  add(e, std::make_unique<Fake>("first", false, 1));
  add(e, std::make_unique<Fake>("base", false, 2));
  auto* slow = add(e, std::make_unique<Fake>("slow", true, 0.5, std::vector<std::string>{"base"}));
  auto* after = add(e, std::make_unique<Fake>("after", false, 0.25));
  auto* both = add(e, std::make_unique<Fake>("both", false, 0.125, std::vector<std::string>{"slow", "first"}));
  ASSERT_TRUE(e.finalize());
  auto v = e.scan(message_with("x"), {});
  EXPECT_EQ(slow->prior, std::vector<std::string>{"SYM_base"});
  EXPECT_TRUE(after->prior.empty());
  EXPECT_EQ(both->prior, (std::vector<std::string>{"SYM_first", "SYM_slow"}));  // in run order
  EXPECT_DOUBLE_EQ(v.score, 3.875);
  // The same rule without parallel checks.
  Engine s;
  add(s, std::make_unique<Fake>("first", false, 1));
  add(s, std::make_unique<Fake>("base", false, 2));
  auto* after2 = add(s, std::make_unique<Fake>("after", false, 0.25));
  ASSERT_TRUE(s.finalize());
  (void)s.scan(message_with("x"), {});
  EXPECT_TRUE(after2->prior.empty());
}

// The deadline passes while a waiting check blocks (ignoring the deadline): the scan returns
// failed without waiting for it; the check, let go later, still reads a live message and envelope.
TEST(ParallelChecks, DeadlineWhileAWaitingCheckBlocksFailsAndLeavesNothingDangling) {
  Gate gate;
  std::atomic<bool> done{false};
  std::string seen;  // what the check read after the scan had returned
  {
    Engine e;
    e.set_parallel_checks(2);
    add(e, std::make_unique<Fake>("cpu", false, 1));
    auto* slow = add(e, std::make_unique<Fake>("slow", true, 1));
    slow->body = [&](const Context& ctx) {
      gate.wait();
      seen = ctx.msg.subject + "/" + ctx.env.sender + "/" + std::to_string(ctx.prior.size());
      done = true;
    };
    ASSERT_TRUE(e.finalize());
    Verdict v;
    {
      Envelope env;
      env.sender = "s@x.example";
      v = e.scan(message_with("kept alive"), env, std::chrono::steady_clock::now() + 50ms);
    }  // the message, the envelope and the caller's frame are gone
    EXPECT_TRUE(v.failed);
    EXPECT_NE(v.error.find("deadline passed while check 'slow' was running"), std::string::npos) << v.error;
    EXPECT_FALSE(done.load());        // returned while the check still ran
    EXPECT_EQ(v.symbols.size(), 1u);  // what came before it in run order
    gate.open();
  }  // the engine's destructor waits for the abandoned check
  EXPECT_TRUE(done.load());
  EXPECT_EQ(seen, "kept alive/s@x.example/0");
}

// With a plain reference the scan cannot let a check outlive it: it waits for the check (which
// gives up by the deadline itself, as the real ones do) and still reports the deadline.
TEST(ParallelChecks, ByReferenceTheScanWaitsForItsRunningChecks) {
  Engine e;
  e.set_parallel_checks(2);
  auto* slow = add(e, std::make_unique<Fake>("slow", true, 1));
  slow->body = [&](const Context& ctx) {
    while (std::chrono::steady_clock::now() < ctx.deadline + 30ms) std::this_thread::sleep_for(1ms);
  };
  ASSERT_TRUE(e.finalize());
  message::Message msg;
  msg.subject = "by ref";
  auto v = e.scan(msg, {}, std::chrono::steady_clock::now() + 30ms);
  EXPECT_TRUE(slow->finished.load());
  EXPECT_TRUE(v.failed);
  EXPECT_NE(v.error.find("deadline"), std::string::npos) << v.error;
}

TEST(ParallelChecks, AnExceptionInAWaitingCheckFailsTheScanAsInSerial) {
  for (size_t threads : {size_t(0), size_t(2)}) {
    Engine e;
    e.set_parallel_checks(threads);
    add(e, std::make_unique<Fake>("before", false, 1));
    auto* bad = add(e, std::make_unique<Fake>("bad", true, 1));
    bad->body = [](const Context&) { throw std::runtime_error("socket exploded"); };
    auto* dep = add(e, std::make_unique<Fake>("dependent", true, 1, std::vector<std::string>{"bad"}));
    add(e, std::make_unique<Fake>("after", false, 1));
    ASSERT_TRUE(e.finalize());
    auto v = e.scan(message_with("x"), {});
    EXPECT_TRUE(v.failed) << threads;
    EXPECT_EQ(v.error, "check 'bad' failed: socket exploded");
    EXPECT_EQ(v.symbol_list(), "SYM_before(1.00)");
    EXPECT_FALSE(dep->started.load());  // never runs on a failed dependency
  }
}

// The outcome is certain before a waiting check finished: the scan returns at once with the
// serial run's verdict (complete=false) and the check, let go later, finishes harmlessly.
TEST(ParallelChecks, EarlyStopAbandonsARunningWaitingCheck) {
  Gate gate, slow_started;  // outlive the engine, whose threads may still use them
  std::atomic<int> done{0};
  Verdict serial;
  {
    Engine s({5, 15, 1});
    add(s, std::make_unique<Fake>("huge", false, 30));
    add(s, std::make_unique<Fake>("slow", true, 1));
    ASSERT_TRUE(s.finalize());
    serial = s.scan(message_with("spam"), {});
  }
  {
    Engine e({5, 15, 1});
    e.set_parallel_checks(2);
    auto* huge = add(e, std::make_unique<Fake>("huge", false, 30));
    auto* slow = add(e, std::make_unique<Fake>("slow", true, 1));
    huge->body = [&](const Context&) { slow_started.wait(); };  // so that `slow` is running
    slow->body = [&](const Context& ctx) {
      slow_started.open();
      gate.wait();
      if (ctx.msg.subject == "spam" || ctx.msg.subject == "more") ++done;
    };
    ASSERT_TRUE(e.finalize());
    auto v = e.scan(message_with("spam"), {});
    EXPECT_FALSE(v.complete);
    EXPECT_FALSE(v.failed);
    EXPECT_EQ(v.symbol_list(), serial.symbol_list());
    EXPECT_EQ(v.cls, serial.cls);
    EXPECT_DOUBLE_EQ(v.score, serial.score);
    EXPECT_EQ(done.load(), 0);
    // Scans go on while abandoned checks block the pool threads.
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(e.scan(message_with("more"), {}).complete);
    gate.open();
  }
  EXPECT_GE(done.load(), 1);  // the abandoned check finished, reading a live message
}

// Deterministic fake checks whose symbols depend on the message and on their dependencies'
// symbols, some waiting for a random short while: serial and parallel engines give the same
// verdict, symbol for symbol, over many messages (with early stops, rescoring and class hints).
class Scored : public Check {
 public:
  Scored(std::string name, bool waits, double max, std::vector<std::string> deps)
      : name_(std::move(name)), waits_(waits), max_(max), deps_(std::move(deps)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> depends_on() const override { return deps_; }
  double max_abs_score() const override { return max_; }
  bool waits() const override { return waits_; }
  void run(const Context& ctx, std::vector<Symbol>& out) const override {
    size_t h = std::hash<std::string>()(ctx.msg.subject + name_);
    if (waits_) std::this_thread::sleep_for(std::chrono::microseconds(h % 400));
    double from_prior = 0;
    for (auto& s : ctx.prior) from_prior += s.score;
    int count = static_cast<int>(h % 3);
    for (int i = 0; i < count; ++i) {
      double part = max_ / 2 * (static_cast<double>((h >> (8 * i)) % 200) / 100.0 - 0.7);
      if (i == 0 && !ctx.prior.empty()) part = std::clamp(from_prior / 4, -max_ / 2, max_ / 2);
      Class hint = static_cast<Class>((h >> (4 + i)) % 5);  // clean, bulk, spam, phishing, malware
      if (hint == Class::Malware && h % 7 != 0) hint = Class::Clean;
      out.push_back({name_ + "_" + std::to_string(i), part,
                     std::to_string(ctx.prior.size()) + " prior, " + ctx.msg.subject, hint});
    }
  }

 private:
  std::string name_;
  bool waits_;
  double max_;
  std::vector<std::string> deps_;
};

class Doubling : public Rescorer {
 public:
  bool active() const override { return true; }
  void rescore(std::vector<Symbol>& s) const override {
    for (auto& x : s) x.score = x.score * 1.5 + 0.25;
  }
};

void add_scored(Engine& e) {
  e.add(std::make_unique<Scored>("antivirus", true, 20, std::vector<std::string>{}));
  e.add(std::make_unique<Scored>("attachments", false, 12, std::vector<std::string>{}));
  e.add(std::make_unique<Scored>("rules", false, 16, std::vector<std::string>{}));
  e.add(std::make_unique<Scored>("heuristics", false, 6, std::vector<std::string>{}));
  e.add(std::make_unique<Scored>("links", true, 10, std::vector<std::string>{"rules"}));
  e.add(std::make_unique<Scored>("phishing", false, 8, std::vector<std::string>{"rules", "heuristics", "links"}));
  e.add(std::make_unique<Scored>("bayes", false, 10, std::vector<std::string>{}));
  e.add(std::make_unique<Scored>("uribl", true, 6, std::vector<std::string>{"phishing"}));
  e.add(std::make_unique<Scored>("auth", false, 10, std::vector<std::string>{}));
}

TEST(ParallelChecks, VerdictsEqualTheSerialRunOverManyMessages) {
  for (bool rescore : {false, true}) {
    Engine serial({5, 15, 1}), parallel({5, 15, 1});
    add_scored(serial);
    add_scored(parallel);
    parallel.set_parallel_checks(3);
    if (rescore) {
      serial.set_rescorer(std::make_shared<Doubling>());
      parallel.set_rescorer(std::make_shared<Doubling>());
    }
    ASSERT_TRUE(serial.finalize());
    ASSERT_TRUE(parallel.finalize());
    ASSERT_EQ(serial.check_names(), parallel.check_names());
    int early = 0, classes[6] = {};
    for (int i = 0; i < 400; ++i) {
      auto msg = message_with("message " + std::to_string(i));
      Envelope env;
      auto a = serial.scan(msg, env);
      auto b = parallel.scan(msg, env);
      ASSERT_EQ(a.to_json().substr(0, a.to_json().find("\"elapsed_us\"")),
                b.to_json().substr(0, b.to_json().find("\"elapsed_us\"")));
      ASSERT_EQ(a.symbols.size(), b.symbols.size()) << i;
      for (size_t k = 0; k < a.symbols.size(); ++k) {  // order, exact scores, details, hints
        EXPECT_EQ(a.symbols[k].name, b.symbols[k].name) << i;
        EXPECT_EQ(a.symbols[k].score, b.symbols[k].score) << i;
        EXPECT_EQ(a.symbols[k].detail, b.symbols[k].detail) << i;
        EXPECT_EQ(a.symbols[k].hint, b.symbols[k].hint) << i;
      }
      EXPECT_EQ(a.score, b.score) << i;
      EXPECT_EQ(a.cls, b.cls) << i;
      EXPECT_EQ(a.complete, b.complete) << i;
      EXPECT_FALSE(b.failed) << b.error;
      early += a.complete ? 0 : 1;
      ++classes[static_cast<int>(a.cls)];
    }
    // The messages exercise what they should: early stops (without rescoring) and several classes.
    if (!rescore) {
      EXPECT_GT(early, 0);
    }
    int distinct = 0;
    for (int c : classes) distinct += c > 0 ? 1 : 0;
    EXPECT_GE(distinct, 3);
  }
}

TEST(ParallelChecks, ConcurrentScansShareThePool) {
  Engine e({5, 15, 1});
  add_scored(e);
  e.set_parallel_checks(2);
  ASSERT_TRUE(e.finalize());
  Engine s({5, 15, 1});
  add_scored(s);
  ASSERT_TRUE(s.finalize());
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        auto msg = message_with("m" + std::to_string(t * 1000 + i));
        auto a = e.scan(msg, {}), b = s.scan(msg, {});
        if (a.symbol_list() != b.symbol_list() || a.cls != b.cls || a.failed) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace mm::scan
