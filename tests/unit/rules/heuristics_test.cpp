#include <gtest/gtest.h>

#include <algorithm>

#include "rules/heuristics.h"
#include "test_message.h"

namespace mm::rules {
namespace {

using test::MessageBuilder;

constexpr int64_t kNow = 1'700'000'000;  // the ordinary() message's Date

std::vector<scan::Symbol> run(const message::Message& m, bool check_dates = true) {
  HeuristicsOptions opt;
  opt.now = [] { return kNow; };
  opt.check_dates = check_dates;
  HeuristicsCheck check(opt);
  scan::Envelope env;
  std::vector<scan::Symbol> prior, out;
  check.run({m, env, prior}, out);
  return out;
}

const scan::Symbol* find(const std::vector<scan::Symbol>& v, const std::string& name) {
  for (const auto& s : v)
    if (s.name == name) return &s;
  return nullptr;
}

std::string names(const std::vector<scan::Symbol>& v) {
  std::string s;
  for (const auto& x : v) s += x.name + "(" + x.detail + ") ";
  return s;
}

TEST(Heuristics, OrdinaryMessageIsQuiet) {
  auto b = MessageBuilder::ordinary();
  b.text("Hi Bob,\n\nHere are the notes from Tuesday. The next meeting is on the 21st.\n\nAlice");
  b.html("<p>Hi Bob, see <a href=\"https://docs.example.org/notes\">docs.example.org/notes</a></p>",
         "Hi Bob, see docs.example.org/notes");
  b.link("https://docs.example.org/notes", "docs.example.org/notes");
  b.link("https://www.example.org/", "Read more.");
  auto out = run(b.m);
  EXPECT_TRUE(out.empty()) << names(out);
  HeuristicsCheck check;
  EXPECT_EQ(check.name(), "heuristics");
  EXPECT_GT(check.max_abs_score(), 10);
}

TEST(Heuristics, HostHelpers) {
  EXPECT_EQ(registrable_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registrable_domain("WWW.Example.COM"), "example.com");
  EXPECT_EQ(registrable_domain("10.0.0.1"), "10.0.0.1");
  EXPECT_TRUE(is_ip_literal("192.168.0.1"));
  EXPECT_TRUE(is_ip_literal("3232235521"));
  EXPECT_TRUE(is_ip_literal("0x7f.0.0.1"));
  EXPECT_TRUE(is_ip_literal("[2001:db8::1]"));
  EXPECT_FALSE(is_ip_literal("1.2.3.example"));
  EXPECT_FALSE(is_ip_literal("example.com"));
}

TEST(Heuristics, LinkHeavyMail) {
  auto b = MessageBuilder::ordinary();
  b.html("...", "Verify now");
  b.m.forms.push_back("http://203.0.113.7/collect.php");
  b.link("http://203.0.113.7/verify", "Verify");
  b.link("http://203.0.113.7/unsub", "Unsubscribe");
  b.link("http://203.0.113.7/privacy", "Privacy");
  auto out = run(b.m);
  // HTML_FORM and URI_IP_LITERAL: tests/unit/phish and tests/unit/links.
  EXPECT_TRUE(find(out, "LINKS_LITTLE_TEXT"));
  auto many = MessageBuilder::ordinary();
  many.text(std::string(5000, 'a'));
  for (int i = 0; i < 45; ++i) many.link("https://shop.example/p" + std::to_string(i));
  EXPECT_TRUE(find(run(many.m), "LINKS_MANY"));
}

TEST(Heuristics, HiddenText) {
  auto b = MessageBuilder::ordinary();
  std::string hidden;
  for (int i = 0; i < 40; ++i) hidden += "weather garden holiday recipe ";
  b.html("...", "Cheap meds online, click below to order now.", hidden);
  auto out = run(b.m);
  auto* s = find(out, "HIDDEN_TEXT_LARGE");
  ASSERT_TRUE(s) << names(out);
  EXPECT_NE(s->detail.find("hidden characters"), std::string::npos);
  EXPECT_FALSE(find(out, "HIDDEN_TEXT"));
  auto small = MessageBuilder::ordinary();
  small.html("...", std::string(2000, 'x'), "a preheader text that is hidden on purpose, which is fine: it is what the inbox list shows first. "
                                          "But a lot of it gets a small score.");
  auto out2 = run(small.m);
  EXPECT_TRUE(find(out2, "HIDDEN_TEXT")) << names(out2);
  EXPECT_FALSE(find(out2, "HIDDEN_TEXT_LARGE"));
}

TEST(Heuristics, DateAndMessageId) {
  message::Message bare;
  bare.text = "hello there";
  bare.has_plain = true;
  auto out = run(bare);
  EXPECT_TRUE(find(out, "DATE_MISSING")) << names(out);
  EXPECT_TRUE(find(out, "MSGID_MISSING"));

  auto future = MessageBuilder::ordinary(kNow + 10 * 86400);
  future.text("hi");
  EXPECT_EQ(find(run(future.m), "DATE_IN_FUTURE")->detail, "10 days ahead");
  auto past = MessageBuilder::ordinary(kNow - 400 * 86400);
  past.text("hi");
  EXPECT_TRUE(find(run(past.m), "DATE_IN_PAST"));
  // [scan] date_checks = false (replayed corpora): no clock comparison, but a missing or
  // malformed Date still counts.
  EXPECT_FALSE(find(run(past.m, false), "DATE_IN_PAST"));
  EXPECT_FALSE(find(run(future.m, false), "DATE_IN_FUTURE"));
  EXPECT_TRUE(find(run(bare, false), "DATE_MISSING"));
  auto recent = MessageBuilder::ordinary(kNow - 3600);
  recent.text("hi");
  EXPECT_TRUE(run(recent.m).empty()) << names(run(recent.m));

  MessageBuilder bad;
  bad.from("", "a@example.org");
  bad.header("Date", "Someday soon");
  bad.header("Message-ID", "no-brackets-here");
  bad.text("hi");
  auto out3 = run(bad.m);
  EXPECT_TRUE(find(out3, "DATE_MALFORMED")) << names(out3);
  EXPECT_TRUE(find(out3, "MSGID_MALFORMED"));
}

TEST(Heuristics, FromNameWithAnotherAddress) {
  auto b = MessageBuilder::ordinary();
  b.m.headers.erase(b.m.headers.begin());
  b.from("support@paypal.com", "x9@mailer.evil.example");
  b.text("hi");
  auto out = run(b.m);
  ASSERT_TRUE(find(out, "FROM_NAME_HAS_ADDRESS")) << names(out);
  EXPECT_EQ(find(out, "FROM_NAME_HAS_ADDRESS")->detail, "name shows support@paypal.com, sent from x9@mailer.evil.example");
  auto same = MessageBuilder::ordinary();
  same.m.from.display = "Alice@Example.org";
  same.text("hi");
  EXPECT_FALSE(find(run(same.m), "FROM_NAME_HAS_ADDRESS"));
  // Another mailbox of the sender's own organisation is no disguise; a look-alike domain is.
  auto own = MessageBuilder::ordinary();
  own.m.headers.erase(own.m.headers.begin());
  own.from("News-Desk@shop.example.com", "bounce-77@mail.example.com");
  own.text("hi");
  EXPECT_FALSE(find(run(own.m), "FROM_NAME_HAS_ADDRESS")) << names(run(own.m));
  auto near = MessageBuilder::ordinary();
  near.m.headers.erase(near.m.headers.begin());
  near.from("news@example.com.evil.example", "bounce@example.com");
  near.text("hi");
  EXPECT_TRUE(find(run(near.m), "FROM_NAME_HAS_ADDRESS")) << names(run(near.m));
}

TEST(Heuristics, CapitalsScriptsAndZeroWidth) {
  auto b = MessageBuilder::ordinary();
  b.m.subject = "URGENT ACTION REQUIRED ON YOUR ACCOUNT";
  std::string shout;
  for (int i = 0; i < 20; ++i) shout += "CLAIM YOUR FREE PRIZE NOW ";
  b.text(shout + "ok\xE2\x80\x8B\xE2\x80\x8B\xE2\x80\x8B" "done");
  auto out = run(b.m);
  EXPECT_TRUE(find(out, "SUBJECT_CAPS")) << names(out);
  EXPECT_TRUE(find(out, "BODY_CAPS"));
  EXPECT_TRUE(find(out, "TEXT_ZERO_WIDTH"));

  auto homoglyph = MessageBuilder::ordinary();
  homoglyph.m.subject = "Your P\xD0\xB0yPal account";  // Cyrillic а
  homoglyph.text("hello");
  auto out2 = run(homoglyph.m);
  ASSERT_TRUE(find(out2, "SUBJECT_MIXED_SCRIPT")) << names(out2);
  EXPECT_NE(find(out2, "SUBJECT_MIXED_SCRIPT")->detail.find("P\xD0\xB0yPal"), std::string::npos);

  auto russian = MessageBuilder::ordinary();
  russian.m.subject = "Счёт за март";  // all Cyrillic: not mixed, not flagged
  russian.text("hello");
  EXPECT_TRUE(run(russian.m).empty()) << names(run(russian.m));
}

TEST(Heuristics, EmptyBodyWithAttachmentAndImageOnly) {
  auto b = MessageBuilder::ordinary();
  b.text("  \n");
  b.attachment("invoice.zip", "application/zip");
  auto out = run(b.m);
  ASSERT_TRUE(find(out, "EMPTY_BODY_ATTACHMENT")) << names(out);
  EXPECT_EQ(find(out, "EMPTY_BODY_ATTACHMENT")->detail, "no text, attachment invoice.zip");

  auto img = MessageBuilder::ordinary();
  img.html("<a href=\"https://shop.example/\"><img src=\"https://cdn.example/offer.png\"></a>", "");
  img.m.images.push_back("https://cdn.example/offer.png");
  auto out2 = run(img.m);
  EXPECT_TRUE(find(out2, "HTML_IMAGE_ONLY")) << names(out2);
  EXPECT_TRUE(find(out2, "HTML_ONLY"));
}

}  // namespace
}  // namespace mm::rules
