#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "rules/rule_set.h"

namespace mm::rules {
namespace {

std::string load_error(const std::string& text) {
  auto r = RuleSet::load_string(text, "t.rules");
  EXPECT_FALSE(r) << "expected an error for:\n" << text;
  return r ? "" : r.error();
}

TEST(RuleParser, LoadsAWellFormedRule) {
  auto r = RuleSet::load_string(R"(
# a comment
rule SUBJ_MONEY
  header Subject =~ /\b(FREE|CASH)\b/i
  score 1.5
  describe Subject shouts about money
  class spam
)");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ((*r)->rules().size(), 1u);
  const auto& rule = (*r)->rules()[0];
  EXPECT_EQ(rule.name, "SUBJ_MONEY");
  EXPECT_EQ(rule.target, Target::Header);
  EXPECT_EQ(rule.header, "Subject");
  EXPECT_DOUBLE_EQ(rule.score, 1.5);
  EXPECT_EQ(rule.describe, "Subject shouts about money");
  EXPECT_EQ(rule.hint, scan::Class::Spam);
  EXPECT_EQ(rule.line, 3);
  EXPECT_EQ(rule.engine, Engine::Hyperscan);
}

TEST(RuleParser, BadRegexGivesFileAndLine) {
  auto e = load_error("rule A\n  score 1\n\n  body =~ /(unclosed/\n");
  EXPECT_NE(e.find("t.rules:4: bad regex in A"), std::string::npos) << e;
}

TEST(RuleParser, UnknownTargetGivesFileAndLine) {
  auto e = load_error("rule A\n  bodyy =~ /x/\n  score 1\n");
  EXPECT_NE(e.find("t.rules:2: unknown directive 'bodyy'"), std::string::npos) << e;
}

TEST(RuleParser, DuplicateNameGivesBothPlaces) {
  auto e = load_error("rule A\n  body =~ /x/\n  score 1\nrule A\n  body =~ /y/\n  score 1\n");
  EXPECT_NE(e.find("t.rules:4: duplicate rule A (first defined at t.rules:1)"), std::string::npos) << e;
}

TEST(RuleParser, OtherErrors) {
  EXPECT_NE(load_error("rule A\n  body =~ /x/\n").find("t.rules:1: rule A has no score"), std::string::npos);
  EXPECT_NE(load_error("rule A\n  score 1\n").find("t.rules:1: rule A has no test"), std::string::npos);
  EXPECT_NE(load_error("rule a_lower\n  body =~ /x/\n  score 1\n").find("t.rules:1: bad rule name"), std::string::npos);
  EXPECT_NE(load_error("  body =~ /x/\n").find("t.rules:1: 'body' outside a rule"), std::string::npos);
  EXPECT_NE(load_error("rule A\n  body =~ /x/q\n  score 1\n").find("t.rules:2: unknown regex flag 'q'"),
            std::string::npos);
  EXPECT_NE(load_error("rule A\n  body =~ /x/\n  uri =~ /y/\n  score 1\n").find("t.rules:3: rule A already has a test"),
            std::string::npos);
  EXPECT_NE(load_error("rule A\n  body =~ /x/\n  score lots\n").find("t.rules:3: score must be"), std::string::npos);
  EXPECT_NE(load_error("rule A\n  meta B && C\n  score 1\nrule B\n  body =~ /b/\n  score 1\n")
                .find("t.rules:2: meta of A names unknown rule C"),
            std::string::npos);
  EXPECT_NE(load_error("rule A\n  meta (B && \n  score 1\n").find("t.rules:2: bad meta expression"), std::string::npos);
  EXPECT_NE(load_error("rule A\n  meta B\n  score 1\nrule B\n  meta A\n  score 1\n").find("meta cycle"),
            std::string::npos);
  EXPECT_NE(load_error("rule A\n  body =~ /x/\n  score 1\n  class ham\n").find("t.rules:4: unknown class 'ham'"),
            std::string::npos);
  EXPECT_NE(load_error("rule A\n  body =~ /x/\n  score 1\n  tflags loud\n").find("t.rules:4: unknown tflag 'loud'"),
            std::string::npos);
}

TEST(RuleParser, ReportsEveryErrorNotJustTheFirst) {
  auto e = load_error("rule A\n  bodyy =~ /x/\n  score 1\nrule B\n  body =~ /(/\n  score 1\n");
  EXPECT_NE(e.find("t.rules:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.rules:5:"), std::string::npos) << e;
}

TEST(RuleParser, AllOrNothingAcrossFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("mm_rules_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.rules") << "rule GOOD_ONE\n  body =~ /hello/\n  score 1\n";
  std::ofstream(dir / "b.rules") << "rule GOOD_TWO\n  body =~ /world/\n  score 1\nrule BAD\n  body =~ /[z-a]/\n  score 1\n";
  std::ofstream(dir / "ignored.txt") << "not a rule file";
  auto r = RuleSet::load_dir(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find((dir / "b.rules").string() + ":5: bad regex in BAD"), std::string::npos) << r.error();
  // Fixed: both files load, the .txt is not read.
  std::ofstream(dir / "b.rules") << "rule GOOD_TWO\n  body =~ /world/\n  score 1\n";
  auto ok = RuleSet::load_dir(dir);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ((*ok)->rules().size(), 2u);
  EXPECT_EQ((*ok)->stats().files, 2u);
  // A duplicate across files is an error too.
  std::ofstream(dir / "c.rules") << "rule GOOD_ONE\n  body =~ /again/\n  score 1\n";
  auto dup = RuleSet::load_dir(dir);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().find("c.rules:1: duplicate rule GOOD_ONE (first defined at " + (dir / "a.rules").string() + ":1)"),
            std::string::npos)
      << dup.error();
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(RuleSet::load_dir(dir));
}

}  // namespace
}  // namespace mm::rules
