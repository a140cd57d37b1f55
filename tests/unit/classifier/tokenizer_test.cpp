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

}  // namespace
}  // namespace mm::classifier
