#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "rules/rule_set.h"
#include "rules/rules_check.h"
#include "test_message.h"

namespace mm::rules {
namespace {

using test::MessageBuilder;

std::shared_ptr<const RuleSet> load(const std::string& text) {
  auto r = RuleSet::load_string(text, "t.rules");
  EXPECT_TRUE(r) << r.error();
  return r ? *r : nullptr;
}

std::vector<std::string> hit_names(const RuleSet& rs, const message::Message& m) {
  std::vector<std::string> out;
  for (size_t i : rs.hits(m)) out.push_back(rs.rules()[i].name);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const char* kTargets = R"(
rule SUBJ_FREE
  header Subject =~ /\bfree\b/i
  score 1
rule SUBJ_RAW_B64
  header Subject:raw =~ /=\?utf-8\?b\?/i
  score 0.5
rule RCVD_ANY
  header ALL =~ /^Received: from unknown/m
  score 1
rule HAS_LIST_ID
  header List-Id exists
  score -0.1
  class bulk
rule NO_MSGID
  header Message-ID missing
  score 1
rule BODY_WIN
  body =~ /you (have )?won/i
  score 2
rule RAW_FONT
  rawbody =~ /<font[^>]+size="?1"?/i
  score 1
rule URI_LOGIN
  uri =~ /\/login\.php/
  score 1.5
rule URI_NO_HTTPS
  uri !~ /^https:/
  score 0.1
rule BODY_NEVER
  body =~ /quantum marmalade/
  score 9
)";

TEST(RuleSet, EachTargetKindMatches) {
  auto rs = load(kTargets);
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->stats().pcre2, 0u);
  auto b = MessageBuilder::ordinary();
  b.raw_header("Subject", "=?UTF-8?B?RnJlZSBnaWZ0?=", "Free gift");
  b.m.subject = "Free gift";
  b.header("Received", "from unknown (1.2.3.4) by mx");
  b.header("List-Id", "<news.example.org>");
  b.text("Congratulations, you have WON a prize!");
  b.html("<p><font size=\"1\">tiny</font></p>", "tiny");
  b.link("https://bank.example/login.php");
  auto hits = hit_names(*rs, b.m);
  for (auto* name : {"SUBJ_FREE", "SUBJ_RAW_B64", "RCVD_ANY", "HAS_LIST_ID", "BODY_WIN", "RAW_FONT", "URI_LOGIN"})
    EXPECT_TRUE(has(hits, name)) << name;
  EXPECT_FALSE(has(hits, "NO_MSGID"));     // ordinary() has one
  EXPECT_FALSE(has(hits, "URI_NO_HTTPS"));  // every link is https
  EXPECT_FALSE(has(hits, "BODY_NEVER"));    // must not match
}

TEST(RuleSet, NothingMatchesAPlainMessage) {
  auto rs = load(kTargets);
  auto b = MessageBuilder::ordinary();
  b.text("See you at lunch.");
  b.link("http://example.org/agenda");
  auto hits = hit_names(*rs, b.m);
  EXPECT_EQ(hits, std::vector<std::string>{"URI_NO_HTTPS"});
  // "!~" is "not =~": a uri !~ rule hits when no link matches, also when there are no links.
  message::Message empty;
  EXPECT_EQ(hit_names(*rs, empty), (std::vector<std::string>{"NO_MSGID", "URI_NO_HTTPS"}));
}

TEST(RuleSet, MetaRulesCombineAndCount) {
  auto rs = load(R"(
rule __A
  body =~ /alpha/
rule __B
  body =~ /beta/
rule __C
  body =~ /gamma/
rule AND_NOT
  meta __A && !__C
  score 1
rule TWO_OF_THREE
  meta (__A + __B + __C) >= 2
  score 1
rule NESTED
  meta TWO_OF_THREE || (__C && __B)
  score 1
)");
  ASSERT_TRUE(rs);
  auto run = [&](const std::string& text) {
    auto b = MessageBuilder::ordinary();
    b.text(text);
    return hit_names(*rs, b.m);
  };
  EXPECT_EQ(run("alpha"), (std::vector<std::string>{"AND_NOT"}));
  EXPECT_EQ(run("alpha beta"), (std::vector<std::string>{"AND_NOT", "TWO_OF_THREE", "NESTED"}));
  EXPECT_EQ(run("alpha gamma"), (std::vector<std::string>{"TWO_OF_THREE", "NESTED"}));
  EXPECT_EQ(run("beta"), std::vector<std::string>{});
  // Sub-rules are evaluated but never emitted.
  auto b = MessageBuilder::ordinary();
  b.text("alpha");
  auto all = rs->match(b.m);
  EXPECT_TRUE(all[static_cast<size_t>(rs->find("__A"))]);
}

TEST(RuleSet, LookaroundFallsBackToPcre2) {
  auto rs = load(R"(
rule PAYPAL_NOT_PAYPAL
  body =~ /paypal(?!\.com)/i
  score 2
rule REPEATED_WORD
  body =~ /\b(\w+) \1 \1\b/
  score 1
rule PLAIN
  body =~ /account/
  score 1
)");
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->stats().pcre2, 2u);
  EXPECT_EQ(rs->stats().hyperscan, 1u);
  EXPECT_EQ(rs->rules()[0].engine, Engine::Pcre2);
  EXPECT_FALSE(rs->rules()[0].fallback_reason.empty());
  auto run = [&](const std::string& text) {
    auto b = MessageBuilder::ordinary();
    b.text(text);
    return hit_names(*rs, b.m);
  };
  EXPECT_EQ(run("log in at PayPal-secure.example to keep your account"),
            (std::vector<std::string>{"PAYPAL_NOT_PAYPAL", "PLAIN"}));
  EXPECT_EQ(run("log in at paypal.com"), std::vector<std::string>{});
  EXPECT_EQ(run("buy buy buy now"), std::vector<std::string>{"REPEATED_WORD"});
}

TEST(RuleSet, CaseFlags) {
  auto rs = load(R"(
rule EXACT
  body =~ /Viagra/
  score 1
rule BY_SUFFIX
  body =~ /cialis/i
  score 1
rule BY_TFLAGS
  body =~ /levitra/
  tflags nocase
  score 1
rule UNICODE
  body =~ /\bсчёт\b/iu
  score 1
)");
  ASSERT_TRUE(rs);
  auto run = [&](const std::string& text) {
    auto b = MessageBuilder::ordinary();
    b.text(text);
    return hit_names(*rs, b.m);
  };
  EXPECT_EQ(run("VIAGRA CIALIS LEVITRA"), (std::vector<std::string>{"BY_SUFFIX", "BY_TFLAGS"}));
  EXPECT_EQ(run("Viagra"), std::vector<std::string>{"EXACT"});
  EXPECT_EQ(run("Ваш СЧЁТ готов"), std::vector<std::string>{"UNICODE"});
  EXPECT_EQ(run("bad utf-8 \xff\xfe счёт"), std::vector<std::string>{"UNICODE"});  // sanitized, still scanned
}

TEST(RulesCheck, EmitsOneSymbolPerHit) {
  auto rs = load(R"(
rule BULK_LIST_UNSUB
  header List-Unsubscribe exists
  score 0.2
  class bulk
  describe Has a List-Unsubscribe header
rule BODY_WIN
  body =~ /you won/i
  score 2
)");
  RulesCheck check(rs);
  EXPECT_EQ(check.name(), "rules");
  EXPECT_DOUBLE_EQ(check.max_abs_score(), 2.2);
  auto b = MessageBuilder::ordinary();
  b.header("List-Unsubscribe", "<mailto:u@example.org>");
  b.text("You won!");
  scan::Envelope env;
  std::vector<scan::Symbol> prior, out;
  check.run({b.m, env, prior}, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "BULK_LIST_UNSUB");
  EXPECT_EQ(out[0].detail, "Has a List-Unsubscribe header");
  EXPECT_EQ(out[0].hint, scan::Class::Bulk);
  EXPECT_EQ(out[1].name, "BODY_WIN");
  EXPECT_EQ(out[1].detail, "BODY_WIN");  // describe defaults to the name
  EXPECT_DOUBLE_EQ(out[1].score, 2);
}

TEST(RuleSet, ConcurrentScansFromThreads) {
  auto rs = load(std::string(kTargets) + R"(
rule LOOKAHEAD
  body =~ /won(?= a prize)/
  score 1
)");
  ASSERT_TRUE(rs);
  auto spam = MessageBuilder::ordinary();
  spam.text("you won a prize");
  spam.link("https://x.example/login.php");
  auto ham = MessageBuilder::ordinary();
  ham.text("lunch at noon");
  ham.link("https://x.example/menu");
  auto want_spam = hit_names(*rs, spam.m);
  auto want_ham = hit_names(*rs, ham.m);
  ASSERT_EQ(want_spam, (std::vector<std::string>{"BODY_WIN", "URI_LOGIN", "LOOKAHEAD"}));
  // A second rule set used by the same threads forces scratch re-cloning.
  auto other = load("rule OTHER\n  body =~ /lunch/\n  score 1\n");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        if (hit_names(*rs, (i + t) % 2 ? spam.m : ham.m) != ((i + t) % 2 ? want_spam : want_ham)) ++bad;
        if (i % 50 == 0 && hit_names(*other, ham.m) != std::vector<std::string>{"OTHER"}) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(RuleSet, ReplacingTheRuleSetOfACheck) {
  RulesCheck check(load("rule OLD\n  body =~ /x/\n  score 1\n"));
  check.replace(load("rule NEW\n  body =~ /x/\n  score 3\n"));
  EXPECT_DOUBLE_EQ(check.max_abs_score(), 3);
  EXPECT_EQ(check.rule_set()->rules()[0].name, "NEW");
}

// Prints (does not assert) the scan speed of 300 phrase rules + 5 PCRE2 fall-backs on synthetic text.
TEST(RuleSetSpeed, Measure) {
  std::mt19937 rng(42);
  const char* words[] = {"account", "verify", "money", "offer", "click", "winner", "urgent", "free", "bank",
                         "password", "invoice", "delivery", "meeting", "project", "report", "update", "team",
                         "schedule", "price", "order", "shipping", "limited", "secure", "login", "bonus"};
  auto word = [&] { return std::string(words[rng() % std::size(words)]); };
  std::string rules;
  for (int i = 0; i < 300; ++i)
    rules += "rule R" + std::to_string(i) + "\n  body =~ /\\b" + word() + "\\s+" + word() + "\\s+(?:now|today|" +
             std::to_string(i) + ")\\b/i\n  score 0.1\n";
  for (int i = 0; i < 5; ++i)
    rules += "rule P" + std::to_string(i) + "\n  body =~ /" + word() + "(?!\\s+" + word() + ")\\s+" +
             std::to_string(i) + "/\n  score 0.1\n";
  auto t0 = std::chrono::steady_clock::now();
  auto rs = load(rules);
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(rs);
  // Ordinary prose: mostly other words, some rule words.
  std::string text;
  auto filler = [&] {
    std::string w;
    for (int n = 3 + static_cast<int>(rng() % 6); n > 0; --n) w += static_cast<char>('a' + rng() % 26);
    return w;
  };
  while (text.size() < (64 << 10)) text += (rng() % 8 == 0 ? word() : filler()) + (rng() % 12 == 0 ? ".\n" : " ");
  auto b = MessageBuilder::ordinary();
  b.text(text);
  int iters = 200;
  size_t total_hits = 0;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) total_hits += rs->hits(b.m).size();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ speed    ] %zu rules (%zu Hyperscan in %zu DB of %zu KB, %zu PCRE2): load %.1f ms; "
              "64 KB body x %d: %.1f MB/s, %.0f msg/s, %zu hits/msg\n",
              rs->stats().rules, rs->stats().hyperscan, rs->stats().databases, rs->stats().database_bytes >> 10,
              rs->stats().pcre2, load_ms, iters, iters * text.size() / s / 1e6, iters / s, total_hits / iters);
  // Hyperscan alone (no fall-backs).
  std::string hs_only;
  for (size_t p = 0; p < rules.size();) {
    size_t next = rules.find("rule P", p);
    hs_only += rules.substr(p, next == std::string::npos ? std::string::npos : next - p);
    break;
  }
  auto rs2 = load(hs_only);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) total_hits += rs2->hits(b.m).size();
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ speed    ] Hyperscan only (%zu rules): %.1f MB/s\n", rs2->stats().rules, iters * text.size() / s / 1e6);
}

}  // namespace
}  // namespace mm::rules
