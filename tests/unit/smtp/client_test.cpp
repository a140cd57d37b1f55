#include "smtp/client.h"

#include <gtest/gtest.h>

using namespace mm::smtp;

TEST(ReplyParser, SingleAndMultiLineSplitAcrossFeeds) {
  std::string wire = "220 mx ESMTP\r\n250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n250 2.1.0 Ok\r\n";
  for (size_t split = 0; split <= wire.size(); ++split) {
    ReplyParser p;
    std::vector<Reply> got;
    p.feed(wire.substr(0, split));
    while (auto r = p.next()) got.push_back(*r);
    p.feed(wire.substr(split));
    while (auto r = p.next()) got.push_back(*r);
    ASSERT_EQ(got.size(), 3u) << split;
    EXPECT_EQ(got[0].code, 220);
    EXPECT_EQ(got[0].text, "mx ESMTP");
    EXPECT_EQ(got[1].code, 250);
    EXPECT_EQ(got[1].text, "mx.example\nPIPELINING\nSIZE 1000");
    EXPECT_EQ(got[1].enhanced, "");
    EXPECT_EQ(got[2].enhanced, "2.1.0");
    EXPECT_EQ(got[2].text, "Ok");
  }
}

TEST(ReplyParser, EnhancedCodes) {
  ReplyParser p;
  p.feed("550-5.7.1 first\r\n550 5.7.1 second\r\n451 4.3.0\r\n250 2.0.0.1 not enhanced\r\n");
  p.feed("550 2.0.0 wrong class\r\n354 End data\n");
  auto a = p.next();
  EXPECT_EQ(a->code, 550);
  EXPECT_EQ(a->enhanced, "5.7.1");
  EXPECT_EQ(a->text, "first\nsecond");
  auto b = p.next();
  EXPECT_EQ(b->enhanced, "4.3.0");
  EXPECT_EQ(b->text, "");
  EXPECT_EQ(p.next()->enhanced, "");
  EXPECT_EQ(p.next()->enhanced, "");
  auto e = p.next();
  EXPECT_EQ(e->code, 354);
  EXPECT_EQ(e->text, "End data");
  EXPECT_FALSE(p.next());
}

TEST(ReplyParser, Malformed) {
  ReplyParser p;
  p.feed("hello\r\n25x oops\r\n250-a\r\n251 b\r\n2500 x\r\n250\r\n");
  EXPECT_EQ(p.next()->code, 0);
  EXPECT_EQ(p.next()->code, 0);
  EXPECT_EQ(p.next()->code, 0);  // mixed codes
  EXPECT_EQ(p.next()->code, 0);
  auto ok = p.next();
  EXPECT_EQ(ok->code, 250);
  EXPECT_EQ(ok->text, "");
  p.feed(std::string(70000, 'x'));
  EXPECT_EQ(p.next()->code, 0);
  EXPECT_FALSE(p.next());
}

TEST(ReplyParser, RoundTripsFormatReply) {
  Reply r{550, "5.7.1", "one\ntwo\nthree", false};
  ReplyParser p;
  p.feed(format_reply(r));
  auto got = p.next();
  EXPECT_EQ(got->code, r.code);
  EXPECT_EQ(got->enhanced, r.enhanced);
  EXPECT_EQ(got->text, r.text);
}

TEST(Ehlo, ParseCaps) {
  auto c = parse_ehlo(Reply{250, "", "mx\npipelining\nSIZE 1024\nSTARTTLS\n8BITMIME\nSMTPUTF8\nCHUNKING\nENHANCEDSTATUSCODES", false});
  EXPECT_TRUE(c.pipelining && c.starttls && c.eightbitmime && c.smtputf8 && c.chunking && c.enhanced);
  EXPECT_EQ(c.size, 1024u);
  auto none = parse_ehlo(Reply{250, "", "PIPELINING-is-the-greeting\nSIZE\nAUTH PLAIN", false});
  EXPECT_FALSE(none.pipelining);
  EXPECT_EQ(none.size, 0u);
  EXPECT_FALSE(parse_ehlo(Reply{500, "", "mx\nPIPELINING", false}).pipelining);
}

TEST(DotStuff, Basic) {
  std::string out;
  dot_stuff("", out);
  EXPECT_EQ(out, ".\r\n");
  out.clear();
  dot_stuff(".a\r\nb\n.\r..\rc", out);
  EXPECT_EQ(out, "..a\r\nb\r\n..\r\n...\r\nc\r\n.\r\n");
  out = "DATA\r\n";
  dot_stuff("x\r\n", out);
  EXPECT_EQ(out, "DATA\r\nx\r\n.\r\n");
}
