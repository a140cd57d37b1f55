#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "scan/engine.h"
#include "scan/headers.h"

namespace mm::scan {
namespace {

// A check that appends fixed symbols and records what it saw.
class Fixed : public Check {
 public:
  Fixed(std::string name, double score, std::vector<std::string> deps = {}, Class hint = Class::Clean)
      : name_(std::move(name)), score_(score), deps_(std::move(deps)), hint_(hint) {}
  std::string name() const override { return name_; }
  std::vector<std::string> depends_on() const override { return deps_; }
  double max_abs_score() const override { return std::abs(score_); }
  void run(const Context& ctx, std::vector<Symbol>& out) const override {
    seen_prior = ctx.prior.size();
    out.push_back({"SYM_" + name_, score_, "detail of " + name_, hint_});
  }
  mutable std::atomic<size_t> seen_prior{0};  // atomic: ConcurrentScansAgree runs it from 4 threads

 private:
  std::string name_;
  double score_;
  std::vector<std::string> deps_;
  Class hint_;
};

class Throws : public Check {
 public:
  std::string name() const override { return "throws"; }
  double max_abs_score() const override { return 1; }
  void run(const Context&, std::vector<Symbol>&) const override { throw std::runtime_error("boom"); }
};

message::Message empty_message() { return {}; }

TEST(Engine, RunsChecksInDependencyOrderAndSums) {
  Engine e;
  auto* late = new Fixed("late", 1.0, {"early"});
  e.add(std::unique_ptr<Check>(late));
  e.add(std::make_unique<Fixed>("early", 2.5));
  ASSERT_TRUE(e.finalize());
  EXPECT_EQ(e.check_names(), (std::vector<std::string>{"early", "late"}));
  auto msg = empty_message();
  Envelope env;
  auto v = e.scan(msg, env);
  EXPECT_DOUBLE_EQ(v.score, 3.5);
  EXPECT_EQ(late->seen_prior, 1u);  // saw its dependency's symbol
  EXPECT_EQ(v.cls, Class::Clean);
  EXPECT_TRUE(v.complete);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.symbol_list(), "SYM_early(2.50),SYM_late(1.00)");
}

TEST(Engine, RefusesUnknownDependenciesCyclesAndDuplicates) {
  Engine a;
  a.add(std::make_unique<Fixed>("x", 1, std::vector<std::string>{"nope"}));
  EXPECT_NE(a.finalize().message().find("unknown check 'nope'"), std::string::npos);
  Engine b;
  b.add(std::make_unique<Fixed>("x", 1, std::vector<std::string>{"y"}));
  b.add(std::make_unique<Fixed>("y", 1, std::vector<std::string>{"x"}));
  EXPECT_NE(b.finalize().message().find("cycle"), std::string::npos);
  Engine c;
  c.add(std::make_unique<Fixed>("x", 1));
  c.add(std::make_unique<Fixed>("x", 2));
  EXPECT_FALSE(c.finalize());
}

TEST(Engine, StopsEarlyOnlyWhenRejectIsCertain) {
  Engine e({5, 15, 1});
  e.add(std::make_unique<Fixed>("huge", 30));
  auto* after = new Fixed("after", -2);
  e.add(std::unique_ptr<Check>(after));
  ASSERT_TRUE(e.finalize());
  auto msg = empty_message();
  auto v = e.scan(msg, {});
  EXPECT_FALSE(v.complete);
  EXPECT_EQ(v.symbols.size(), 1u);
  EXPECT_EQ(v.cls, Class::Spam);

  Engine f({5, 15, 1});
  f.add(std::make_unique<Fixed>("big", 14));
  f.add(std::make_unique<Fixed>("neg", -3));  // could still pull it under reject: must run
  ASSERT_TRUE(f.finalize());
  auto w = f.scan(msg, {});
  EXPECT_TRUE(w.complete);
  EXPECT_EQ(w.symbols.size(), 2u);
}

TEST(Engine, DeadlineAndExceptionsFailTheScan) {
  Engine e;
  e.add(std::make_unique<Fixed>("a", 1));
  ASSERT_TRUE(e.finalize());
  auto msg = empty_message();
  auto v = e.scan(msg, {}, std::chrono::steady_clock::now() - std::chrono::seconds(1));
  EXPECT_TRUE(v.failed);
  EXPECT_NE(v.error.find("deadline"), std::string::npos);

  Engine t;
  t.add(std::make_unique<Throws>());
  ASSERT_TRUE(t.finalize());
  auto w = t.scan(msg, {});
  EXPECT_TRUE(w.failed);
  EXPECT_NE(w.error.find("boom"), std::string::npos);
}

TEST(Engine, ClassesFromHints) {
  Engine e({5, 15, 1});
  EXPECT_EQ(e.classify(0.2, {{"LIST_UNSUB", 0.1, "", Class::Bulk}, {"ESP", 0.5, "", Class::Bulk}}), Class::Bulk);
  EXPECT_EQ(e.classify(6, {{"LIST_UNSUB", 0.1, "", Class::Bulk}}), Class::Spam);
  EXPECT_EQ(e.classify(7, {{"LOOKALIKE", 4, "", Class::Phishing}}), Class::Phishing);
  EXPECT_EQ(e.classify(7, {{"SHORTENER", 0.5, "", Class::Phishing}}), Class::Spam);  // one weak sign
  EXPECT_EQ(e.classify(2, {{"LOOKALIKE", 2, "", Class::Phishing}}), Class::Clean);
  EXPECT_EQ(e.classify(0, {{"EICAR", 20, "", Class::Malware}}), Class::Malware);
  // Malware wins over everything; what could not be scanned is never spam or clean.
  EXPECT_EQ(e.classify(0, {{"AV_ERROR", 0, "", Class::Unscannable}, {"AV_VIRUS", 20, "", Class::Malware}}),
            Class::Malware);
  EXPECT_EQ(e.classify(8, {{"ATTACH_ENCRYPTED", 0, "", Class::Unscannable}}), Class::Unscannable);
  EXPECT_EQ(e.classify(1, {}), Class::Clean);
}

TEST(Engine, ConcurrentScansAgree) {
  Engine e;
  e.add(std::make_unique<Fixed>("a", 1.25));
  e.add(std::make_unique<Fixed>("b", 2.0, std::vector<std::string>{"a"}));
  ASSERT_TRUE(e.finalize());
  auto msg = empty_message();
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 2000; ++k)
        if (e.scan(msg, {}).score != 3.25) ++bad;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad, 0);
}

Verdict spam_verdict() {
  Verdict v;
  v.score = 7.25;
  v.cls = Class::Spam;
  for (int i = 0; i < 12; ++i) v.symbols.push_back({"SYMBOL_NUMBER_" + std::to_string(i), 0.5, "", Class::Clean});
  v.symbols.push_back({"BAYES_SPAM", 1.25, "p", Class::Clean});
  return v;
}

// Two checks asking the scan's Memo for the same derived data: made once per scan, shared, and
// made afresh for the next scan.
class MemoUser : public Check {
 public:
  MemoUser(std::string name, std::atomic<int>* made) : name_(std::move(name)), made_(made) {}
  std::string name() const override { return name_; }
  double max_abs_score() const override { return 0; }
  void run(const Context& ctx, std::vector<Symbol>& out) const override {
    ASSERT_NE(ctx.memo, nullptr);
    auto v = ctx.memo->get<std::vector<int>>("shared", [&] {
      ++*made_;
      return std::vector<int>{1, 2, 3};
    });
    auto other = ctx.memo->get<std::string>("shared", [] { return std::string("same key, other type"); });
    out.push_back({"SEEN_" + name_, 0, std::to_string(v->size()) + " " + *other});
    addresses.push_back(v.get());
  }
  mutable std::vector<const void*> addresses;

 private:
  std::string name_;
  std::atomic<int>* made_;
};

TEST(Engine, MemoSharesDerivedDataWithinOneScan) {
  std::atomic<int> made{0};
  Engine e;
  auto* a = new MemoUser("a", &made);
  auto* b = new MemoUser("b", &made);
  e.add(std::unique_ptr<Check>(a));
  e.add(std::unique_ptr<Check>(b));
  ASSERT_TRUE(e.finalize());
  auto msg = empty_message();
  Envelope env;
  auto v = e.scan(msg, env);
  EXPECT_EQ(made.load(), 1);
  ASSERT_EQ(a->addresses.size(), 1u);
  ASSERT_EQ(b->addresses.size(), 1u);
  EXPECT_EQ(a->addresses[0], b->addresses[0]);
  ASSERT_EQ(v.symbols.size(), 2u);
  EXPECT_EQ(v.symbols[1].detail, "3 same key, other type");
  (void)e.scan(msg, env);
  EXPECT_EQ(made.load(), 2);  // nothing carried over between scans
}

TEST(VerdictHeaders, AddsHeadersStripsForgeriesTagsSubjectOnce) {
  std::string raw =
      "Received: from x\r\n\tby y; date\r\n"
      "X-Spam-Flag: NO\r\n"
      "x-spam-status: No, score=-100\r\n\tcontinued forged line\r\n"
      "X-Mailmoat-Verdict: clean\r\n"
      "Subject: buy now\r\n"
      "From: a@b\r\n"
      "\r\n"
      "X-Spam-Flag: NO in the body stays\r\n";
  auto out = apply_verdict(raw, spam_verdict(), {5, 15, 1}, "mx.test", "[SPAM]");
  EXPECT_EQ(out.rfind("X-Mailmoat-Verdict: spam; score=7.25; host=mx.test\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("X-Spam-Flag: YES\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Spam-Status: Yes, score=7.2 required=5.0 tests=SYMBOL_NUMBER_0,"), std::string::npos);
  EXPECT_EQ(out.find("X-Spam-Flag: NO\r\n"), std::string::npos);
  EXPECT_EQ(out.find("score=-100"), std::string::npos);
  EXPECT_EQ(out.find("continued forged line"), std::string::npos);
  EXPECT_EQ(out.find("X-Mailmoat-Verdict: clean"), std::string::npos);
  EXPECT_NE(out.find("Subject: [SPAM] buy now\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\nX-Spam-Flag: NO in the body stays\r\n"), std::string::npos);
  // Header lines stay short (folded).
  size_t start = 0, hdr_end = out.find("\r\n\r\n");
  while (start < hdr_end) {
    size_t nl = out.find("\r\n", start);
    EXPECT_LE(nl - start, 78u) << out.substr(start, nl - start);
    start = nl + 2;
  }
  // Tagging twice does not stack tags.
  auto again = apply_verdict(out, spam_verdict(), {5, 15, 1}, "mx.test", "[SPAM]");
  EXPECT_NE(again.find("Subject: [SPAM] buy now\r\n"), std::string::npos);
  EXPECT_EQ(again.find("[SPAM] [SPAM]"), std::string::npos);
}

TEST(VerdictHeaders, AddsSubjectWhenMissingAndKeepsCleanMailUntagged) {
  std::string raw = "From: a@b\r\n\r\nbody\r\n";
  auto out = apply_verdict(raw, spam_verdict(), {5, 15, 1}, "mx", "[SPAM]");
  EXPECT_NE(out.find("From: a@b\r\nSubject: [SPAM]\r\n\r\nbody\r\n"), std::string::npos) << out;
  Verdict clean;
  auto c = apply_verdict("Subject: hi\r\n\r\nx", clean, {5, 15, 1}, "mx", "");
  EXPECT_NE(c.find("X-Spam-Flag: NO\r\n"), std::string::npos);
  EXPECT_NE(c.find("X-Spam-Status: No, score=0.0 required=5.0 tests=none\r\n"), std::string::npos);
  EXPECT_NE(c.find("Subject: hi\r\n\r\nx"), std::string::npos);
}

}  // namespace
}  // namespace mm::scan
