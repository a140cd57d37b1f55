#include "classifier/tokenizer.h"

#include "classifier/grams.h"
#include "classifier/ppm.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <iterator>
#include <string>

namespace mm::classifier {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t pair_hash(uint64_t a, uint64_t b, size_t distance) {
  return mix64(a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 31 ^ (distance << 56));
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"' || s.front() == '<'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"' || s.back() == '>' ||
                        s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// 0, 1, 2-3, 4-7, ... as "0", "1", "2", "4", ...
std::string bucket(size_t n) {
  if (n == 0) return "0";
  size_t b = 1;
  while (b * 2 <= n) b *= 2;
  return std::to_string(b);
}

bool is_cjk(UChar32 c) {
  UErrorCode err = U_ZERO_ERROR;
  UScriptCode sc = uscript_getScript(c, &err);
  if (U_FAILURE(err)) return false;
  return sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA || sc == USCRIPT_HANGUL;
}

void append_utf8(std::string& s, UChar32 c) {
  char buf[U8_MAX_LENGTH];
  int32_t n = 0;
  UBool err = false;
  U8_APPEND(buf, n, U8_MAX_LENGTH, c, err);
  if (!err) s.append(buf, static_cast<size_t>(n));
}


// "a1b2-cc" -> "a9a9-a": the shape of an identifier, independent of its exact value.
std::string shape(std::string_view s, size_t max = 24) {
  std::string out;
  char last = 0;
  for (char c : s.substr(0, 64)) {
    char k;
    if (c >= '0' && c <= '9') k = '9';
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k = 'a';
    else k = c;
    if (k != last || (k != '9' && k != 'a')) out.push_back(k);
    last = k;
    if (out.size() >= max) break;
  }
  return out;
}

const message::Header* find_header(const message::Message& m, std::string_view name) {
  for (const auto& h : m.headers) {
    if (h.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i) {
      char a = h.name[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      eq = a == b;
    }
    if (eq) return &h;
  }
  return nullptr;
}

struct Collector {
  const TokenizerOptions& opt;
  std::vector<std::string> tokens;
  std::vector<std::vector<std::string>> streams;  // word sequences for sparse bigrams
  std::vector<std::string> logistic_tokens;       // seen by the logistic learner only

  void add(std::string t) { tokens.push_back(std::move(t)); }
  // A token of an optional group (kTokExtrasLogistic routes them to the logistic learner only).
  void add_extra(std::string t) {
    (opt.extras & kTokExtrasLogistic ? logistic_tokens : tokens).push_back(std::move(t));
  }
  void add_prefixed(std::string_view prefix, const std::vector<std::string>& words) {
    for (const auto& w : words) tokens.push_back(std::string(prefix) + w);
  }

  void host_tokens(std::string_view prefix, std::string_view host) {
    if (host.empty()) return;
    std::string h = lower_ascii(host);
    add(std::string(prefix) + "host:" + h);
    if (message::is_ip_literal(h)) {
      add(std::string(prefix) + "ip");
      return;
    }
    add(std::string(prefix) + "dom:" + registrable_domain(h));
  }

  // Case and shape statistics of a text: share of capitals among letters.
  void caps_tokens(std::string_view prefix, std::string_view text) {
    size_t upper = 0, letters = 0;
    for (char c : text.substr(0, 20000)) {
      if (c >= 'A' && c <= 'Z') ++upper, ++letters;
      else if (c >= 'a' && c <= 'z') ++letters;
    }
    if (letters < 20) return;
    add(std::string(prefix) + "caps:" + std::to_string(upper * 10 / letters));
  }
};

void headers(const message::Message& m, Collector& c) {
  // Subject.
  std::vector<std::string> words;
  split_words(m.subject, words, c.opt);
  if (m.subject.empty()) c.add("s:empty");
  c.add_prefixed("s:", words);
  c.caps_tokens("s:", m.subject);
  if (m.subject.find('!') != std::string::npos) c.add("s:bang");
  if (m.subject.find('$') != std::string::npos) c.add("s:dollar");
  c.add("s:len:" + bucket(words.size()));
  c.streams.push_back(std::move(words));

  // Sender.
  if (m.from.address.empty()) {
    c.add("h:from:none");
  } else {
    c.add("h:from:addr:" + lower_ascii(m.from.address));
    c.host_tokens("h:from:", m.from.domain);
    auto at = m.from.address.find('@');
    c.add("h:from:local:" + shape(m.from.address.substr(0, at)));
  }
  if (m.from.display.empty()) {
    c.add("h:from:noname");
  } else {
    std::vector<std::string> name;
    split_words(m.from.display, name, c.opt);
    c.add_prefixed("h:from:name:", name);
    if (m.from.display.find('@') != std::string::npos) c.add("h:from:name-has-at");
  }
  for (const auto& r : m.reply_to) {
    c.host_tokens("h:replyto:", r.domain);
    if (!m.from.domain.empty() && registrable_domain(r.domain) != registrable_domain(m.from.domain))
      c.add("h:replyto:differs");
  }
  size_t rcpts = m.to.size() + m.cc.size();
  c.add("h:rcpts:" + bucket(rcpts));
  if (m.to.empty()) c.add("h:to:none");

  // Message-ID: domain and shape of the left side.
  if (m.message_id.empty()) {
    c.add("h:mid:none");
  } else {
    std::string_view id = trim(m.message_id);
    auto at = id.rfind('@');
    if (at == std::string_view::npos) {
      c.add("h:mid:noat");
    } else {
      c.host_tokens("h:mid:", lower_ascii(id.substr(at + 1)));
      c.add("h:mid:shape:" + shape(id.substr(0, at)));
    }
  }
  if (m.date == 0) c.add("h:date:bad");
  else if (auto* d = find_header(m, "date")) {
    std::string_view v = trim(d->raw);
    auto sp = v.rfind(' ');
    if (sp != std::string_view::npos) c.add("h:date:tz:" + lower_ascii(v.substr(sp + 1, 8)));
  }

  // Software and priority markers.
  for (const char* name : {"x-mailer", "user-agent"}) {
    if (auto* h = find_header(m, name)) {
      std::vector<std::string> w;
      split_words(h->value, w, c.opt);
      if (w.size() > 6) w.resize(6);
      c.add_prefixed("h:ua:", w);
      c.add("h:ua:shape:" + shape(h->value, 40));
    }
  }
  for (const char* name : {"x-priority", "x-msmail-priority", "importance", "precedence"}) {
    if (auto* h = find_header(m, name)) {
      std::vector<std::string> w;
      split_words(h->value, w, c.opt);
      c.add(std::string("h:") + name + ":" + (w.empty() ? std::string("-") : w.front()));
    }
  }
  if (find_header(m, "list-unsubscribe")) c.add("h:list-unsubscribe");
  if (auto* h = find_header(m, "list-id")) {
    std::string_view v = h->value;
    auto lt = v.rfind('<');
    if (lt != std::string_view::npos) v = v.substr(lt);
    c.add("h:list-id:" + lower_ascii(trim(v)));
  }
  if (!find_header(m, "mime-version")) c.add("h:no-mime-version");
  if (auto* h = find_header(m, "content-type")) {
    std::string v = lower_ascii(trim(h->value));
    auto semi = v.find(';');
    c.add("h:ct:" + std::string(trim(v.substr(0, semi))));
    if (v.find("boundary=\"----=_nextpart_") != std::string::npos) c.add("h:ct:boundary-nextpart");
  }
}

void structure(const message::Message& m, Collector& c) {
  if (m.has_html && !m.has_plain) c.add("html-only");
  else if (m.has_html) c.add("html-and-plain");
  else if (m.has_plain) c.add("plain-only");
  else c.add("no-text");
  c.add("parts:" + bucket(m.parts.size()));
  size_t attachments = 0;
  for (const auto& p : m.parts) {
    c.add("ct:" + p.content_type);
    if (!p.charset.empty()) c.add("cs:" + p.charset);
    if (!p.transfer_encoding.empty()) c.add("cte:" + lower_ascii(p.transfer_encoding));
    if (p.is_attachment) {
      ++attachments;
      c.add("att:ct:" + p.content_type);
      auto dot = p.filename.rfind('.');
      if (dot != std::string::npos && p.filename.size() - dot <= 8)
        c.add("att:ext:" + lower_ascii(p.filename.substr(dot + 1)));
      else if (!p.filename.empty())
        c.add("att:ext:none");
    }
  }
  c.add("att:n:" + bucket(attachments));
  for (const auto& f : m.findings) c.add("find:" + f);
  if (m.raw) c.add("size:" + bucket(m.raw->size() / 256));

  // Links.
  c.add("url:n:" + bucket(m.links.size()));
  std::vector<std::string> doms;
  size_t n = 0;
  for (const auto& l : m.links) {
    if (++n > 200) break;
    std::string_view href = l.href;
    auto colon = href.find(':');
    if (colon != std::string_view::npos && colon < 12) {
      std::string scheme = lower_ascii(href.substr(0, colon));
      if (scheme != "http" && scheme != "https") c.add("url:scheme:" + scheme);
    }
    if (l.host.empty()) continue;
    c.host_tokens("url:", l.host);
    doms.push_back(registrable_domain(l.host));
    // Path words: "remove", "cgi-bin", "unsubscribe", ...
    auto slash = href.find('/', href.find("//") == std::string_view::npos ? 0 : href.find("//") + 2);
    if (slash != std::string_view::npos) {
      std::vector<std::string> w;
      split_words(href.substr(slash, 200), w, c.opt);
      if (w.size() > 8) w.resize(8);
      c.add_prefixed("url:w:", w);
    }
    if (l.from_html && !l.text.empty()) {
      // Visible text that names a different domain than the href.
      std::string t = lower_ascii(trim(l.text));
      auto p = t.find("://");
      if (p != std::string::npos) t = t.substr(p + 3);
      if (t.rfind("www.", 0) == 0 || p != std::string::npos) {
        auto end = t.find_first_of("/ ?#:");
        std::string host = t.substr(0, end);
        if (registrable_domain(host) != registrable_domain(l.host)) c.add("url:text-mismatch");
      }
    }
    if (l.hidden) c.add("url:hidden");
  }
  std::sort(doms.begin(), doms.end());
  doms.erase(std::unique(doms.begin(), doms.end()), doms.end());
  c.add("url:doms:" + bucket(doms.size()));
  c.add("img:n:" + bucket(m.images.size()));
  n = 0;
  for (const auto& src : m.images) {
    if (++n > 50) break;
    std::string_view s = src;
    auto p = s.find("://");
    if (p == std::string_view::npos) {
      if (s.rfind("cid:", 0) == 0) c.add("img:cid");
      continue;
    }
    s = s.substr(p + 3);
    c.host_tokens("img:", s.substr(0, s.find_first_of("/:?#")));
  }
  if (!m.forms.empty()) c.add("form:present");
}

void body(const message::Message& m, Collector& c) {
  const std::string& text = m.body_text();
  std::vector<std::string> words;
  split_words(text, words, c.opt);
  if (words.size() > c.opt.max_words) words.resize(c.opt.max_words);
  c.add("words:" + bucket(words.size()));
  c.caps_tokens("b:", text);
  size_t bangs = static_cast<size_t>(std::count(text.begin(), text.end(), '!'));
  c.add("b:bangs:" + bucket(bangs));
  c.tokens.insert(c.tokens.end(), words.begin(), words.end());
  c.streams.push_back(std::move(words));
  if (!m.hidden_text.empty()) {
    std::vector<std::string> hidden;
    split_words(m.hidden_text, hidden, c.opt);
    if (hidden.size() > 300) hidden.resize(300);
    c.add("hidden:" + bucket(hidden.size()));
    c.add_prefixed("hid:", hidden);
  }
}

bool is_name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == ':';
}

// kTokHtml: the markup of the HTML body parts. Spamware and newsletter tools write distinctive
// HTML (font sizes and colours, centred tables, comments between letters); people's mail clients
// write little or none. Each tag name, tag:attribute pair and a few attribute values once.
void html_tokens(const message::Message& m, Collector& c) {
  constexpr size_t kMaxBytes = 256 << 10, kMaxTags = 4000;
  size_t tags = 0, comments = 0;
  for (const auto& p : m.parts) {
    if (p.is_attachment || p.content_type != "text/html") continue;
    std::string_view h(p.data);
    if (h.size() > kMaxBytes) h = h.substr(0, kMaxBytes);
    size_t i = 0;
    while (tags < kMaxTags) {
      i = h.find('<', i);
      if (i == std::string_view::npos || i + 1 >= h.size()) break;
      ++i;
      if (h.substr(i, 3) == "!--") {
        ++comments;
        size_t e = h.find("-->", i + 3);
        i = e == std::string_view::npos ? h.size() : e + 3;
        continue;
      }
      if (h[i] == '/' || h[i] == '!' || h[i] == '?') continue;  // closing tags, doctype, PIs
      size_t j = i;
      while (j < h.size() && j - i < 16 && is_name_char(h[j])) ++j;
      if (j == i) continue;
      std::string tag = lower_ascii(h.substr(i, j - i));
      ++tags;
      c.add_extra("html:tag:" + tag);
      // Attributes up to '>' (quotes honoured), at most 16 per tag.
      size_t k = j, nattr = 0;
      while (k < h.size() && h[k] != '>' && nattr < 16) {
        while (k < h.size() && (h[k] == ' ' || h[k] == '\t' || h[k] == '\r' || h[k] == '\n' || h[k] == '/')) ++k;
        size_t a = k;
        while (k < h.size() && k - a < 24 && is_name_char(h[k])) ++k;
        if (k == a) {
          if (k < h.size() && h[k] != '>') ++k;  // stray byte
          continue;
        }
        ++nattr;
        std::string attr = lower_ascii(h.substr(a, k - a));
        c.add_extra("html:attr:" + tag + ":" + attr);
        while (k < h.size() && (h[k] == ' ' || h[k] == '\t')) ++k;
        if (k >= h.size() || h[k] != '=') continue;
        ++k;
        while (k < h.size() && (h[k] == ' ' || h[k] == '\t')) ++k;
        std::string_view v;
        if (k < h.size() && (h[k] == '"' || h[k] == '\'')) {
          char q = h[k++];
          size_t e = h.find(q, k);
          if (e == std::string_view::npos || e - k > 512) e = std::min(h.size(), k + 512);
          v = h.substr(k, e - k);
          k = e + 1;
        } else {
          size_t e = k;
          while (e < h.size() && h[e] != ' ' && h[e] != '>' && h[e] != '\t' && h[e] != '\n' && e - k < 512) ++e;
          v = h.substr(k, e - k);
          k = e;
        }
        if (attr == "size" || attr == "color" || attr == "face" || attr == "bgcolor" || attr == "align" ||
            attr == "border" || attr == "cellpadding")
          c.add_extra("html:val:" + attr + ":" + lower_ascii(trim(v.substr(0, 24))));
      }
    }
  }
  if (m.has_html) {
    c.add_extra("html:tags:" + bucket(tags));
    if (comments) c.add_extra("html:comments:" + bucket(comments));
  }
}

// kTokHeaders: a few more header facts that spamware gets wrong or writes in its own way.
void header_extra_tokens(const message::Message& m, Collector& c) {
  if (!m.date_raw.empty()) c.add_extra("h:date:shape:" + shape(trim(m.date_raw), 40));
  for (const char* name : {"subject", "from"}) {
    const message::Header* h = find_header(m, name);
    if (!h) continue;
    std::string_view v = h->raw;
    for (size_t at = v.find("=?"); at != std::string_view::npos; at = v.find("=?", at + 2)) {
      size_t q1 = v.find('?', at + 2);
      if (q1 == std::string_view::npos || q1 + 2 >= v.size() || q1 - at > 40) break;
      c.add_extra(std::string("h:enc:") + name + ":" + lower_ascii(v.substr(at + 2, q1 - at - 2)) + ":" +
            lower_ascii(v.substr(q1 + 1, 1)));
    }
    bool eight = std::any_of(v.begin(), v.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; });
    if (eight) c.add_extra(std::string("h:8bit:") + name);
  }
  c.add_extra("h:rcvd:n:" + bucket(m.headers_named("received").size()));
  for (const auto& t : m.to) {
    auto at = t.address.find('@');
    c.add_extra("h:to:local:" + shape(t.address.substr(0, at)));
    if (!t.address.empty() && t.address == m.from.address) c.add_extra("h:to:is-from");
    break;  // the first recipient only
  }
  if (!m.from.display.empty() && m.from.display.find_first_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos &&
      m.from.display.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
    c.add_extra("h:from:name:allcaps");
}

// kTokAlign: whether the sender's infrastructure agrees with its From domain. Mail sent by (or for)
// the domain in From usually has its bounce address, Message-ID and relay hosts under that domain or
// under one other (the mailing service's); forged mail mixes unrelated ones. Only relations are
// tokens, never the hosts themselves (those say how a corpus was collected, not what the mail is).
std::string domain_of_addr(std::string_view v) {
  auto lt = v.find('<');
  if (lt != std::string_view::npos) {
    v.remove_prefix(lt + 1);
    v = v.substr(0, v.find('>'));
  }
  auto at = v.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string d = lower_ascii(trim(v.substr(at + 1)));
  while (!d.empty() && (d.back() == '.' || d.back() == ' ')) d.pop_back();
  return d.empty() ? d : registrable_domain(d);
}

void align_tokens(const message::Message& m, Collector& c) {
  const std::string from = m.from.domain.empty() ? std::string() : registrable_domain(m.from.domain);
  auto relation = [&](const std::string& d, const std::string& ref) -> const char* {
    if (d.empty()) return "none";
    if (ref.empty()) return "noref";
    return d == ref ? "same" : "diff";
  };
  std::string rp;
  if (auto* h = find_header(m, "return-path")) {
    rp = domain_of_addr(h->raw);
    std::string_view v = h->raw;
    auto at = v.rfind('@');
    auto lt = v.find('<');
    std::string_view local = v.substr(lt == std::string_view::npos ? 0 : lt + 1);
    local = local.substr(0, at == std::string_view::npos ? 0 : at - (lt == std::string_view::npos ? 0 : lt + 1));
    size_t digits = static_cast<size_t>(std::count_if(local.begin(), local.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
    if (digits >= 6 || local.find('=') != std::string_view::npos) c.add_extra("h:al:rp:verp");
    if (h->raw.find("<>") != std::string::npos) c.add_extra("h:al:rp:null");
  }
  c.add_extra(std::string("h:al:rp:") + relation(rp, from));
  const std::string mid = domain_of_addr(m.message_id);
  c.add_extra(std::string("h:al:mid:") + relation(mid, from));
  if (!rp.empty() && !mid.empty()) c.add_extra(std::string("h:al:mid-rp:") + (mid == rp ? "same" : "diff"));
  for (const char* name : {"sender", "errors-to"}) {
    if (auto* h = find_header(m, name)) c.add_extra(std::string("h:al:") + name + ":" + relation(domain_of_addr(h->raw), from));
  }
  // Relay hosts: the "from HOST" / "(HELO HOST)" / "by HOST" names of the Received chain.
  bool rcvd_from = false, rcvd_rp = false, any_host = false;
  size_t n = 0;
  for (const auto* h : m.headers_named("received")) {
    if (++n > 30) break;
    std::string v = lower_ascii(h->raw);
    for (const char* kw : {"from ", "helo ", "helo=", "by "}) {
      for (size_t at = v.find(kw); at != std::string::npos; at = v.find(kw, at + 1)) {
        size_t b = at + std::strlen(kw), e = b;
        while (e < v.size() && (std::isalnum(static_cast<unsigned char>(v[e])) || v[e] == '.' || v[e] == '-')) ++e;
        std::string host = v.substr(b, e - b);
        if (host.find('.') == std::string::npos || message::is_ip_literal(host)) continue;
        any_host = true;
        std::string d = registrable_domain(host);
        if (!from.empty() && d == from) rcvd_from = true;
        if (!rp.empty() && d == rp) rcvd_rp = true;
      }
    }
  }
  if (any_host) {
    c.add_extra(rcvd_from ? "h:al:rcvd:from" : "h:al:rcvd:not-from");
    if (!rp.empty()) c.add_extra(rcvd_rp ? "h:al:rcvd:rp" : "h:al:rcvd:not-rp");
  }
}

// kTokUrl: more of each link's shape than its host and path words.
void url_extra_tokens(const message::Message& m, Collector& c) {
  size_t n = 0;
  for (const auto& l : m.links) {
    if (++n > 200) break;
    if (l.host.empty()) continue;
    std::string_view href = l.href;
    auto dslash = href.find("//");
    std::string_view rest = dslash == std::string_view::npos ? href : href.substr(dslash + 2);
    size_t host_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, host_end);
    if (authority.find('@') != std::string_view::npos) c.add_extra("url:userinfo");
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) c.add_extra("url:port");
    if (!message::is_ip_literal(l.host)) {
      auto dot = l.host.rfind('.');
      if (dot != std::string::npos) c.add_extra("url:tld:" + l.host.substr(dot + 1));
      size_t labels = static_cast<size_t>(std::count(l.host.begin(), l.host.end(), '.')) + 1;
      c.add_extra("url:labels:" + bucket(labels));
      if (std::any_of(l.host.begin(), l.host.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        c.add_extra("url:host-digits");
    }
    if (host_end == std::string_view::npos) continue;
    std::string_view path = rest.substr(host_end);
    auto q = path.find_first_of("?#");
    if (q != std::string_view::npos && path[q] == '?') c.add_extra("url:query");
    std::string_view p = path.substr(0, q);
    c.add_extra("url:depth:" + bucket(static_cast<size_t>(std::count(p.begin(), p.end(), '/'))));
    auto slash = p.rfind('/');
    std::string_view file = slash == std::string_view::npos ? p : p.substr(slash + 1);
    auto dot = file.rfind('.');
    if (dot != std::string_view::npos && file.size() - dot <= 6 && file.size() - dot > 1)
      c.add_extra("url:ext:" + lower_ascii(file.substr(dot + 1)));
    if (href.find('%') != std::string_view::npos) c.add_extra("url:escaped");
  }
}

// kTokCharGrams: character 4-grams of the longer body words, so that "m0rtgage" and "mortgage"
// share evidence; the logistic learner only (Bayes would count the same clue many times).
void char_gram_tokens(const message::Message& m, Collector& c) {
  (void)m;
  constexpr size_t kMaxWords = 1000;
  if (c.streams.empty()) return;
  const auto& words = c.streams.back();  // the body
  for (size_t wi = 0; wi < words.size() && wi < kMaxWords; ++wi) {
    const std::string& w = words[wi];
    if (w.size() < 6 || w.size() > 24) continue;
    for (size_t i = 0; i + 4 <= w.size(); ++i) c.logistic_tokens.push_back("cg:" + w.substr(i, 4));
  }
}

// kTokPersonal: mail that names its recipient. A subscription names the address it was sent to
// ("you are subscribed as ..."); bulk spam to harvested lists often puts the local part in the
// subject ("ler, your offer"). Which way it points is learnt.
void personal_tokens(const message::Message& m, Collector& c) {
  if (m.to.empty() || m.to.front().address.empty()) return;
  std::string addr = lower_ascii(m.to.front().address);
  std::string local = addr.substr(0, addr.find('@'));
  std::string text = lower_ascii(m.body_text().substr(0, 200000));
  if (text.find(addr) != std::string::npos) c.add_extra("b:to-addr");
  else if (local.size() >= 3 && text.find(local) != std::string::npos) c.add_extra("b:to-local");
  if (local.size() >= 3 && lower_ascii(m.subject).find(local) != std::string::npos) c.add_extra("s:to-local");
}

Collector collect(const message::Message& m, const TokenizerOptions& opt) {
  Collector c{opt, {}, {}, {}};
  headers(m, c);
  structure(m, c);
  body(m, c);
  if (opt.extras & kTokHtml) html_tokens(m, c);
  if (opt.extras & kTokHeaders) header_extra_tokens(m, c);
  if (opt.extras & kTokUrl) url_extra_tokens(m, c);
  if (opt.extras & kTokCharGrams) char_gram_tokens(m, c);
  if (opt.extras & kTokPersonal) personal_tokens(m, c);
  if (opt.extras & kTokAlign) align_tokens(m, c);
  return c;
}

}  // namespace

uint64_t hash_token(std::string_view s) {
  uint64_t h = kFnvOffset;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= kFnvPrime;
  }
  return mix64(h);
}

void split_words(std::string_view text, std::vector<std::string>& out, const TokenizerOptions& opt) {
  std::string word;
  size_t word_chars = 0;
  std::vector<std::string> cjk;  // current run of CJK characters

  auto flush_word = [&] {
    while (!word.empty() && (word.back() == '.' || word.back() == '-' || word.back() == '\'' ||
                             word.back() == '_' || word.back() == '@'))
      word.pop_back();
    if (word.size() > opt.max_word_bytes) {
      out.push_back("skip:" + word.substr(0, 1) + ":" + std::to_string(word.size() / 10 * 10));
    } else if (word.size() >= opt.min_word_bytes || (word_chars == 1 && word.size() > 1)) {
      out.push_back(word);
      auto at = word.find('@');
      if (at != std::string::npos && at > 0 && at + 1 < word.size())
        out.push_back("email:dom:" + registrable_domain(word.substr(at + 1)));
    }
    word.clear();
    word_chars = 0;
  };
  auto flush_cjk = [&] {
    if (cjk.size() == 1) out.push_back(cjk[0]);
    for (size_t i = 0; i + 1 < cjk.size(); ++i) out.push_back(cjk[i] + cjk[i + 1]);
    cjk.clear();
  };

  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto len = static_cast<int32_t>(std::min<size_t>(text.size(), INT32_MAX));
  int32_t i = 0;
  while (i < len) {
    UChar32 c;
    U8_NEXT(s, i, len, c);
    if (c < 0) {  // invalid UTF-8: a boundary
      flush_word();
      flush_cjk();
      continue;
    }
    if (c >= 0x2E80 && is_cjk(c)) {
      flush_word();
      std::string ch;
      append_utf8(ch, c);
      cjk.push_back(std::move(ch));
      continue;
    }
    if (!cjk.empty()) flush_cjk();
    if (u_isalnum(c) || c == '$') {
      append_utf8(word, u_foldCase(c, U_FOLD_CASE_DEFAULT));
      ++word_chars;
    } else if (!word.empty() && (c == '\'' || c == '-' || c == '.' || c == '_' || c == '@')) {
      word.push_back(static_cast<char>(c));
    } else if (c == 0x2019 && !word.empty()) {  // typographic apostrophe
      word.push_back('\'');
    } else {
      flush_word();
    }
  }
  flush_word();
  flush_cjk();
}

std::vector<std::string> tokenize(const message::Message& msg, const TokenizerOptions& opt) {
  return collect(msg, opt).tokens;
}

Features extract(const message::Message& msg, const TokenizerOptions& opt) {
  Collector c = collect(msg, opt);
  Features f;
  f.hashes.reserve(c.tokens.size() * 2);
  for (const auto& t : c.tokens) f.hashes.push_back(hash_token(t));
  for (const auto& t : c.logistic_tokens) f.logistic_only.push_back(hash_token(t));
  if (opt.osb_window > 0) {
    auto& pairs = (opt.extras & kTokOsbLogistic) ? f.logistic_only : f.hashes;
    for (size_t si = 0; si < c.streams.size(); ++si) {
      const auto& words = c.streams[si];
      std::vector<uint64_t> h(words.size());
      for (size_t i = 0; i < words.size(); ++i) h[i] = hash_token(words[i]) + si;
      for (size_t i = 0; i < h.size(); ++i)
        for (size_t d = 1; d <= opt.osb_window && i + d < h.size(); ++d)
          pairs.push_back(pair_hash(h[i], h[i + d], d));
    }
  }
  for (auto* v : {&f.hashes, &f.logistic_only}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  // A hash both learners see need not be repeated for the logistic learner alone.
  if (!f.logistic_only.empty()) {
    std::vector<uint64_t> only;
    only.reserve(f.logistic_only.size());
    std::set_difference(f.logistic_only.begin(), f.logistic_only.end(), f.hashes.begin(), f.hashes.end(),
                        std::back_inserter(only));
    f.logistic_only = std::move(only);
  }
  f.tokens = std::move(c.tokens);
  if (opt.extras & kTokByteGrams) f.grams = byte_grams(msg, opt.gram_n, opt.gram_body_bytes);
  if (opt.extras & kTokPpm) f.ppm_text = ppm_text(msg, opt.ppm_body_bytes);
  return f;
}

}  // namespace mm::classifier
