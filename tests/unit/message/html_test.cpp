#include <gtest/gtest.h>

#include "message/message.h"
#include "test_util.h"

namespace mm::message {
namespace {
using test::has_finding;
using test::P;

std::shared_ptr<const Message> html(const std::string& body, const std::string& charset = "utf-8") {
  return P("Subject: h\nMIME-Version: 1.0\nContent-Type: text/html; charset=" + charset + "\n\n" + body);
}

TEST(HtmlTest, PhishingLinkTextAndHost) {
  auto m = html("<p>Dear customer, <a href=\"https://evil.test/login\">www.bank.example</a> now.</p>");
  ASSERT_EQ(m->links.size(), 1u);
  const Link& l = m->links[0];
  EXPECT_EQ(l.href, "https://evil.test/login");
  EXPECT_EQ(l.text, "www.bank.example");
  EXPECT_EQ(l.host, "evil.test");
  EXPECT_TRUE(l.from_html);
  EXPECT_FALSE(l.hidden);
  EXPECT_EQ(l.part, 0);
  EXPECT_EQ(m->html_text, "Dear customer, www.bank.example now.");
  EXPECT_TRUE(m->has_html);
  EXPECT_FALSE(m->has_plain);
  EXPECT_EQ(m->body_text(), m->html_text);
}

TEST(HtmlTest, EntitiesAreDecoded) {
  auto m = html("<p>Tom &amp; Jerry &lt;b&gt; caf&eacute; &#8364;5 &#x263A;&nbsp;ok &copy</p>"
                "<a href=\"https://x.test/?a=1&amp;b=2\">link</a>");
  EXPECT_EQ(m->html_text, "Tom & Jerry <b> café €5 ☺ ok ©\nlink");
  ASSERT_EQ(m->links.size(), 1u);
  EXPECT_EQ(m->links[0].href, "https://x.test/?a=1&b=2");
}

TEST(HtmlTest, HiddenTextIsSeparated) {
  auto m = html(
      "<html><head><title>Title</title><style>.x{color:red}</style><script>var a=1;</script></head>"
      "<body bgcolor=\"#ffffff\">"
      "<p>Visible one</p>"
      "<span style=\"display:none\">h1</span>"
      "<div style=\"visibility: hidden\">h2</div>"
      "<span style=\"font-size:0px\">h3</span>"
      "<span style=\"FONT-SIZE: 1px !important\">h4</span>"
      "<font color=\"#FFFFFF\">h5</font>"
      "<span style=\"color:#fefefe\">h6</span>"
      "<div hidden>h7</div>"
      "<div style=\"background-color:#000\"><span style=\"color:black\">h8</span>"
      "<span style=\"color:white\">Visible two</span></div>"
      "<div style=\"max-height:0;overflow:hidden\">h9</div>"
      "<span style=\"font-size:12px\">Visible three</span>"
      "<!-- a comment -->"
      "<script>document.write('no')</script>"
      "</body></html>");
  EXPECT_EQ(m->html_text, "Visible one\nVisible two\nVisible three");
  EXPECT_EQ(m->hidden_text, "h1\nh2\nh3 h4 h5 h6\nh7\nh8\nh9");
}

TEST(HtmlTest, BlocksBecomeLinesAndWhitespaceCollapses) {
  auto m = html("<div>Line   one\n continued</div><p>Two</p>a<br>b<ul><li>x</li><li>y</li></ul>"
                "<table><tr><td>c1</td><td>c2</td></tr><tr><td>d1</td></tr></table><pre>p  re\n  x</pre>");
  EXPECT_EQ(m->html_text, "Line one continued\nTwo\na\nb\nx\ny\nc1 c2\nd1\np  re\n  x");
}

TEST(HtmlTest, ImagesFormsAndUnlinkedUrls) {
  auto m = html("<img src=\"https://track.test/p.gif\" width=1><form action=\"https://collect.test/post\">"
                "<input type=password name=p></form><form></form>"
                "<p>Call or visit http://plain.test/page now</p>");
  ASSERT_EQ(m->images.size(), 1u);
  EXPECT_EQ(m->images[0], "https://track.test/p.gif");
  ASSERT_EQ(m->forms.size(), 2u);
  EXPECT_EQ(m->forms[0], "https://collect.test/post");
  EXPECT_EQ(m->forms[1], "");
  ASSERT_EQ(m->links.size(), 1u);
  EXPECT_EQ(m->links[0].host, "plain.test");
  EXPECT_FALSE(m->links[0].from_html);
}

TEST(HtmlTest, LinkInsideHiddenText) {
  auto m = html("<p>Hi</p><div style=\"display:none\"><a href=\"http://h.test/\">secret</a></div>"
                "<a href=\"http://v.test/\"><img src=\"b.png\"></a>");
  ASSERT_EQ(m->links.size(), 2u);
  EXPECT_TRUE(m->links[0].hidden);
  EXPECT_EQ(m->links[0].text, "secret");
  EXPECT_FALSE(m->links[1].hidden);
  EXPECT_EQ(m->links[1].text, "");
  EXPECT_EQ(m->html_text, "Hi");
}

TEST(HtmlTest, ZeroWidthCharactersAreRemovedAndNoted) {
  auto m = html("<p>Pay\xE2\x80\x8B" "Pal ac\xC2\xAD" "count</p>");
  EXPECT_EQ(m->html_text, "PayPal account");
  EXPECT_TRUE(has_finding(*m, "html_zero_width_chars"));
}

TEST(HtmlTest, CharsetConvertedBeforeParsing) {
  auto m = html("<p>caf\xE9 \x80</p>", "windows-1252");
  EXPECT_EQ(m->html_text, "café €");
}

TEST(HtmlTest, HtmlAttachmentGivesLinksButNoBodyText) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=z\n\n"
      "--z\nContent-Type: text/plain\n\nPlease open the attachment.\n"
      "--z\nContent-Type: text/html; name=invoice.html\nContent-Disposition: attachment; filename=invoice.html\n\n"
      "<form action=\"https://steal.test/\"><a href=\"https://steal.test/x\">Sign in</a></form>\n"
      "--z--\n";
  auto m = P(msg);
  ASSERT_EQ(m->parts.size(), 2u);
  EXPECT_TRUE(m->parts[1].is_attachment);
  EXPECT_FALSE(m->has_html);
  EXPECT_EQ(m->html_text, "");
  ASSERT_EQ(m->links.size(), 1u);
  EXPECT_EQ(m->links[0].text, "Sign in");
  EXPECT_EQ(m->links[0].part, 1);
  ASSERT_EQ(m->forms.size(), 1u);
}

TEST(HtmlTest, TwoHtmlPartsAreJoined) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=z\n\n"
      "--z\nContent-Type: text/html\n\n<p>one</p>\n"
      "--z\nContent-Type: text/html\n\n<p>two</p>\n"
      "--z--\n";
  EXPECT_EQ(P(msg)->html_text, "one\ntwo");
}

}  // namespace
}  // namespace mm::message
