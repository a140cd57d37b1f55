#include <gtest/gtest.h>

#include "message/message.h"
#include "test_util.h"

namespace mm::message {
namespace {
using test::crlf;
using test::has_finding;
using test::P;

const std::string kAlternative =
    "Received: from a.example by b.example; Tue, 1 Jul 2003 10:52:37 +0200\n"
    "Received: from c.example by a.example; Tue, 1 Jul 2003 10:52:30 +0200\n"
    "From: =?utf-8?Q?J=C3=B6rg?= <Joerg@Example.COM>\n"
    "To: alice@example.org, \"Bob B.\" <bob@Sub.Example.org>\n"
    "Cc: undisclosed: carol@example.net, dave@example.net;\n"
    "Reply-To: replies@elsewhere.test\n"
    "Subject: =?UTF-8?B?SGVsbG8g4pyT?= =?ISO-8859-1?Q?caf=E9?= and\n"
    " =?windows-1252?Q?=80_price?=\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
    "Message-ID: <abc@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\n"
    "\n"
    "preamble\n"
    "--b1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=C3=A9 au lait, a long line that is soft=\n"
    " broken. Visit https://shop.example/deal?id=3D1.\n"
    "--b1\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjxzdHlsZT5we308L3N0eWxlPjwvaGVhZD48Ym9k\n"
    "eT48cD5IZWxsbyA8Yj5Xb3JsZDwvYj4gJmFtcDsgZnJpZW5kczwvcD48c2NyaXB0PmFsZXJ0KDEp\n"
    "PC9zY3JpcHQ+PC9ib2R5PjwvaHRtbD4=\n"
    "--b1--\n"
    "epilogue\n";

TEST(MessageTest, AlternativeQuotedPrintableAndBase64) {
  auto m = P(kAlternative);
  ASSERT_EQ(m->parts.size(), 2u);
  EXPECT_EQ(m->parts[0].content_type, "text/plain");
  EXPECT_EQ(m->parts[0].transfer_encoding, "quoted-printable");
  EXPECT_EQ(m->parts[0].charset, "utf-8");
  EXPECT_EQ(m->parts[0].depth, 1u);
  EXPECT_FALSE(m->parts[0].is_attachment);
  EXPECT_TRUE(m->parts[0].is_text);
  EXPECT_EQ(m->parts[1].content_type, "text/html");
  EXPECT_EQ(m->parts[1].transfer_encoding, "base64");
  EXPECT_EQ(m->text, "Café au lait, a long line that is soft broken. Visit https://shop.example/deal?id=1.");
  EXPECT_EQ(m->html_text, "Hello World & friends");
  EXPECT_TRUE(m->has_plain);
  EXPECT_TRUE(m->has_html);
  EXPECT_EQ(&m->body_text(), &m->text);
  ASSERT_EQ(m->links.size(), 1u);
  EXPECT_EQ(m->links[0].href, "https://shop.example/deal?id=1");
  EXPECT_EQ(m->links[0].host, "shop.example");
  EXPECT_FALSE(m->links[0].from_html);
  EXPECT_EQ(m->links[0].part, 0);
  EXPECT_TRUE(m->findings.empty()) << test::findings(*m);
}

TEST(MessageTest, HeadersAndAddresses) {
  auto m = P(kAlternative);
  EXPECT_EQ(m->subject, "Hello ✓café and € price");
  EXPECT_EQ(m->from.display, "Jörg");
  EXPECT_EQ(m->from.address, "Joerg@example.com");
  EXPECT_EQ(m->from.domain, "example.com");
  ASSERT_EQ(m->to.size(), 2u);
  EXPECT_EQ(m->to[1].display, "Bob B.");
  EXPECT_EQ(m->to[1].domain, "sub.example.org");
  ASSERT_EQ(m->cc.size(), 2u);  // group members are flattened
  EXPECT_EQ(m->cc[1].address, "dave@example.net");
  ASSERT_EQ(m->reply_to.size(), 1u);
  EXPECT_EQ(m->reply_to[0].domain, "elsewhere.test");
  EXPECT_EQ(m->message_id, "abc@example.com");
  EXPECT_EQ(m->date_raw, "Tue, 1 Jul 2003 10:52:37 +0200");
  EXPECT_EQ(m->date, 1057049557);

  const Header* s = m->header("subject");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "Subject");
  EXPECT_EQ(s->raw, "=?UTF-8?B?SGVsbG8g4pyT?= =?ISO-8859-1?Q?caf=E9?= and =?windows-1252?Q?=80_price?=");
  EXPECT_EQ(s->value, "Hello ✓café and € price");
  EXPECT_EQ(m->headers_named("RECEIVED").size(), 2u);
  EXPECT_EQ(m->header("X-Missing"), nullptr);
  EXPECT_EQ(m->headers.front().name, "Received");
  EXPECT_EQ(*m->raw, kAlternative);
}

TEST(MessageTest, Rfc2047MixedCharsetsIncludingIso2022Jp) {
  auto m = P("Subject: =?iso-2022-jp?B?GyRCRnxLXDhsGyhC?= / =?shift_jis?Q?=82=B1?= x =?koi8-r?B?8NLJ18XU?=\n\nbody\n");
  EXPECT_EQ(m->subject, "日本語 / こ x Привет");
}

TEST(MessageTest, CrlfAndLfGiveTheSameModel) {
  auto a = P(kAlternative);
  auto b = P(crlf(kAlternative));
  EXPECT_EQ(a->subject, b->subject);
  EXPECT_EQ(a->text, b->text);
  EXPECT_EQ(a->html_text, b->html_text);
  EXPECT_EQ(a->date, b->date);
  ASSERT_EQ(a->parts.size(), b->parts.size());
  ASSERT_EQ(a->headers.size(), b->headers.size());
  for (size_t i = 0; i < a->headers.size(); ++i) EXPECT_EQ(a->headers[i].raw, b->headers[i].raw);
  EXPECT_EQ(b->text.find('\r'), std::string::npos);
  EXPECT_EQ(a->links.size(), b->links.size());
}

TEST(MessageTest, MboxFromLineIsSkipped) {
  auto m = P("From MAILER-DAEMON Tue Jul  1 10:52:37 2003\nFrom: a@b.example\nSubject: hi\n\nline one\nFrom here on\n");
  EXPECT_EQ(m->from.address, "a@b.example");
  EXPECT_EQ(m->subject, "hi");
  EXPECT_EQ(m->text, "line one\nFrom here on\n");  // an unescaped body "From " line does not end it
  EXPECT_TRUE(m->header("From ") == nullptr);
}

TEST(MessageTest, NestedRfc822WithAttachment) {
  const std::string msg =
      "From: outer@example.com\nSubject: Fwd: report\nContent-Type: multipart/mixed; boundary=outer\n\n"
      "--outer\nContent-Type: text/plain\n\nSee attached.\n"
      "--outer\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
      "From: inner@example.org\nSubject: report\nContent-Type: multipart/mixed; boundary=inner\n\n"
      "--inner\nContent-Type: text/plain; charset=iso-8859-1\n\nInner caf\xE9\n"
      "--inner\nContent-Type: application/octet-stream; name=\"invoice.exe\"\n"
      "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"invoice.exe\"\n\n"
      "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\n"
      "--inner--\n"
      "--outer--\n";
  auto m = P(msg);
  ASSERT_EQ(m->parts.size(), 3u);
  EXPECT_EQ(m->subject, "Fwd: report");
  const Part& att = m->parts[2];
  EXPECT_EQ(att.filename, "invoice.exe");
  EXPECT_EQ(att.content_type, "application/octet-stream");
  EXPECT_EQ(att.disposition, "attachment");
  EXPECT_TRUE(att.is_attachment);
  EXPECT_EQ(att.depth, 3u);  // multipart -> message/rfc822 -> multipart -> leaf
  EXPECT_EQ(att.decoded_size, 32u);
  EXPECT_EQ(att.data.substr(0, 2), "MZ");
  EXPECT_EQ(m->text, "See attached.\nInner café");  // the line end before a boundary belongs to it
}

TEST(MessageTest, InlinePartWithFilenameIsAnAttachment) {
  const std::string msg =
      "Content-Type: multipart/related; boundary=x\n\n"
      "--x\nContent-Type: text/html\n\n<p>Hi <img src=\"cid:logo\"></p>\n"
      "--x\nContent-Type: image/png\nContent-Disposition: inline; filename=logo.png\nContent-ID: <logo>\n"
      "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
      "--x\nContent-Type: application/pdf; name=\"=?utf-8?B?0YHRh9C10YIucGRm?=\"\n\n%PDF-1.4\n"
      "--x\nContent-Type: text/plain; name=notes.txt\n\nnot body text\n"
      "--x--\n";
  auto m = P(msg);
  ASSERT_EQ(m->parts.size(), 4u);
  EXPECT_FALSE(m->parts[0].is_attachment);
  EXPECT_EQ(m->parts[1].disposition, "inline");
  EXPECT_EQ(m->parts[1].filename, "logo.png");
  EXPECT_TRUE(m->parts[1].is_attachment);
  EXPECT_EQ(m->parts[1].data, std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(m->parts[2].filename, "счет.pdf");  // Content-Type name=, RFC 2047 encoded
  EXPECT_TRUE(m->parts[2].is_attachment);
  EXPECT_TRUE(m->parts[3].is_attachment);
  EXPECT_TRUE(m->parts[3].is_text);
  EXPECT_EQ(m->text, "");
  EXPECT_FALSE(m->has_plain);
  EXPECT_EQ(m->html_text, "Hi");
  EXPECT_EQ(&m->body_text(), &m->html_text);
  ASSERT_EQ(m->images.size(), 1u);
  EXPECT_EQ(m->images[0], "cid:logo");
}

TEST(MessageTest, PlainTextUrls) {
  auto m = P(
      "Subject: urls\n\nGo to www.Example.com/path, or (https://a.test/x_(y)) and http://user@evil.test:8080/p.\n"
      "Not: showwww.no nor http://nodot/ but HTTPS://UP.TEST?q=1!\n");
  ASSERT_EQ(m->links.size(), 4u);
  EXPECT_EQ(m->links[0].href, "www.Example.com/path");
  EXPECT_EQ(m->links[0].host, "www.example.com");
  EXPECT_EQ(m->links[1].href, "https://a.test/x_(y)");
  EXPECT_EQ(m->links[2].host, "evil.test");
  EXPECT_EQ(m->links[3].href, "HTTPS://UP.TEST?q=1");
  EXPECT_EQ(m->links[3].host, "up.test");
  for (const auto& l : m->links) EXPECT_TRUE(l.text.empty());
}

TEST(MessageTest, SinglePartDefaults) {
  auto m = P("Subject: plain\n\nJust text.\n");
  ASSERT_EQ(m->parts.size(), 1u);
  EXPECT_EQ(m->parts[0].content_type, "text/plain");
  EXPECT_EQ(m->parts[0].depth, 0u);
  EXPECT_EQ(m->text, "Just text.\n");
  EXPECT_EQ(m->date, 0);
  EXPECT_TRUE(m->date_raw.empty());
}

TEST(MessageTest, BadDateIsNoted) {
  auto m = P("Date: yesterday-ish\nSubject: x\n\nbody\n");
  EXPECT_EQ(m->date, 0);
  EXPECT_EQ(m->date_raw, "yesterday-ish");
  EXPECT_TRUE(has_finding(*m, "bad_date"));
}

TEST(MessageTest, SharedRawIsNotCopied) {
  auto raw = std::make_shared<const std::string>(kAlternative);
  auto m = parse(raw);
  EXPECT_EQ(m->raw.get(), raw.get());
}

}  // namespace
}  // namespace mm::message
