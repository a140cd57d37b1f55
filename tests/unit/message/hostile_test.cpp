// Hostile input: every case must parse what it can, note findings, stay bounded, never crash.
#include <gtest/gtest.h>

#include <chrono>

#include "message/message.h"
#include "test_util.h"

namespace mm::message {
namespace {
using test::has_finding;
using test::P;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(HostileTest, DepthBomb) {
  std::string msg = "Subject: deep\n";
  const int n = 200;
  for (int i = 0; i < n; ++i)
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
  msg += "Content-Type: text/plain\n\ndeepest text\n";
  for (int i = n - 1; i >= 0; --i) msg += "--b" + std::to_string(i) + "--\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto m = P(msg);
  EXPECT_LT(seconds_since(t0), 30.0);  // a hang guard (quadratic blow-ups take minutes), not a speed test
  EXPECT_TRUE(has_finding(*m, "mime_depth_exceeded")) << test::findings(*m);
  EXPECT_EQ(m->subject, "deep");
  for (const auto& p : m->parts) EXPECT_LE(p.depth, Limits{}.max_depth);
}

TEST(HostileTest, PartBomb) {
  std::string msg = "Subject: many\nContent-Type: multipart/mixed; boundary=x\n\n";
  for (int i = 0; i < 5000; ++i) msg += "--x\nContent-Type: application/octet-stream; name=f" + std::to_string(i) + "\n\nA\n";
  msg += "--x--\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto m = P(msg);
  EXPECT_LT(seconds_since(t0), 30.0);  // a hang guard (quadratic blow-ups take minutes), not a speed test
  EXPECT_EQ(m->parts.size(), Limits{}.max_parts);
  EXPECT_TRUE(has_finding(*m, "mime_part_limit"));
  Limits small;
  small.max_parts = 10;
  EXPECT_EQ(P(msg, small)->parts.size(), 10u);
}

TEST(HostileTest, MalformedBoundary) {
  // Declared boundary "abc" never appears; the body uses "--abd". No closing delimiter either.
  auto m = P("Subject: b\nContent-Type: multipart/mixed; boundary=\"abc\"\n\n--abd\nContent-Type: text/plain\n\nhello\n");
  EXPECT_FALSE(m->findings.empty());
  EXPECT_EQ(m->subject, "b");

  // Missing boundary parameter entirely.
  auto n = P("Subject: b\nContent-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhello\n--x--\n");
  EXPECT_TRUE(has_finding(*n, "multipart_without_boundary")) << test::findings(*n);

  // Unterminated multipart: first part still readable.
  auto t = P("Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nfirst part\n--q\nContent-Type: text/pl");
  ASSERT_GE(t->parts.size(), 1u);
  EXPECT_NE(t->text.find("first part"), std::string::npos);
}

TEST(HostileTest, NulBytes) {
  static const char kRaw[] = "Subject: a\0b\nX-Nul: \0\0\nFrom: x@y.test\n\nbody\0text\n";
  const std::string msg(kRaw, sizeof kRaw - 1);
  auto m = P(msg);
  EXPECT_TRUE(has_finding(*m, "nul_in_header"));
  EXPECT_TRUE(has_finding(*m, "nul_in_body"));
  EXPECT_EQ(m->from.address, "x@y.test");
  EXPECT_EQ(m->text, "body\xEF\xBF\xBDtext\n");
  EXPECT_EQ(m->subject.find('\0'), std::string::npos);
  EXPECT_EQ(m->raw->size(), sizeof kRaw - 1);
}

TEST(HostileTest, OneMegabyteHeader) {
  std::string msg = "From: a@b.test\nSubject: ";
  for (int i = 0; i < (1 << 20) / 64; ++i) msg += "0123456789012345678901234567890123456789012345678901234567890\n ";
  msg += "end\nX-After: yes\n\nbody\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto m = P(msg);
  EXPECT_LT(seconds_since(t0), 30.0);  // a hang guard (quadratic blow-ups take minutes), not a speed test
  EXPECT_TRUE(has_finding(*m, "header_too_large"));
  EXPECT_LE(m->subject.size(), Limits{}.max_header_bytes);
  size_t total = 0;
  for (const auto& h : m->headers) total += h.name.size() + h.raw.size() + h.value.size();
  EXPECT_LE(total, Limits{}.max_header_bytes);
  EXPECT_EQ(m->from.address, "a@b.test");
  EXPECT_EQ(m->text, "body\n");
}

TEST(HostileTest, ManyHeaders) {
  std::string msg;
  for (int i = 0; i < 50000; ++i) msg += "X-H" + std::to_string(i) + ": v\n";
  msg += "\nbody\n";
  auto m = P(msg);
  EXPECT_EQ(m->text, "body\n");
  EXPECT_LT(m->headers.size(), 50000u);
  EXPECT_TRUE(has_finding(*m, "header_too_large"));
}

TEST(HostileTest, EmptyAndGarbage) {
  EXPECT_TRUE(has_finding(*P(""), "empty_message"));
  EXPECT_TRUE(P("")->parts.empty());
  auto m = parse(nullptr);
  ASSERT_NE(m, nullptr);
  ASSERT_NE(m->raw, nullptr);
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919) & 0xFF));
  auto g = P(garbage);
  EXPECT_NE(g, nullptr);
  auto h = P("\n\n\n");
  EXPECT_NE(h, nullptr);
  auto only = P("Subject: no body");
  EXPECT_EQ(only->subject, "no body");
}

TEST(HostileTest, BrokenBase64) {
  auto m = P("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nTVq*QAA!!M\x01\n===\nAAA");
  ASSERT_EQ(m->parts.size(), 1u);
  EXPECT_TRUE(has_finding(*m, "bad_base64"));
  EXPECT_GT(m->parts[0].decoded_size, 0u);
}

TEST(HostileTest, BrokenQuotedPrintableAndRfc2047) {
  auto m = P("Subject: =?utf-8?B?!!!?= =?bogus?Q?x?= =?utf-8?Q?trunc\nContent-Transfer-Encoding: quoted-printable\n\n"
             "a=ZZb=\n=4\n");
  EXPECT_FALSE(m->subject.empty());
  EXPECT_FALSE(m->text.empty());
}

TEST(HostileTest, DeepHtmlNestingDoesNotRecurse) {
  std::string body;
  for (int i = 0; i < 200000; ++i) body += "<div>";
  body += "deep";
  body += "<a href=\"http://deep.test/\">x</a>";
  const auto t0 = std::chrono::steady_clock::now();
  auto m = P("Content-Type: text/html\n\n" + body);
  EXPECT_LT(seconds_since(t0), 30.0);  // a hang guard (quadratic blow-ups take minutes), not a speed test
  EXPECT_EQ(m->html_text, "deepx");
  EXPECT_TRUE(has_finding(*m, "html_too_complex"));
  ASSERT_EQ(m->links.size(), 1u);
  // Legit documents with many implicitly closed elements are not flattened.
  std::string flat;
  for (int i = 0; i < 5000; ++i) flat += "<p>para<li>item<font>f</font>";
  EXPECT_FALSE(has_finding(*P("Content-Type: text/html\n\n" + flat), "html_too_complex"));
}

TEST(HostileTest, HtmlAttributeAndTagFloods) {
  std::string attrs = "<div";
  for (int i = 0; i < 50000; ++i) attrs += " a" + std::to_string(i) + "=1";
  attrs += ">text</div>";
  std::string fmt;
  for (int i = 0; i < 50000; ++i) fmt += "<b><i><u>x</b></i></u><table><td>";
  for (const auto& body : {attrs, fmt}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = P("Content-Type: text/html\n\n" + body);
    EXPECT_LT(seconds_since(t0), 30.0) << body.substr(0, 40);  // hang guard
    EXPECT_TRUE(has_finding(*m, "html_too_complex"));
    EXPECT_FALSE(m->html_text.empty());
  }
}

TEST(HostileTest, TextIsCapped) {
  Limits lim;
  lim.max_text_bytes = 1000;
  std::string body(5000, 'a');
  auto m = P("Content-Type: text/plain\n\n" + body, lim);
  EXPECT_LE(m->text.size(), 1000u);
  EXPECT_TRUE(has_finding(*m, "text_truncated"));
  auto h = P("Content-Type: text/html\n\n<p>" + body + "</p>", lim);
  EXPECT_LE(h->html_text.size(), 1000u);
  EXPECT_TRUE(has_finding(*h, "text_truncated"));
  lim.max_attachment_bytes = 1000;  // attachments have their own cap
  auto a = P("Content-Type: application/zip\n\n" + body, lim);
  ASSERT_EQ(a->parts.size(), 1u);
  EXPECT_TRUE(a->parts[0].truncated);
  EXPECT_EQ(a->parts[0].data.size(), 1000u);
}

TEST(HostileTest, LinkFlood) {
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "<a href=\"http://x" + std::to_string(i) + ".test/\">l</a>";
  auto m = P("Content-Type: text/html\n\n" + body);
  EXPECT_LE(m->links.size(), Limits{}.max_links);
  EXPECT_TRUE(has_finding(*m, "link_limit"));
}

}  // namespace
}  // namespace mm::message
