#include "links/url.h"

#include <unicode/uidna.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "message/domain.h"

namespace mm::links {

const char* to_string(Source s) {
  switch (s) {
    case Source::Href: return "href";
    case Source::Text: return "text";
    case Source::Image: return "img";
    case Source::Form: return "form";
    case Source::Attachment: return "attachment";
    case Source::Redirect: return "redirect";
  }
  return "href";
}

namespace {

bool istarts(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
  return true;
}

void lower(std::string& s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool* changed = nullptr) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
      if (a >= 0 && b >= 0) {
        out.push_back(static_cast<char>(a * 16 + b));
        i += 2;
        if (changed) *changed = true;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Numeric character references (&#104; &#x68;) and &amp;, as left by double encoding.
std::string decode_entities(std::string_view s, bool& changed) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      if (istarts(s.substr(i), "&amp;")) {
        out.push_back('&');
        i += 4;
        changed = true;
        continue;
      }
      if (i + 2 < s.size() && s[i + 1] == '#') {
        size_t j = i + 2;
        bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
        if (hex) ++j;
        uint32_t cp = 0;
        size_t digits = 0;
        while (j < s.size() && digits < 8) {
          int v = hex ? hexval(s[j]) : (std::isdigit(static_cast<unsigned char>(s[j])) ? s[j] - '0' : -1);
          if (v < 0) break;
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          ++j, ++digits;
        }
        if (digits > 0 && cp > 0 && cp < 0x110000 && !(cp >= 0xD800 && cp <= 0xDFFF)) {
          if (j < s.size() && s[j] == ';') ++j;
          append_utf8(cp, out);
          i = j - 1;
          changed = true;
          continue;
        }
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

const UIDNA* idna() {
  static const UIDNA* u = [] {
    UErrorCode err = U_ZERO_ERROR;
    UIDNA* p = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE, &err);
    return U_FAILURE(err) ? nullptr : p;
  }();
  return u;
}

bool ascii_only(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

std::string to_ascii(std::string_view host) {
  if (host.empty() || host.size() > 1024 || !idna()) return {};
  char buf[1024];
  UErrorCode err = U_ZERO_ERROR;
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  int32_t n = uidna_nameToASCII_UTF8(idna(), host.data(), static_cast<int32_t>(host.size()), buf, sizeof buf, &info, &err);
  // Hyphen and label-length rules are not what browsers enforce; other errors mean "no such host".
  const uint32_t tolerated = UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4 |
                             UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG | UIDNA_ERROR_EMPTY_LABEL;
  if (U_FAILURE(err) || n <= 0 || n >= static_cast<int32_t>(sizeof buf) || (info.errors & ~tolerated)) return {};
  std::string out(buf, static_cast<size_t>(n));
  lower(out);
  return out;
}

std::string to_unicode(std::string_view host) {
  std::string low(host);
  lower(low);
  if (low.find("xn--") == std::string::npos || low.size() > 1024 || !idna()) return low;
  char buf[2048];
  UErrorCode err = U_ZERO_ERROR;
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  int32_t n = uidna_nameToUnicodeUTF8(idna(), low.data(), static_cast<int32_t>(low.size()), buf, sizeof buf, &info, &err);
  if (U_FAILURE(err) || n <= 0 || n >= static_cast<int32_t>(sizeof buf)) return low;
  return std::string(buf, static_cast<size_t>(n));
}

std::optional<std::string> parse_ipv4(std::string_view host) {
  if (host.empty() || host.size() > 64) return std::nullopt;
  if (host.back() == '.') host.remove_suffix(1);
  std::vector<uint64_t> parts;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || parts.size() == 4) return std::nullopt;
    int base = 10;
    if (label.size() > 1 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
      base = 16;
      label.remove_prefix(2);
    } else if (label.size() > 1 && label[0] == '0') {
      base = 8;
      label.remove_prefix(1);
    }
    uint64_t v = 0;
    for (char c : label) {
      int d = hexval(c);
      if (d < 0 || d >= base) return std::nullopt;
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
      if (v > 0xFFFFFFFFull) return std::nullopt;
    }
    parts.push_back(v);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // a.b.c.d; a.b.c (c: 16 bits); a.b (b: 24 bits); a (32 bits).
  uint64_t addr = 0;
  const size_t n = parts.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    if (parts[i] > 255) return std::nullopt;
    addr |= parts[i] << (24 - 8 * i);
  }
  const uint64_t last_max = n == 1 ? 0xFFFFFFFFull : n == 2 ? 0xFFFFFFull : n == 3 ? 0xFFFFull : 0xFFull;
  if (parts.back() > last_max) return std::nullopt;
  addr |= parts.back();
  return std::to_string((addr >> 24) & 255) + "." + std::to_string((addr >> 16) & 255) + "." +
         std::to_string((addr >> 8) & 255) + "." + std::to_string(addr & 255);
}

std::optional<Url> normalize(std::string_view raw) {
  Url u;
  u.raw = std::string(raw.substr(0, 4096));
  std::string s;
  // Trim, drop tabs/newlines (browsers do), then decode entities left in the text.
  {
    std::string_view t = raw.substr(0, 8192);
    while (!t.empty() && static_cast<unsigned char>(t.front()) <= ' ') t.remove_prefix(1);
    while (!t.empty() && static_cast<unsigned char>(t.back()) <= ' ') t.remove_suffix(1);
    for (char c : t) {
      if (c == '\t' || c == '\r' || c == '\n') {
        u.tricks |= kWhitespace;
        continue;
      }
      s.push_back(c);
    }
  }
  if (s.find("&#") != std::string::npos || s.find("&amp;") != std::string::npos) {
    // Numeric entities in the scheme or host hide where the link goes; "&amp;" in a query is just
    // HTML escaping left in text.
    const size_t ent = s.find("&#");
    const size_t sep = s.find("//");
    const size_t host_end = sep == std::string::npos ? std::string::npos : s.find('/', sep + 2);
    bool changed = false;
    s = decode_entities(s, changed);
    if (changed && ent != std::string::npos && (host_end == std::string::npos || ent < host_end)) u.tricks |= kEntities;
  }
  std::string_view v = s;
  std::string_view rest;
  if (istarts(v, "http:") || istarts(v, "https:")) {
    const size_t colon = v.find(':');
    u.scheme = std::string(v.substr(0, colon));
    if (u.scheme != "http" && u.scheme != "https" && u.scheme != "HTTP" && u.scheme != "HTTPS")
      u.tricks |= kMixedCaseScheme;
    lower(u.scheme);
    rest = v.substr(colon + 1);
    size_t slashes = 0;
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\')) {
      if (rest.front() == '\\') u.tricks |= kBackslash;
      rest.remove_prefix(1);
      ++slashes;
    }
  } else if (v.starts_with("//")) {
    rest = v.substr(2);
  } else if (istarts(v, "www.")) {
    rest = v;
  } else {
    return std::nullopt;
  }
  const size_t auth_end = rest.find_first_of("/\\?#");
  std::string_view auth = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (const size_t at = auth.rfind('@'); at != std::string_view::npos) {
    u.userinfo = percent_decode(auth.substr(0, at));
    u.tricks |= kUserinfo;
    auth.remove_prefix(at + 1);
  }
  std::string host;
  if (!auth.empty() && auth.front() == '[') {
    const size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(auth.substr(0, close + 1));
    lower(host);
    std::string_view after = auth.substr(close + 1);
    if (after.size() > 1 && after.front() == ':') u.port = static_cast<uint16_t>(std::atoi(std::string(after.substr(1)).c_str()));
    u.ip = true;
  } else {
    std::string_view h = auth;
    if (const size_t colon = h.find(':'); colon != std::string_view::npos) {
      std::string p(h.substr(colon + 1));
      int port = std::atoi(p.c_str());
      if (port > 0 && port < 65536) u.port = static_cast<uint16_t>(port);
      h = h.substr(0, colon);
    }
    bool pct = false;
    host = percent_decode(h, &pct);
    if (pct) u.tricks |= kPercentHost;
    // Ideographic and fullwidth full stops separate labels like '.'.
    for (std::string_view dot : {"\xE3\x80\x82", "\xEF\xBC\x8E", "\xEF\xBD\xA1"}) {
      for (size_t k = host.find(dot); k != std::string::npos; k = host.find(dot, k + 1)) {
        host.replace(k, dot.size(), ".");
        u.tricks |= kFullwidthDot;
      }
    }
    while (!host.empty() && host.back() == '.') host.pop_back();
    if (host.empty()) return std::nullopt;
    if (auto ip4 = parse_ipv4(host)) {
      std::string low = host;
      lower(low);
      if (*ip4 != low) u.tricks |= kNumericIp;
      host = *ip4;
      u.ip = true;
    } else {
      for (char c : host)
        if (c == ' ' || c == '<' || c == '>' || c == '"' || c == '%' || static_cast<unsigned char>(c) < 0x20)
          return std::nullopt;
      std::string ascii = ascii_only(host) && host.find("xn--") == std::string::npos && host.find("XN--") == std::string::npos
                              ? host
                              : to_ascii(host);
      if (ascii.empty()) {
        if (!ascii_only(host)) return std::nullopt;
        ascii = host;  // odd but ASCII: keep it as written
      }
      lower(ascii);
      host = std::move(ascii);
      // A host that is a number after IDNA mapping (fullwidth digits) is an IP too.
      if (auto ip4b = parse_ipv4(host)) {
        host = *ip4b;
        u.ip = true;
        u.tricks |= kNumericIp;
      }
    }
  }
  if (host.empty() || host.size() > 253 + 2) return std::nullopt;
  u.host = host;
  u.idn = !u.ip && (host.starts_with("xn--") || host.find(".xn--") != std::string::npos);
  u.host_unicode = u.idn ? to_unicode(host) : host;
  u.registrable = u.ip ? host : message::registrable_domain(host);
  std::string path(tail.substr(0, 2048));
  std::replace(path.begin(), path.end(), '\\', '/');
  u.path = percent_decode(path);
  return u;
}

namespace {

// Plain-text URL finder for attachments (the body's are in Message::links already).
void text_urls(std::string_view text, const std::function<void(std::string_view)>& fn) {
  size_t i = 0;
  const size_t n = text.size();
  while (i + 4 <= n) {
    size_t h = text.find_first_of("hHwW", i);
    if (h == std::string_view::npos || h + 4 > n) break;
    std::string_view r = text.substr(h);
    bool ok = istarts(r, "http://") || istarts(r, "https://") || istarts(r, "www.");
    if (ok && h > 0) {
      unsigned char p = static_cast<unsigned char>(text[h - 1]);
      if (std::isalnum(p) || p == '.' || p == '-' || p == '_' || p == '/' || p == '@') ok = false;
    }
    if (!ok) {
      i = h + 1;
      continue;
    }
    size_t e = h;
    while (e < n) {
      unsigned char c = static_cast<unsigned char>(text[e]);
      if (c <= 0x20 || c == '<' || c == '>' || c == '"' || c == '\'' || c == '`' || c == '{' || c == '}' || c == '|')
        break;
      ++e;
    }
    while (e > h && std::string_view(".,;:!?)]*").find(text[e - 1]) != std::string_view::npos) --e;
    fn(text.substr(h, e - h));
    i = e > h ? e : h + 1;
  }
}

}  // namespace

std::vector<Url> extract(const message::Message& m, const ExtractOptions& opt) {
  std::vector<Url> out;
  std::set<std::pair<int, std::string>> seen;
  auto add = [&](std::string_view raw, Source src, const std::string& text, bool hidden, int part) {
    if (out.size() >= opt.max_urls) return;
    if (!seen.emplace(static_cast<int>(src), std::string(raw.substr(0, 512)) + "\x1f" + text.substr(0, 256)).second) return;
    auto u = normalize(raw);
    if (!u) return;
    u->source = src;
    u->text = text;
    u->hidden = hidden;
    u->part = part;
    out.push_back(std::move(*u));
  };
  for (const auto& l : m.links) add(l.href, l.from_html ? Source::Href : Source::Text, l.text, l.hidden, l.part);
  for (const auto& i : m.images) add(i, Source::Image, "", false, -1);
  for (const auto& f : m.forms) add(f, Source::Form, "", false, -1);
  for (size_t p = 0; p < m.parts.size(); ++p) {
    const auto& part = m.parts[p];
    if (!part.is_attachment || part.content_type == "text/html") continue;  // HTML attachments: in links already
    bool texty = part.content_type.starts_with("text/") || part.content_type == "application/json" ||
                 part.content_type == "application/xml";
    if (!texty) continue;
    text_urls(part.data, [&](std::string_view url) { add(url, Source::Attachment, "", false, static_cast<int>(p)); });
  }
  if (opt.follow_redirects) {
    // URLs carried inside another URL's path or query (open redirects, tracking wrappers).
    const size_t n = out.size();
    for (size_t k = 0; k < n && out.size() < opt.max_urls; ++k) {
      const std::string& path = out[k].path;
      for (size_t at = path.find("http", 1); at != std::string::npos; at = path.find("http", at + 4)) {
        std::string_view r = std::string_view(path).substr(at);
        if (!(istarts(r, "http://") || istarts(r, "https://"))) continue;
        size_t e = r.find_first_of("&# \"'<>");
        std::string inner(r.substr(0, e));
        std::string_view ref = inner;
        auto u = normalize(ref);
        if (!u || u->registrable == out[k].registrable) continue;
        if (!seen.emplace(static_cast<int>(Source::Redirect), inner).second) continue;
        u->source = Source::Redirect;
        u->part = out[k].part;
        out.push_back(std::move(*u));
        break;
      }
    }
  }
  return out;
}

std::string host_in_text(std::string_view text) {
  std::string t(text.substr(0, 1024));
  lower(t);
  auto is_trim = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '<' || c == '>' || c == '"' || c == '\'' || c == '(' ||
           c == ')' || c == '[' || c == ']';
  };
  size_t b = 0, e = t.size();
  while (b < e && is_trim(t[b])) ++b;
  while (e > b && is_trim(t[e - 1])) --e;
  std::string_view s(t.data() + b, e - b);
  bool explicit_url = false;
  for (std::string_view scheme : {"https://", "http://"})
    if (s.substr(0, scheme.size()) == scheme) {
      s.remove_prefix(scheme.size());
      explicit_url = true;
    }
  if (s.substr(0, 4) == "www.") explicit_url = true;
  size_t n = 0;
  while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '.' || s[n] == '-' ||
                          static_cast<unsigned char>(s[n]) >= 0x80))
    ++n;
  std::string_view host = s.substr(0, n);
  std::string_view rest = s.substr(n);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // Plain text must be just the domain (maybe with a path); "Read more." is not a domain.
  if (!explicit_url && !(rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == ':' || rest == "."))
    return "";
  if (host.empty() || host.find('.') == std::string_view::npos) return "";
  if (message::is_ip_literal(host)) return std::string(host);
  std::string ascii = ascii_only(host) ? std::string(host) : to_ascii(host);
  if (ascii.empty()) return "";
  std::string_view tld = std::string_view(ascii).substr(ascii.rfind('.') + 1);
  if (tld.size() < 2) return "";
  for (char c : tld)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return "";
  // The last label must be a real suffix (xn-- included): "file.pdf" or "v1.2" are not domains.
  if (!message::is_public_suffix(std::string(tld))) return "";
  return ascii;
}

}  // namespace mm::links
