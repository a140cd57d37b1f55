// Lookalike names: ICU's spoof checker (UTS #39 confusable skeletons, mixed-script detection)
// plus edit distance, for comparing a domain a message uses with the domains it may imitate
// (a brand's, the tenant's own). Thread-safe after first use.
#pragma once
#include <string>
#include <string_view>

namespace mm::phish {

// UTS #39 skeleton of a UTF-8 string ("pаypa1" with a Cyrillic а -> the skeleton of "paypal").
std::string skeleton(std::string_view utf8);
// True when ICU finds the two UTF-8 strings confusable (same skeleton) and they differ.
bool confusable(std::string_view a, std::string_view b);
// True when the UTF-8 label mixes scripts in a way UTS #39 calls suspicious (e.g. Latin with
// Cyrillic in one label), or uses characters outside the "highly restrictive" profile.
bool mixed_script(std::string_view utf8);
// Damerau-Levenshtein (optimal string alignment) distance of two ASCII strings, capped at cap+1.
size_t edit_distance(std::string_view a, std::string_view b, size_t cap = 3);

enum class LookalikeKind { None, Homoglyph, Typo, Combo };
const char* to_string(LookalikeKind);

// A registrable domain prepared once for many comparisons.
struct DomainName {
  std::string domain;         // ASCII (punycode) registrable domain
  std::string label;          // before the public suffix: "paypal" of "paypal.co.uk"
  std::string unicode_label;  // label decoded from punycode
  std::string skel;           // skeleton(unicode_label)
};
DomainName prepare(std::string_view registrable_domain);
LookalikeKind lookalike(const DomainName& d, const DomainName& target);

// Whether registrable domain `d` (ASCII, punycode allowed) imitates registrable domain `target`:
// Homoglyph: confusable skeletons of their labels ("paypa1.com", "xn--pypal-4ve.com", "rnicrosoft");
// Typo: one edit away (two for labels of 10+ letters), labels of at least 5 letters, any suffix;
// Combo: "paypal-secure.com" style (target label plus a hyphenated word), labels of 5+ letters.
// Equal domains and domains below the target are None.
LookalikeKind lookalike(std::string_view d, std::string_view target);

}  // namespace mm::phish
