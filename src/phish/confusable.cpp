#include "phish/confusable.h"

#include <unicode/uspoof.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "links/url.h"
#include "message/domain.h"

namespace mm::phish {
namespace {

const USpoofChecker* checker() {
  static const USpoofChecker* sc = [] {
    UErrorCode err = U_ZERO_ERROR;
    USpoofChecker* c = uspoof_open(&err);
    if (U_FAILURE(err)) return static_cast<USpoofChecker*>(nullptr);
    uspoof_setChecks(c, USPOOF_CONFUSABLE | USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS, &err);
    uspoof_setRestrictionLevel(c, USPOOF_HIGHLY_RESTRICTIVE);
    return U_FAILURE(err) ? nullptr : c;
  }();
  return sc;
}

// The part of a registrable domain before its public suffix ("paypal" of "paypal.co.uk").
std::string label_of(std::string_view reg) {
  std::string s(reg);
  size_t dot = s.find('.');
  return dot == std::string::npos ? s : s.substr(0, dot);
}

bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

const char* to_string(LookalikeKind k) {
  switch (k) {
    case LookalikeKind::None: return "none";
    case LookalikeKind::Homoglyph: return "homoglyph";
    case LookalikeKind::Typo: return "typo";
    case LookalikeKind::Combo: return "combo";
  }
  return "none";
}

std::string skeleton(std::string_view utf8) {
  const USpoofChecker* sc = checker();
  if (!sc || utf8.size() > 512) return std::string(utf8);
  char buf[2048];
  UErrorCode err = U_ZERO_ERROR;
  int32_t n = uspoof_getSkeletonUTF8(sc, 0, utf8.data(), static_cast<int32_t>(utf8.size()), buf, sizeof buf, &err);
  if (U_FAILURE(err) || n < 0 || n >= static_cast<int32_t>(sizeof buf)) return std::string(utf8);
  return std::string(buf, static_cast<size_t>(n));
}

bool confusable(std::string_view a, std::string_view b) {
  if (a == b) return false;
  return skeleton(a) == skeleton(b);
}

bool mixed_script(std::string_view utf8) {
  const USpoofChecker* sc = checker();
  if (!sc || utf8.empty() || utf8.size() > 512) return false;
  UErrorCode err = U_ZERO_ERROR;
  int32_t r = uspoof_checkUTF8(sc, utf8.data(), static_cast<int32_t>(utf8.size()), nullptr, &err);
  if (U_FAILURE(err)) return false;
  return (r & (USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS)) != 0;
}

size_t edit_distance(std::string_view a, std::string_view b, size_t cap) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > cap) return cap + 1;
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > cap) return cap + 1;
    prev2.swap(prev);
    prev.swap(cur);
  }
  return std::min(prev[m], cap + 1);
}

DomainName prepare(std::string_view reg) {
  DomainName n;
  n.domain = std::string(reg);
  n.label = label_of(n.domain);
  n.unicode_label = links::to_unicode(n.label);
  n.skel = skeleton(n.unicode_label);
  return n;
}

LookalikeKind lookalike(const DomainName& d, const DomainName& t) {
  if (d.domain.empty() || t.domain.empty() || d.domain == t.domain) return LookalikeKind::None;
  const std::string &dl = d.label, &tl = t.label;
  if (dl.size() < 3 || tl.size() < 4) return LookalikeKind::None;
  // Homoglyphs: different Unicode labels with the same skeleton (paypa1, pаypal, rnicrosoft).
  if (d.unicode_label != t.unicode_label && d.skel == t.skel) return LookalikeKind::Homoglyph;
  if (dl == tl) return LookalikeKind::None;  // same name, other suffix (paypal.de): often the brand's own
  if (tl.size() < 5) return LookalikeKind::None;
  if (!ascii(d.unicode_label)) {
    // A Unicode label whose skeleton is one edit away from the target's.
    if (edit_distance(d.skel, t.skel, 1) <= 1) return LookalikeKind::Homoglyph;
    return LookalikeKind::None;
  }
  const size_t cap = tl.size() >= 10 ? 2 : 1;
  if (edit_distance(dl, tl, cap) <= cap) return LookalikeKind::Typo;
  // Combo: the target label as a hyphenated word of the label (paypal-secure, secure-paypal).
  if (dl.size() > tl.size() + 1) {
    for (size_t at = dl.find(tl); at != std::string::npos; at = dl.find(tl, at + 1)) {
      bool left = at == 0 || dl[at - 1] == '-';
      bool right = at + tl.size() == dl.size() || dl[at + tl.size()] == '-';
      if (left && right) return LookalikeKind::Combo;
    }
  }
  return LookalikeKind::None;
}

LookalikeKind lookalike(std::string_view d, std::string_view target) {
  return lookalike(prepare(d), prepare(target));
}

}  // namespace mm::phish
