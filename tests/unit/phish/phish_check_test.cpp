// The "phishing" check on messages built here: each signal fires on its trick with a detail that
// names the URL/domain/header, and ordinary mail (newsletters with tracking links, a company
// mailing about its own domain, a brand's own mail) gets no phishing symbol. The last tests run
// the whole engine (project rules + links + phishing) and expect the verdict class "phishing".
#include <gtest/gtest.h>

#include "../links/symbols.h"

#include <filesystem>
#include <fstream>

#include "links/links_check.h"
#include "links/url.h"
#include "message/message.h"
#include "phish/phish_check.h"
#include "scan/engine.h"

namespace mm::phish {
namespace {

std::shared_ptr<const PhishData> data() {
  static auto d = [] {
    auto r = load_data(MM_LINKS_DATA);
    EXPECT_TRUE(r) << r.error();
    return r ? *r : make_data({});
  }();
  return d;
}

struct Mail {
  std::string from = "Alice <alice@partner.example>";
  std::string subject = "Meeting notes";
  std::string extra;  // more header lines
  std::string html;
  std::string text = "Hi, see you on Tuesday.";
  std::string raw() const {
    std::string h = "From: " + from + "\r\nTo: bob@acme.example\r\nSubject: " + subject + "\r\n" + extra +
                    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <x1@partner.example>\r\nMIME-Version: 1.0\r\n";
    if (html.empty()) return h + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n";
    return h + "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>" + html + "</body></html>\r\n";
  }
};

std::shared_ptr<const scan::TenantFacts> acme() {
  auto f = std::make_shared<scan::TenantFacts>();
  f->name = "acme";
  f->display_name = "Acme Widgets";
  f->domains = {"acme.example", "acme-widgets.com"};
  f->protected_names = {"Jane Doe", "John Q. Public"};
  return f;
}

std::vector<scan::Symbol> run(const Mail& mail, std::shared_ptr<const scan::TenantFacts> facts = nullptr,
                              std::vector<scan::Symbol> prior = {}) {
  PhishOptions o;
  o.data = data();
  o.depends_on = {};
  PhishCheck c(o);
  auto m = message::parse(std::make_shared<const std::string>(mail.raw()));
  scan::Envelope env;
  env.tenant_facts = std::move(facts);
  if (env.tenant_facts) env.tenant = env.tenant_facts->name;
  std::vector<scan::Symbol> out;
  c.run({*m, env, prior}, out);
  for (auto& s : out) EXPECT_EQ(s.hint, scan::Class::Phishing) << s.name;
  return out;
}

using test_symbols::find;
using test_symbols::names;

TEST(PhishData, BrandsFileParses) {
  auto d = data();
  ASSERT_GT(d->brands.size(), 20u);
  EXPECT_EQ(d->brands.front().name, "PayPal");
  EXPECT_FALSE(d->brand_targets.empty());
  EXPECT_FALSE(parse_brands("NoColon paypal.com\n"));
  EXPECT_FALSE(parse_brands("Brand:\n"));
  EXPECT_FALSE(parse_brands("Brand: not_a domain!\n"));
  auto ok = parse_brands("# c\nBank of X: bankx.com bankx.co.uk  # own\n");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ((*ok)[0].name, "Bank of X");
  EXPECT_EQ((*ok)[0].domains, (std::vector<std::string>{"bankx.com", "bankx.co.uk"}));
}

TEST(PhishCheck, LinkTextShowsAnotherDomain) {
  Mail m;
  m.html = "<p>Log in: <a href=\"http://paypa1.com/login\">paypal.com</a></p>";
  auto out = run(m);
  auto* s = find(out, "HTML_LINK_TEXT_MISMATCH");
  ASSERT_TRUE(s) << names(out);
  EXPECT_EQ(s->detail, "href paypa1.com (homoglyph lookalike of paypal.com), text paypal.com");
  Mail plain;
  plain.html = "<p><a href=\"http://mybank-secure.evil.example/x\">www.mybank.co.uk/secure</a></p>";
  out = run(plain);
  ASSERT_TRUE(find(out, "HTML_LINK_TEXT_MISMATCH"));
  EXPECT_EQ(find(out, "HTML_LINK_TEXT_MISMATCH")->detail, "href mybank-secure.evil.example, text www.mybank.co.uk");
  // Same registrable domain, or text that is no domain: fine.
  Mail ok;
  ok.html = "<a href=\"https://login.mybank.co.uk/a\">https://www.mybank.co.uk</a> <a href=\"https://x.example/r\">report.pdf</a>";
  EXPECT_FALSE(find(run(ok), "HTML_LINK_TEXT_MISMATCH"));
}

TEST(PhishCheck, FormsWithPasswordsAndOffSiteActions) {
  Mail m;
  m.html = "<form action=\"http://collect.example/p.php\">User <input name=u> Password <input type=\"Password\" name=p></form>";
  auto out = run(m);
  ASSERT_TRUE(find(out, "HTML_FORM")) << names(out);
  ASSERT_TRUE(find(out, "PHISH_FORM_OFFSITE"));
  EXPECT_EQ(find(out, "PHISH_FORM_OFFSITE")->detail,
            "form posts to collect.example, sender partner.example, with a password field");
  ASSERT_TRUE(find(out, "PHISH_FORM_PASSWORD"));
  EXPECT_EQ(find(out, "PHISH_FORM_PASSWORD")->detail, "1 password field(s) in a form posting to collect.example");
  Mail search;  // a newsletter's search box posting elsewhere: just a form
  search.html = "<form action=\"http://www.search.example/find\">Search the web <input name=q></form>";
  out = run(search);
  EXPECT_TRUE(find(out, "HTML_FORM"));
  EXPECT_FALSE(find(out, "PHISH_FORM_OFFSITE")) << names(out);
  Mail own;
  own.html = "<form action=\"https://survey.partner.example/s\">Rate us <input name=r></form>";
  out = run(own);
  EXPECT_TRUE(find(out, "HTML_FORM"));
  EXPECT_FALSE(find(out, "PHISH_FORM_OFFSITE")) << names(out);
  EXPECT_FALSE(find(out, "PHISH_FORM_PASSWORD"));
}

TEST(PhishCheck, LoginLure) {
  Mail m;
  m.html = "<p>We could not verify your account. <a href=\"https://secure-check.example.net/signin.php\">Continue</a></p>";
  auto out = run(m);
  auto* s = find(out, "PHISH_LOGIN_LURE");
  ASSERT_TRUE(s) << names(out);
  EXPECT_EQ(s->detail, "href https://secure-check.example.net/signin.php after 'verify your account'");
  // Rule symbols count as the wording too.
  Mail r;
  r.html = "<p>Storage full. <a href=\"https://mail-upgrade.example.net/login\">Login</a></p>";
  EXPECT_FALSE(find(run(r), "PHISH_LOGIN_LURE"));
  out = run(r, nullptr, {{"BODY_MAILBOX_QUOTA", 2.0, "", scan::Class::Phishing}});
  ASSERT_TRUE(find(out, "PHISH_LOGIN_LURE")) << names(out);
  EXPECT_EQ(find(out, "PHISH_LOGIN_LURE")->detail, "href https://mail-upgrade.example.net/login after BODY_MAILBOX_QUOTA");
  // A long link title that mentions passwords is no login button.
  Mail title;
  title.html = "<p>Your password expires soon. <a href=\"https://kb.example.net/redir?id=Q3\">Q3 - How to Log On to Windows "
               "If You Forget Your Password</a></p>";
  EXPECT_FALSE(find(run(title, nullptr, {{"BODY_PASSWORD_EXPIRES", 1.5, "", scan::Class::Phishing}}), "PHISH_LOGIN_LURE"));
  // The same wording with a link to the sender's own site is not a lure.
  Mail own;
  own.html = "<p>Please verify your account at <a href=\"https://www.partner.example/login\">our site</a>.</p>";
  EXPECT_FALSE(find(run(own), "PHISH_LOGIN_LURE")) << names(run(own));
}

TEST(PhishCheck, BrandInDisplayNameOrSubject) {
  Mail m;
  m.from = "\"PayPal Service\" <service@notice-center.example>";
  auto out = run(m);
  ASSERT_TRUE(find(out, "PHISH_BRAND_DISPLAY_NAME")) << names(out);
  EXPECT_EQ(find(out, "PHISH_BRAND_DISPLAY_NAME")->detail,
            "From name 'PayPal Service' names PayPal, sent from notice-center.example");
  Mail real;
  real.from = "\"PayPal\" <service@paypal.com>";
  EXPECT_FALSE(find(run(real), "PHISH_BRAND_DISPLAY_NAME"));
  Mail free;  // the brand's free-mail domain is anyone's address
  free.from = "\"Microsoft Account Team\" <msaccount.verify@hotmail.com>";
  EXPECT_TRUE(find(run(free), "PHISH_BRAND_DISPLAY_NAME")) << names(run(free));
  Mail news;  // ... but a free-mail brand's own main domain does speak for it
  news.from = "\"Yahoo!News\" <news@yahoo.com>";
  EXPECT_FALSE(find(run(news), "PHISH_BRAND_DISPLAY_NAME")) << names(run(news));
  Mail about;  // a newsletter about a brand does not speak as the brand
  about.from = "\"Lockergnome Apple Core\" <apple@lockergnome.example>";
  EXPECT_FALSE(find(run(about), "PHISH_BRAND_DISPLAY_NAME"));
  Mail desk;
  desk.from = "\"Security Team - Microsoft\" <alert@ms-secure.example>";
  EXPECT_TRUE(find(run(desk), "PHISH_BRAND_DISPLAY_NAME"));
  Mail word;  // "Apples" is not the brand "Apple"
  word.from = "\"Apples and Pears Ltd\" <info@fruit.example>";
  EXPECT_FALSE(find(run(word), "PHISH_BRAND_DISPLAY_NAME"));
  // The subject counts only with account wording.
  Mail subj;
  subj.subject = "Your Netflix membership";
  subj.text = "Your account has been suspended. Update your payment details: https://nf-billing.example.net/x";
  EXPECT_FALSE(find(run(subj), "PHISH_BRAND_SUBJECT"));
  out = run(subj, nullptr, {{"BODY_ACCOUNT_SUSPENDED", 1.5, "", scan::Class::Phishing}});
  ASSERT_TRUE(find(out, "PHISH_BRAND_SUBJECT")) << names(out);
  EXPECT_EQ(find(out, "PHISH_BRAND_SUBJECT")->detail,
            "subject names Netflix, sent from partner.example, with BODY_ACCOUNT_SUSPENDED");
}

TEST(PhishCheck, LookalikesOfBrandsAndOfTheTenant) {
  Mail m;
  m.from = "Support <support@rnicrosoft.com>";
  auto out = run(m);
  ASSERT_TRUE(find(out, "PHISH_LOOKALIKE_BRAND")) << names(out);
  EXPECT_EQ(find(out, "PHISH_LOOKALIKE_BRAND")->detail, "From rnicrosoft.com (homoglyph lookalike of microsoft.com)");
  Mail link;
  link.html = "<a href=\"https://www.arnazon.com/gp\">Your order</a>";
  out = run(link);
  ASSERT_TRUE(find(out, "PHISH_LOOKALIKE_BRAND")) << names(out);
  EXPECT_EQ(find(out, "PHISH_LOOKALIKE_BRAND")->detail, "href www.arnazon.com (homoglyph lookalike of amazon.com)");
  Mail combo;
  combo.html = "<a href=\"https://paypal-resolution.com/case\">Case</a>";
  out = run(combo);
  ASSERT_TRUE(find(out, "PHISH_LOOKALIKE_BRAND_COMBO")) << names(out);
  EXPECT_FALSE(find(out, "PHISH_LOOKALIKE_BRAND"));
  Mail tenant;
  tenant.from = "IT Desk <it@acme-widget.com>";
  out = run(tenant, acme());
  ASSERT_TRUE(find(out, "PHISH_LOOKALIKE_TENANT")) << names(out);
  EXPECT_EQ(find(out, "PHISH_LOOKALIKE_TENANT")->detail,
            "From acme-widget.com (typo lookalike of acme-widgets.com, a domain of tenant acme)");
  // Typos count against a brand's main domain only (lindows.com is no lookalike of windows.com).
  Mail other;
  other.from = "News <news@lindows.com>";
  EXPECT_FALSE(find(run(other), "PHISH_LOOKALIKE_BRAND")) << names(run(other));
  // Without the tenant's facts nothing is known about its domains.
  EXPECT_FALSE(find(run(tenant), "PHISH_LOOKALIKE_TENANT"));
}

TEST(PhishCheck, MixedScriptPunycodeHosts) {
  Mail m;
  m.html = "<a href=\"https://xn--pypal-4ve.com/signin\">sign in</a>";
  auto out = run(m);
  ASSERT_TRUE(find(out, "PHISH_IDN_MIXED_SCRIPT")) << names(out);
  EXPECT_EQ(find(out, "PHISH_IDN_MIXED_SCRIPT")->detail,
            "href xn--pypal-4ve.com (xn--pypal-4ve.com is p\xD0\xB0ypal.com, mixing scripts)");
  EXPECT_TRUE(find(out, "PHISH_LOOKALIKE_BRAND"));
  Mail utf8;  // an internationalised From address (SMTPUTF8) with a Cyrillic а
  utf8.from = "Service <service@p\xD0\xB0ypal.com>";
  out = run(utf8);
  ASSERT_TRUE(find(out, "PHISH_IDN_MIXED_SCRIPT")) << names(out);
  EXPECT_EQ(find(out, "PHISH_LOOKALIKE_BRAND")->detail, "From p\xD0\xB0ypal.com (homoglyph lookalike of paypal.com)");
  Mail single;  // a German IDN in one script: only the weak punycode sign
  single.html = "<a href=\"https://xn--bcher-kva.example/\">B\xC3\xBC" "cher</a>";
  out = run(single);
  EXPECT_FALSE(find(out, "PHISH_IDN_MIXED_SCRIPT")) << names(out);
  EXPECT_TRUE(find(out, "PHISH_PUNYCODE_HOST"));
}

TEST(PhishCheck, ImpersonationOfExecutivesAndTenant) {
  Mail m;
  m.from = "\"Doe, Jane\" <ceo.jane.doe@gmail.com>";
  auto out = run(m, acme());
  ASSERT_TRUE(find(out, "PHISH_EXEC_IMPERSONATION")) << names(out);
  EXPECT_EQ(find(out, "PHISH_EXEC_IMPERSONATION")->detail,
            "From name 'Doe, Jane' is Jane Doe, protected for tenant acme, sent from ceo.jane.doe@gmail.com");
  Mail glyph;  // Cyrillic е in Jane
  glyph.from = "\"Jan\xD0\xB5 Doe\" <jd@mail.example>";
  EXPECT_TRUE(find(run(glyph, acme()), "PHISH_EXEC_IMPERSONATION")) << names(run(glyph, acme()));
  Mail inside;  // the real Jane Doe mails from the tenant's domain
  inside.from = "Jane Doe <jane@acme.example>";
  EXPECT_TRUE(run(inside, acme()).empty()) << names(run(inside, acme()));
  Mail org;
  org.from = "\"Acme Widgets Payroll\" <payroll@hr-portal.example>";
  out = run(org, acme());
  ASSERT_TRUE(find(out, "PHISH_TENANT_IMPERSONATION")) << names(out);
  EXPECT_EQ(find(out, "PHISH_TENANT_IMPERSONATION")->detail,
            "From name 'Acme Widgets Payroll' names the tenant (Acme Widgets), sent from outside: payroll@hr-portal.example");
  Mail other;  // another person's name is fine
  other.from = "Janet Doering <jd@partner.example>";
  EXPECT_TRUE(run(other, acme()).empty()) << names(run(other, acme()));
}

TEST(PhishCheck, ReplyToThatMatters) {
  Mail m;
  m.from = "PayPal <service@paypal.com>";
  m.extra = "Reply-To: <disputes@resolution-desk.example>\r\n";
  auto out = run(m);
  ASSERT_TRUE(find(out, "PHISH_REPLYTO_PROTECTED")) << names(out);
  EXPECT_EQ(find(out, "PHISH_REPLYTO_PROTECTED")->detail,
            "Reply-To disputes@resolution-desk.example for From service@paypal.com (PayPal)");
  Mail t;
  t.from = "Jane Doe <jane@acme.example>";
  t.extra = "Reply-To: <jane.doe.acme@outlook.com>\r\n";
  EXPECT_TRUE(find(run(t, acme()), "PHISH_REPLYTO_PROTECTED"));
  // A brand's Reply-To at another of its own domains, or a list's Reply-To for ordinary senders: fine.
  Mail own;
  own.from = "PayPal <service@paypal.com>";
  own.extra = "Reply-To: <help@paypal.me>\r\n";
  EXPECT_FALSE(find(run(own), "PHISH_REPLYTO_PROTECTED"));
  Mail freefrom;  // From at a brand's free-mail domain: an ordinary person, whose list Reply-To is fine
  freefrom.from = "Sam <sam@hotmail.com>";
  freefrom.extra = "Reply-To: <discuss@lists.project.example>\r\n";
  EXPECT_FALSE(find(run(freefrom), "PHISH_REPLYTO_PROTECTED"));
  Mail list;
  list.extra = "Reply-To: <discuss@lists.project.example>\r\n";
  EXPECT_TRUE(run(list).empty()) << names(run(list));
}

TEST(PhishCheck, OrdinaryMailStaysClean) {
  Mail news;
  news.from = "\"Shop Weekly\" <news@shop.example>";
  news.subject = "Autumn sale: 20% off";
  news.html =
      "<p>Hello! <a href=\"https://click.esp-mail.example/r/abc?u=https%3A%2F%2Fwww.shop.example%2Fsale\">www.shop.example</a>"
      "<img src=\"https://img.esp-mail.example/o.gif\"> Log in to your account to see your offers: "
      "<a href=\"https://click.esp-mail.example/r/def\">Sign in</a> "
      "<a href=\"https://www.facebook.com/shop\">Facebook</a> <a href=\"https://twitter.com/shop\">Twitter</a> "
      "<a href=\"https://bit.ly/shop-sale\">bit.ly/shop-sale</a></p>";
  auto out = run(news);
  EXPECT_TRUE(out.empty()) << names(out);
  Mail company;  // a company mailing about its own domain
  company.from = "\"Acme Widgets IT\" <it@acme.example>";
  company.subject = "Password change next week";
  company.html = "<p>Please log in at <a href=\"https://sso.acme.example/login\">sso.acme.example</a> and update "
                 "your password. <a href=\"https://www.acme-widgets.com/help\">Help</a></p>";
  out = run(company, acme());
  EXPECT_TRUE(out.empty()) << names(out);
  Mail brand;  // a brand's own notice
  brand.from = "\"Amazon.com\" <auto-confirm@amazon.com>";
  brand.subject = "Your Amazon.com order has shipped";
  brand.html = "<p>Track it at <a href=\"https://www.amazon.com/gp/css/order\">amazon.com</a>, "
               "<img src=\"https://images-na.ssl-images-amazon.com/x.png\"></p>";
  out = run(brand);
  EXPECT_TRUE(out.empty()) << names(out);
}

TEST(PhishEngine, VerdictIsPhishingAndNamesTheUrl) {
  scan::Engine e;
  links::LinksOptions lo;
  e.add(std::make_unique<links::LinksCheck>(lo));
  PhishOptions po;
  po.data = data();
  po.depends_on = {"links"};
  e.add(std::make_unique<PhishCheck>(po));
  ASSERT_TRUE(e.finalize());
  Mail m;
  m.from = "\"PayPal\" <service@paypa1.com>";
  m.subject = "Action required";
  m.html = "<p>Please verify your account: <a href=\"https://www.paypal.com@203.0.113.5/signin\">https://www.paypal.com/signin</a></p>";
  auto msg = message::parse(std::make_shared<const std::string>(m.raw()));
  auto v = e.scan(*msg, {});
  EXPECT_EQ(v.cls, scan::Class::Phishing) << v.to_text();
  EXPECT_NE(v.to_text().find("href https://www.paypal.com@203.0.113.5/signin"), std::string::npos) << v.to_text();
  EXPECT_NE(v.to_text().find("From paypa1.com (homoglyph lookalike of paypal.com)"), std::string::npos) << v.to_text();
  // The same engine leaves a clean newsletter clean.
  Mail news;
  news.html = "<p><a href=\"https://www.partner.example/news\">www.partner.example</a></p>";
  auto v2 = e.scan(*message::parse(std::make_shared<const std::string>(news.raw())), {});
  EXPECT_EQ(v2.cls, scan::Class::Clean) << v2.to_text();
  EXPECT_TRUE(v2.symbols.empty()) << v2.to_text();
}

// Hostile input: the fuzz seeds and mutations of them (truncated, bytes flipped) never make the
// checks throw, and every symbol keeps a non-empty detail.
TEST(PhishEngine, HostileMessagesNeverThrow) {
  links::LinksOptions lo;
  links::LinksCheck lc(lo);
  PhishOptions po;
  po.data = data();
  po.depends_on = {};
  PhishCheck pc(po);
  std::vector<std::string> seeds;
  for (auto& e : std::filesystem::directory_iterator(MM_FUZZ_CORPUS)) {
    std::ifstream in(e.path(), std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  seeds.push_back("From: \"\xff\xfe PayPal\" <a@xn--zz-->\r\nReply-To: <@>\r\n\r\n<a href=\"http://[::1\">x</a>"
                  "<a href=\"http://0x.0x.0x\">y</a><a href=\"https://%zz@%%/\">z</a><a href=\"http://\xe3\x80\x82\">.</a>"
                  "<form action=\"\"><input type=password>");
  ASSERT_GE(seeds.size(), 5u);
  auto facts = acme();
  size_t runs = 0;
  for (size_t i = 0; i < seeds.size(); ++i)
    for (int k = 0; k < 40; ++k) {
      std::string raw = seeds[i];
      uint32_t x = static_cast<uint32_t>(i * 7919 + static_cast<size_t>(k) * 104729 + 1);
      for (int f = 0; f < k && !raw.empty(); ++f) {
        x = x * 1103515245u + 12345u;
        raw[x % raw.size()] = static_cast<char>((x >> 16) & 0xff);
      }
      if (k % 5 == 4) raw.resize(raw.size() / 2);
      auto m = message::parse(std::make_shared<const std::string>(raw));
      scan::Envelope env;
      env.tenant_facts = facts;
      std::vector<scan::Symbol> none, out;
      EXPECT_NO_THROW(lc.run({*m, env, none}, out));
      const std::vector<scan::Symbol> prior = out;
      EXPECT_NO_THROW(pc.run({*m, env, prior}, out));
      for (auto& s : out) EXPECT_FALSE(s.detail.empty()) << s.name;
      ++runs;
    }
  EXPECT_EQ(runs, seeds.size() * 40);
}

}  // namespace
}  // namespace mm::phish
