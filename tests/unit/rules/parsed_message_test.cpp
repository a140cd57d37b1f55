// End to end through the real parser (mm_message): raw bytes -> Message -> rules + heuristics.
#include <gtest/gtest.h>

#include "message/message.h"
#include "rules/heuristics.h"
#include "rules/rule_set.h"
#include "rules/rules_check.h"

namespace mm::rules {
namespace {

const char* kPhish =
    "From: \"service@paypal.com\" <alerts@secure-mail.example.top>\r\n"
    "To: victim@example.org\r\n"
    "Subject: =?UTF-8?B?WW91ciBhY2NvdW50IGhhcyBiZWVuIHN1c3BlbmRlZA==?=\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <abc123@secure-mail.example.top>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<html><body><p>Dear Customer,</p>\r\n"
    "<p>Your account has been suspended. Verify your account within 24 hours at\r\n"
    "<a href=\"http://203.0.113.5/paypal/login.php\">https://www.paypal.com/signin</a></p>\r\n"
    "<div style=\"display:none\">lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit</div>\r\n"
    "</body></html>\r\n";

TEST(ParsedMessage, PhishThroughTheParser) {
  auto msg = message::parse(std::make_shared<const std::string>(kPhish));
  ASSERT_TRUE(msg);
  auto rs = RuleSet::load_dir(MM_RULES_DIR);
  ASSERT_TRUE(rs) << rs.error();
  RulesCheck rules(*rs);
  HeuristicsOptions opt;
  opt.now = [] { return int64_t{1'700'000'000}; };
  HeuristicsCheck heur(opt);
  scan::Envelope env;
  std::vector<scan::Symbol> prior, out;
  rules.run({*msg, env, prior}, out);
  heur.run({*msg, env, prior}, out);
  std::string all;
  for (auto& s : out) all += s.name + "(" + s.detail + ") ";
  for (auto* n : {"SUBJ_ACCOUNT_ALERT", "BODY_ACCOUNT_SUSPENDED", "BODY_VERIFY_ACCOUNT", "PHISH_CREDENTIAL_LURE",
                  "BODY_DEAR_GENERIC", "URI_LOGIN_PAGE", "URI_BRAND_NOT_HOST", "HTML_ONLY", "FROM_NAME_HAS_ADDRESS"})
    EXPECT_NE(all.find(std::string(n) + "("), std::string::npos) << n << " missing in: " << all;
  EXPECT_NE(all.find("HIDDEN_TEXT"), std::string::npos) << all;
}

}  // namespace
}  // namespace mm::rules
