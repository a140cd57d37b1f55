#include "classifier/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace mm::classifier {
namespace {

bool has(const std::vector<std::string>& v, const std::string& t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

TEST(SplitWords, CaseFoldsAsciiAndUnicode) {
  std::vector<std::string> w;
  split_words("FREE Money ÉCOLE Straße ΣΟΦΊΑ", w);
  EXPECT_TRUE(has(w, "free"));
  EXPECT_TRUE(has(w, "money"));
  EXPECT_TRUE(has(w, "école"));
  EXPECT_TRUE(has(w, "straße"));
  EXPECT_TRUE(has(w, "σοφία"));
}

TEST(SplitWords, CjkBecomesCharacterBigrams) {
  std::vector<std::string> w;
  split_words("免费发票 hello 日本", w);
  EXPECT_TRUE(has(w, "免费"));
  EXPECT_TRUE(has(w, "费发"));
  EXPECT_TRUE(has(w, "发票"));
  EXPECT_TRUE(has(w, "日本"));
  EXPECT_TRUE(has(w, "hello"));
  EXPECT_FALSE(has(w, "免费发票"));
}

TEST(SplitWords, InvalidUtf8IsABoundaryNotACrash) {
  std::vector<std::string> w;
  split_words(std::string("abc\xff\xfe" "def\xc3"), w);
  EXPECT_TRUE(has(w, "abc"));
  EXPECT_TRUE(has(w, "def"));
}

TEST(SplitWords, LongRunsBecomeSkipTokens) {
  std::vector<std::string> w;
  split_words(std::string(100, 'x') + " ok", w);
  EXPECT_TRUE(has(w, "skip:x:100"));
  EXPECT_TRUE(has(w, "ok"));
}

TEST(RegistrableDomain, UsesPublicSuffixList) {
  EXPECT_EQ(registrable_domain("www.Example.CO.UK"), "example.co.uk");
  EXPECT_EQ(registrable_domain("a.b.example.com"), "example.com");
  EXPECT_EQ(registrable_domain("192.0.2.1"), "192.0.2.1");
}

message::Message sample() {
  message::Message m;
  m.subject = "Cheap MEDS now";
  m.from = {"Pharmacy", "Sales@Deals.Example.net", "deals.example.net"};
  m.message_id = "<abc123@mail.example.net>";
  m.text = "Visit our shop today, best prices";
  m.has_plain = true;
  m.links.push_back({"http://shop.evil.co.uk/buy?x=1", "", "shop.evil.co.uk", false, false, -1});
  m.links.push_back({"http://1.2.3.4/login", "www.bank.example", "1.2.3.4", true, false, -1});
  message::Part p;
  p.content_type = "application/pdf";
  p.filename = "invoice.PDF";
  p.is_attachment = true;
  m.parts.push_back(p);
  return m;
}

TEST(Tokenize, HeadersUrlsAndStructure) {
  auto t = tokenize(sample());
  EXPECT_TRUE(has(t, "s:cheap"));
  EXPECT_TRUE(has(t, "s:meds"));
  EXPECT_TRUE(has(t, "h:from:dom:example.net"));
  EXPECT_TRUE(has(t, "h:from:host:deals.example.net"));
  EXPECT_TRUE(has(t, "h:from:name:pharmacy"));
  EXPECT_TRUE(has(t, "h:mid:dom:example.net"));
  EXPECT_TRUE(has(t, "url:host:shop.evil.co.uk"));
  EXPECT_TRUE(has(t, "url:dom:evil.co.uk"));
  EXPECT_TRUE(has(t, "url:ip"));
  EXPECT_TRUE(has(t, "url:text-mismatch"));
  EXPECT_TRUE(has(t, "url:w:buy"));
  EXPECT_TRUE(has(t, "att:ext:pdf"));
  EXPECT_TRUE(has(t, "ct:application/pdf"));
  EXPECT_TRUE(has(t, "plain-only"));
  EXPECT_TRUE(has(t, "visit"));
  EXPECT_TRUE(has(t, "prices"));
}

TEST(Tokenize, HtmlOnlyAndEmptyMessage) {
  message::Message m;
  m.has_html = true;
  m.html_text = "Click here";
  auto t = tokenize(m);
  EXPECT_TRUE(has(t, "html-only"));
  EXPECT_TRUE(has(t, "click"));
  EXPECT_TRUE(has(t, "h:from:none"));
  EXPECT_TRUE(has(t, "s:empty"));
  EXPECT_FALSE(tokenize(message::Message{}).empty());
}

TEST(Extract, HashesAreUniqueSortedAndIncludeSparseBigrams) {
  auto m = sample();
  auto f = extract(m);
  EXPECT_TRUE(std::is_sorted(f.hashes.begin(), f.hashes.end()));
  EXPECT_EQ(std::adjacent_find(f.hashes.begin(), f.hashes.end()), f.hashes.end());
  TokenizerOptions no_osb;
  no_osb.osb_window = 0;
  EXPECT_GT(f.hashes.size(), extract(m, no_osb).hashes.size());
}

bool has_hash(const std::vector<uint64_t>& v, const std::string& token) {
  return std::binary_search(v.begin(), v.end(), hash_token(token));
}

message::Message rich_sample() {
  message::Message m = sample();
  m.to.push_back({"", "ler@lerami.example.org", "lerami.example.org"});
  m.subject = "ler, your offer";
  m.text = "You are subscribed as ler@lerami.example.org. Unbelievable m0rtgage rates.";
  m.date_raw = "Tue, 03 Sep 2002 13:04:31 -0800";
  m.headers.push_back({"Subject", "=?utf-8?B?bGVyLCB5b3VyIG9mZmVy?=", "ler, your offer"});
  m.headers.push_back({"Received", "from a by b", "from a by b"});
  m.headers.push_back({"Received", "from c by d", "from c by d"});
  m.has_html = true;
  message::Part html;
  html.content_type = "text/html";
  html.is_text = true;
  html.data = "<html><body bgcolor=\"#FFFFFF\"><!-- x --><FONT size=+2 color='red'>Buy</font></body></html>";
  m.parts.push_back(html);
  m.links.push_back({"http://user@deals.example.biz:8080/a/b/offer.php?id=1", "", "deals.example.biz", true, false, -1});
  return m;
}

TEST(Tokenize, OptionalGroupsAreOffByDefault) {
  auto t = tokenize(rich_sample());
  for (const auto& x : t) {
    EXPECT_NE(x.rfind("html:", 0), 0u) << x;
    EXPECT_NE(x.rfind("h:date:shape:", 0), 0u) << x;
    EXPECT_NE(x.rfind("url:tld:", 0), 0u) << x;
    EXPECT_NE(x, "b:to-addr");
  }
}

TEST(Tokenize, HtmlGroupNamesTagsAttributesAndValues) {
  TokenizerOptions o;
  o.extras = kTokHtml;
  auto t = tokenize(rich_sample(), o);
  EXPECT_TRUE(has(t, "html:tag:font"));
  EXPECT_TRUE(has(t, "html:tag:body"));
  EXPECT_TRUE(has(t, "html:attr:font:size"));
  EXPECT_TRUE(has(t, "html:val:size:+2"));
  EXPECT_TRUE(has(t, "html:val:color:red"));
  EXPECT_TRUE(has(t, "html:val:bgcolor:#ffffff"));
  EXPECT_TRUE(has(t, "html:comments:1"));
  EXPECT_TRUE(has(t, "html:tags:2"));  // html, body, font: 3, in the bucket 2-3
  EXPECT_FALSE(has(t, "html:tag:/font"));
}

TEST(Tokenize, HeaderGroup) {
  TokenizerOptions o;
  o.extras = kTokHeaders;
  auto t = tokenize(rich_sample(), o);
  EXPECT_TRUE(has(t, "h:date:shape:a, 9 a 9 9:9:9 -9"));
  EXPECT_TRUE(has(t, "h:enc:subject:utf-8:b"));
  EXPECT_TRUE(has(t, "h:rcvd:n:2"));
  EXPECT_TRUE(has(t, "h:to:local:a"));
}

TEST(Tokenize, UrlGroup) {
  TokenizerOptions o;
  o.extras = kTokUrl;
  auto t = tokenize(rich_sample(), o);
  EXPECT_TRUE(has(t, "url:tld:biz"));
  EXPECT_TRUE(has(t, "url:tld:uk"));
  EXPECT_TRUE(has(t, "url:userinfo"));
  EXPECT_TRUE(has(t, "url:port"));
  EXPECT_TRUE(has(t, "url:query"));
  EXPECT_TRUE(has(t, "url:ext:php"));
  EXPECT_TRUE(has(t, "url:depth:2"));
}

TEST(Tokenize, PersonalGroupFindsTheRecipientInBodyAndSubject) {
  TokenizerOptions o;
  o.extras = kTokPersonal;
  auto t = tokenize(rich_sample(), o);
  EXPECT_TRUE(has(t, "b:to-addr"));
  EXPECT_TRUE(has(t, "s:to-local"));
  auto m = rich_sample();
  m.text = "nothing personal here";
  m.subject = "hello";
  t = tokenize(m, o);
  EXPECT_FALSE(has(t, "b:to-addr"));
  EXPECT_FALSE(has(t, "b:to-local"));
  EXPECT_FALSE(has(t, "s:to-local"));
}

TEST(Extract, CharGramsAndLogisticOsbGoToTheLogisticLearnerOnly) {
  auto m = rich_sample();
  TokenizerOptions plain;
  plain.osb_window = 0;
  auto f0 = extract(m, plain);
  EXPECT_TRUE(f0.logistic_only.empty());

  TokenizerOptions cg = plain;
  cg.extras = kTokCharGrams;
  auto f1 = extract(m, cg);
  EXPECT_EQ(f1.hashes, f0.hashes);  // Bayes sees the same
  EXPECT_TRUE(has_hash(f1.logistic_only, "cg:m0rt"));
  EXPECT_TRUE(has_hash(f1.logistic_only, "cg:tgag"));
  EXPECT_TRUE(std::is_sorted(f1.logistic_only.begin(), f1.logistic_only.end()));

  TokenizerOptions osb = plain;
  osb.osb_window = 2;
  osb.extras = kTokOsbLogistic;
  auto f2 = extract(m, osb);
  EXPECT_EQ(f2.hashes, f0.hashes);
  EXPECT_FALSE(f2.logistic_only.empty());
  osb.extras = 0;
  auto f3 = extract(m, osb);  // the same pairs, shared by both learners
  EXPECT_EQ(f3.hashes.size(), f0.hashes.size() + f2.logistic_only.size());
}

std::vector<std::string> align_tokens_of(const std::string& raw) {
  TokenizerOptions o;
  o.extras = kTokAlign;
  auto m = message::parse(std::make_shared<const std::string>(raw));
  std::vector<std::string> out;
  for (const auto& t : tokenize(*m, o))
    if (t.rfind("h:al:", 0) == 0) out.push_back(t);
  return out;
}

TEST(Tokenize, AlignGroupRelatesBounceMessageIdAndRelaysToTheFromDomain) {
  // A mailing service sending for its customer: VERP bounce address and relays under the
  // service's domain, Message-ID too; From under the customer's.
  auto t = align_tokens_of(
      "Return-Path: <10182839.55483860.8@bounced.mailer.example>\r\n"
      "Received: from out7.mailer.example (HELO mbox.mailer.example) (192.0.2.7)\r\n"
      "  by mx.example.org with SMTP; 25 Jul 2002 19:39:06 -0000\r\n"
      "Message-Id: <55483860.4.8@mbox.mailer.example>\r\n"
      "From: \"News\" <news@shop.example.com>\r\n"
      "Sender: news@shop.example.com\r\n"
      "To: a@example.org\r\nSubject: s\r\n\r\nhello\r\n");
  EXPECT_TRUE(has(t, "h:al:rp:verp"));
  EXPECT_TRUE(has(t, "h:al:rp:diff"));
  EXPECT_TRUE(has(t, "h:al:mid:diff"));
  EXPECT_TRUE(has(t, "h:al:mid-rp:same"));
  EXPECT_TRUE(has(t, "h:al:sender:same"));
  EXPECT_TRUE(has(t, "h:al:rcvd:not-from"));
  EXPECT_TRUE(has(t, "h:al:rcvd:rp"));
  // Sent by the From domain itself; no Return-Path, no Message-ID.
  t = align_tokens_of(
      "Received: from mail.shop.example.com (mail.shop.example.com [192.0.2.9]) by mx.example.org\r\n"
      "From: news@shop.example.com\r\nTo: a@example.org\r\nSubject: s\r\n\r\nhello\r\n");
  EXPECT_TRUE(has(t, "h:al:rp:none"));
  EXPECT_TRUE(has(t, "h:al:mid:none"));
  EXPECT_TRUE(has(t, "h:al:rcvd:from"));
  EXPECT_FALSE(has(t, "h:al:rp:verp"));
  // Only relations become tokens, never the hosts.
  for (const auto& x : t) EXPECT_EQ(x.find("example"), std::string::npos) << x;
  // No headers at all: no crash, only "none" relations.
  t = align_tokens_of("\r\nbody only\r\n");
  EXPECT_TRUE(has(t, "h:al:rp:none"));
  EXPECT_FALSE(has(t, "h:al:rcvd:from"));
}

}  // namespace
}  // namespace mm::classifier
