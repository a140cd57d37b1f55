#include "rules/heuristics.h"


#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <set>

#include "message/domain.h"
#include "rules/text_util.h"

namespace mm::rules {

using detail::ascii_lower;
using detail::next_code_point;
using scan::Class;
using scan::Symbol;

namespace {

// Scores, kept together so that max_abs_score() stays in step with run().
struct Score {
  const char* name;
  double score;
  Class hint;
};
constexpr Score kHtmlOnly{"HTML_ONLY", 0.3, Class::Clean};
constexpr Score kManyLinks{"LINKS_MANY", 0.5, Class::Clean};
constexpr Score kLittleText{"LINKS_LITTLE_TEXT", 1.0, Class::Clean};
constexpr Score kHidden{"HIDDEN_TEXT", 0.5, Class::Clean};
constexpr Score kHiddenLarge{"HIDDEN_TEXT_LARGE", 2.5, Class::Spam};
constexpr Score kDateMissing{"DATE_MISSING", 1.0, Class::Clean};
constexpr Score kDateMalformed{"DATE_MALFORMED", 1.0, Class::Clean};
constexpr Score kDateFuture{"DATE_IN_FUTURE", 1.5, Class::Clean};
constexpr Score kDatePast{"DATE_IN_PAST", 1.0, Class::Clean};
constexpr Score kMsgidMissing{"MSGID_MISSING", 1.0, Class::Clean};
constexpr Score kMsgidMalformed{"MSGID_MALFORMED", 0.8, Class::Clean};
constexpr Score kFromNameAddr{"FROM_NAME_HAS_ADDRESS", 1.5, Class::Phishing};
constexpr Score kSubjectCaps{"SUBJECT_CAPS", 1.0, Class::Clean};
constexpr Score kBodyCaps{"BODY_CAPS", 1.0, Class::Clean};
constexpr Score kSubjectNonAscii{"SUBJECT_NON_ASCII", 0.3, Class::Clean};
constexpr Score kSubjectMixed{"SUBJECT_MIXED_SCRIPT", 1.5, Class::Phishing};
constexpr Score kBodyMixed{"BODY_MIXED_SCRIPT", 1.5, Class::Phishing};
constexpr Score kZeroWidth{"TEXT_ZERO_WIDTH", 1.5, Class::Clean};
constexpr Score kEmptyBodyAttach{"EMPTY_BODY_ATTACHMENT", 1.0, Class::Clean};
constexpr Score kImageOnly{"HTML_IMAGE_ONLY", 1.5, Class::Clean};
constexpr Score kAll[] = {kHtmlOnly,     kManyLinks,   kLittleText,
                          kHidden,       kHiddenLarge,  kDateMissing,   kDateMalformed, kDateFuture,  kDatePast,
                          kMsgidMissing, kMsgidMalformed, kFromNameAddr, kSubjectCaps,  kBodyCaps,    kSubjectNonAscii,
                          kSubjectMixed, kBodyMixed,    kZeroWidth,     kEmptyBodyAttach, kImageOnly};

void emit(std::vector<Symbol>& out, const Score& s, std::string detail, double scale = 1.0) {
  out.push_back({s.name, s.score * scale, std::move(detail), s.hint});
}

size_t non_space(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += !(c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v');
  return n;
}

std::string fmt_pct(double share) { return std::to_string(static_cast<int>(std::lround(share * 100))) + "%"; }

std::string human_span(int64_t s) {
  if (s >= 2 * 86400) return std::to_string(s / 86400) + " days";
  return std::to_string(s / 3600) + " hours";
}

// Capital letters among ASCII letters in the first `cap` bytes.
std::pair<size_t, size_t> caps(std::string_view s, size_t cap = 64 << 10) {
  size_t letters = 0, upper = 0;
  for (char c : s.substr(0, cap)) {
    if (c >= 'A' && c <= 'Z') ++letters, ++upper;
    else if (c >= 'a' && c <= 'z') ++letters;
  }
  return {letters, upper};
}

enum Script { kNone = 0, kLatin = 1, kCyrillic = 2, kGreek = 4, kOtherLetter = 8 };

int script_of(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return kLatin;
  if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF)) return kLatin;
  if (c >= 0x400 && c <= 0x52F) return kCyrillic;
  if (c >= 0x370 && c <= 0x3FF) return kGreek;
  if (c >= 0x80 && c != 0xA0 && !(c >= 0x2000 && c <= 0x206F) && !(c >= 0x3000 && c <= 0x303F) && c != 0xFFFD &&
      !(c >= 0x1F000))
    return kOtherLetter;  // rough: any other non-punctuation code point
  return kNone;
}

bool zero_width(char32_t c) { return c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF || c == 0xAD; }

struct TextStats {
  size_t letters = 0, non_ascii_letters = 0;
  size_t mixed_words = 0;
  std::string first_mixed;
  size_t zero_width = 0;
};

// Words mixing Latin with Cyrillic or Greek ("PаyPal" with a Cyrillic а) are homoglyph tricks;
// zero-width characters inside text split words for filters but not for readers.
TextStats text_stats(std::string_view s, size_t cap = 256 << 10) {
  TextStats st;
  s = s.substr(0, cap);
  // Pure ASCII (most mail): no other scripts, no zero-width characters.
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return st;
  int word_scripts = 0;
  size_t word_start = 0;
  auto end_word = [&](size_t at) {
    bool mixed = (word_scripts & kLatin) && (word_scripts & (kCyrillic | kGreek));
    if (mixed) {
      if (st.mixed_words++ == 0) st.first_mixed = std::string(s.substr(word_start, std::min<size_t>(at - word_start, 60)));
    }
    word_scripts = 0;
  };
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    char32_t c = next_code_point(s, i);
    if (zero_width(c)) {
      ++st.zero_width;
      continue;  // does not end a word
    }
    int sc = script_of(c);
    if (sc == kNone) {
      if (word_scripts) end_word(at);
      continue;
    }
    if (!word_scripts) word_start = at;
    word_scripts |= sc;
    ++st.letters;
    if (c >= 0x80) ++st.non_ascii_letters;
  }
  if (word_scripts) end_word(s.size());
  return st;
}

bool valid_message_id(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  if (v.size() < 5 || v.front() != '<' || v.back() != '>') return false;
  v = v.substr(1, v.size() - 2);
  size_t at = v.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= v.size() || v.find('@', at + 1) != std::string_view::npos)
    return false;
  for (char c : v)
    if (static_cast<unsigned char>(c) <= 32 || c == '<' || c == '>' || c == '"' || c == ',') return false;
  return true;
}

// An address written inside a display name ("PayPal <service@paypal.example>" as the *name*).
std::string address_in(std::string_view s) {
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    auto local_ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._%+-'").find(c) != std::string_view::npos; };
    auto dom_ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; };
    size_t b = at, e = at + 1;
    while (b > 0 && local_ok(s[b - 1])) --b;
    while (e < s.size() && dom_ok(s[e])) ++e;
    while (e > at + 1 && s[e - 1] == '.') --e;
    auto dom = s.substr(at + 1, e - at - 1);
    if (b < at && dom.find('.') != std::string_view::npos) return ascii_lower(s.substr(b, e - b));
  }
  return "";
}

}  // namespace

HeuristicsCheck::HeuristicsCheck(HeuristicsOptions opt) : opt_(std::move(opt)) {
  if (!opt_.now)
    opt_.now = [] {
      return static_cast<int64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    };
  (void)message::registrable_domain("warm.up.example");  // load the suffix list now, not on the first message
}

double HeuristicsCheck::max_abs_score() const {
  double total = 0;
  for (const auto& s : kAll) total += std::abs(s.score);
  return total - kHidden.score;  // HIDDEN_TEXT and HIDDEN_TEXT_LARGE exclude each other
}

void HeuristicsCheck::run(const scan::Context& ctx, std::vector<Symbol>& out) const {
  const auto& m = ctx.msg;
  const std::string& body = m.body_text();

  // --- HTML structure ---
  if (m.has_html && !m.has_plain) emit(out, kHtmlOnly, "no text/plain alternative");

  // Link text vs href, forms and IP-literal links: the links and phishing checks (src/links, src/phish).
  std::set<std::string> hrefs;
  for (const auto& l : m.links)
    if (hrefs.size() < 1000) hrefs.insert(l.href);

  size_t visible = non_space(body);
  if (hrefs.size() >= 40) emit(out, kManyLinks, std::to_string(hrefs.size()) + " distinct links");
  if (hrefs.size() >= 3 && visible < 25 * hrefs.size() && visible < 200)
    emit(out, kLittleText, std::to_string(hrefs.size()) + " links, " + std::to_string(visible) + " characters of text");

  size_t hidden = non_space(m.hidden_text);
  size_t html_visible = non_space(m.html_text);
  if (hidden >= 100) {  // below that: e.g. a newsletter's hidden preview line
    double share = static_cast<double>(hidden) / static_cast<double>(hidden + html_visible);
    std::string d = std::to_string(hidden) + " hidden characters, " + fmt_pct(share) + " of the HTML text";
    if (hidden >= 200 && share >= 0.3) emit(out, kHiddenLarge, d);
    else emit(out, kHidden, d);
  }
  if (m.has_html && !m.images.empty() && non_space(m.has_plain ? body : m.html_text) < 40)
    emit(out, kImageOnly, std::to_string(m.images.size()) + " image(s), " + std::to_string(non_space(m.html_text)) +
                              " characters of text");

  bool has_attachment = std::any_of(m.parts.begin(), m.parts.end(), [](const auto& p) { return p.is_attachment; });
  if (has_attachment && visible < 10 && html_visible < 10) {
    std::string name;
    for (const auto& p : m.parts)
      if (p.is_attachment) {
        name = p.filename.empty() ? p.content_type : p.filename;
        break;
      }
    emit(out, kEmptyBodyAttach, "no text, attachment " + name.substr(0, 80));
  }

  // --- Date ---
  if (detail::find_headers(m, "Date").empty()) {
    emit(out, kDateMissing, "no Date header");
  } else if (m.date == 0) {
    emit(out, kDateMalformed, "Date: " + m.date_raw.substr(0, 80));
  } else if (opt_.check_dates) {
    int64_t now = opt_.now();
    if (m.date > now + opt_.future_slack_s) emit(out, kDateFuture, human_span(m.date - now) + " ahead");
    else if (m.date < now - opt_.past_limit_s) emit(out, kDatePast, human_span(now - m.date) + " old");
  }

  // --- Message-ID ---
  auto mid = detail::find_headers(m, "Message-ID");
  if (mid.empty()) emit(out, kMsgidMissing, "no Message-ID header");
  else if (!valid_message_id(mid.front()->raw.empty() ? mid.front()->value : mid.front()->raw))
    emit(out, kMsgidMalformed, "Message-ID: " + mid.front()->raw.substr(0, 80));

  // --- From display name: showing an address of another organisation (a name showing another
  // mailbox of the sender's own domain, "News@shop.example" <bounce@shop.example>, is no disguise) ---
  if (!m.from.display.empty()) {
    std::string shown = address_in(m.from.display);
    auto at = shown.rfind('@');
    if (!shown.empty() && shown != ascii_lower(m.from.address) &&
        (at == std::string::npos || m.from.domain.empty() ||
         message::registrable_domain(shown.substr(at + 1)) != message::registrable_domain(m.from.domain)))
      emit(out, kFromNameAddr, "name shows " + shown + ", sent from " + m.from.address);
  }

  // --- Capitals ---
  if (auto [letters, upper] = caps(m.subject); letters >= 10 && upper * 10 >= letters * 7)
    emit(out, kSubjectCaps, fmt_pct(static_cast<double>(upper) / static_cast<double>(letters)) + " capitals in subject");
  if (auto [letters, upper] = caps(body); letters >= 100 && upper * 2 >= letters)
    emit(out, kBodyCaps, fmt_pct(static_cast<double>(upper) / static_cast<double>(letters)) + " capitals in text");

  // --- Scripts and invisible characters ---
  TextStats subj = text_stats(m.subject);
  if (subj.letters >= 8 && subj.non_ascii_letters * 2 > subj.letters && subj.non_ascii_letters < subj.letters)
    emit(out, kSubjectNonAscii, fmt_pct(static_cast<double>(subj.non_ascii_letters) / static_cast<double>(subj.letters)) +
                                    " non-ASCII letters mixed with ASCII in subject");
  if (subj.mixed_words) emit(out, kSubjectMixed, "word mixes Latin with Cyrillic/Greek: " + subj.first_mixed);
  TextStats bst = text_stats(body);
  if (bst.mixed_words >= 3)
    emit(out, kBodyMixed, std::to_string(bst.mixed_words) + " words mix Latin with Cyrillic/Greek, e.g. " + bst.first_mixed);
  if (size_t zw = bst.zero_width + subj.zero_width; zw >= 3)
    emit(out, kZeroWidth, std::to_string(zw) + " zero-width characters in subject/text");
}

}  // namespace mm::rules
