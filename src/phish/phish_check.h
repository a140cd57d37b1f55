// The "phishing" check: signals that a message imitates someone to steal credentials or money.
//  - link text showing one domain while the href goes to another (HTML_LINK_TEXT_MISMATCH);
//  - forms in mail, with password fields or an off-site action (HTML_FORM, PHISH_FORM_*);
//  - login lures: account wording plus a login-looking link off the sender's domain;
//  - brand names (rules/links/brands.txt) in the From display name or subject of mail from a
//    domain that is not the brand's;
//  - lookalike domains of the brands and of the tenant's own domains (ICU confusable skeletons,
//    edit distance, hyphenated combinations), mixed-script punycode hosts;
//  - impersonation of the tenant's protected names (executives) or of the tenant itself by mail
//    from outside, and Reply-To addresses that take the answers to another domain when From is the
//    tenant's or a brand's (a free-mail Reply-To for a company From is the rule HDR_REPLYTO_FREEMAIL).
// Symbols carry Class::Phishing hints; details name the URL, domain or header that fired.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "links/lists.h"
#include "phish/confusable.h"
#include "scan/check.h"
#include "util/status.h"

namespace mm::phish {

struct Brand {
  std::string name;                  // "Bank of America"
  std::vector<std::string> domains;  // registrable domains, ASCII
};

// A brand or tenant domain prepared for lookalike comparison.
struct Target {
  DomainName name;
  int brand = -1;        // index into PhishData::brands, -1 for tenant domains
  bool primary = true;   // the brand's first domain: typo and combination lookalikes are checked
                         // against it only (homoglyphs against every domain)
};

struct PhishData {
  std::vector<Brand> brands;
  links::DomainSet freemail;          // free-mail providers: a brand's free-mail domain (hotmail.com)
                                      // does not make a display name or Reply-To the brand's
  std::vector<Target> brand_targets;  // every brand domain once
};

// Parses brands.txt ("Name: domain domain ...", '#' comments); error names the bad line.
Result<std::vector<Brand>> parse_brands(std::string_view text);
// Loads brands.txt and freemail.txt from `dir` (the project's rules/links).
Result<std::shared_ptr<const PhishData>> load_data(const std::filesystem::path& dir);
// Builds the data from parts (tests).
std::shared_ptr<const PhishData> make_data(std::vector<Brand> brands, const std::vector<std::string>& freemail = {});

struct PhishOptions {
  std::shared_ptr<const PhishData> data;
  // Its lure wording and phishing evidence come from these checks' symbols (a check sees only its
  // dependencies' symbols: scan/check.h).
  std::vector<std::string> depends_on{"rules", "heuristics", "links"};
};

class PhishCheck : public scan::Check {
 public:
  explicit PhishCheck(PhishOptions opt);
  std::string name() const override { return "phishing"; }
  std::vector<std::string> depends_on() const override { return opt_.depends_on; }
  double max_abs_score() const override;
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;

 private:
  PhishOptions opt_;
};

// Lower-case words of a display name, punctuation dropped, "Last, First" turned around
// ("Smith, John (CEO)" -> "john smith ceo").
std::string normalize_name(std::string_view name);

}  // namespace mm::phish
