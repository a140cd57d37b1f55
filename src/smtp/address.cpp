#include "smtp/address.h"

#include <cstdint>
#include <vector>

namespace mm::smtp {
namespace {

constexpr size_t kMaxLocal = 64;   // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxDomain = 255; // §4.5.3.1.2
constexpr size_t kMaxPath = 256;   // §4.5.3.1.3, including the angle brackets

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool is_atext(unsigned char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Length of the valid UTF-8 sequence (non-ASCII lead byte) at s[i], or 0 when invalid.
size_t utf8_seq(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                          // surrogate
  return n;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && i - start < 3) v = v * 10 + unsigned(s[i++] - '0');
    if (i == start || v > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view s) {
  // Groups of 1-4 hex digits, at most one "::", optionally ending in an IPv4 dotted quad.
  if (s.empty()) return false;
  size_t dc = s.find("::");
  if (dc != std::string_view::npos && s.find("::", dc + 1) != std::string_view::npos) return false;
  auto count = [](std::string_view part, bool allow_v4, int& groups) {
    if (part.empty()) return true;
    size_t i = 0;
    while (true) {
      size_t colon = part.find(':', i);
      std::string_view g = part.substr(i, colon == std::string_view::npos ? std::string_view::npos : colon - i);
      if (colon == std::string_view::npos && allow_v4 && g.find('.') != std::string_view::npos) {
        if (!valid_ipv4(g)) return false;
        groups += 2;
        return true;
      }
      if (g.empty() || g.size() > 4) return false;
      for (char c : g)
        if (!is_hex(static_cast<unsigned char>(c))) return false;
      ++groups;
      if (colon == std::string_view::npos) return true;
      i = colon + 1;
    }
  };
  int groups = 0;
  if (dc == std::string_view::npos) return count(s, true, groups) && groups == 8;
  if (!count(s.substr(0, dc), false, groups) || !count(s.substr(dc + 2), true, groups)) return false;
  return groups <= 7;
}

struct Parser {
  std::string_view s;
  size_t i = 0;
  bool utf8 = false;
  std::string err;

  bool at_end() const { return i >= s.size(); }
  unsigned char cur() const { return static_cast<unsigned char>(s[i]); }

  bool fail(std::string msg) {
    if (err.empty()) err = std::move(msg);
    return false;
  }
  // Explains why cur() cannot appear here.
  bool bad_char(const char* where) {
    unsigned char c = cur();
    if (c < 32 || c == 127) return fail(std::string("control character in ") + where);
    if (c >= 128) {
      if (!utf8) return fail(std::string("non-ASCII character in ") + where + " (requires SMTPUTF8)");
      return fail(std::string("invalid UTF-8 in ") + where);
    }
    return fail(std::string("invalid character '") + static_cast<char>(c) + "' in " + where);
  }
  // Consumes a valid UTF-8 sequence (when allowed) appending it to out.
  bool take_utf8(std::string* out) {
    if (!utf8 || cur() < 128) return false;
    size_t n = utf8_seq(s, i);
    if (n == 0) return false;
    if (out) out->append(s.substr(i, n));
    i += n;
    return true;
  }

  bool is_term(bool bracketed) const {
    if (at_end()) return !bracketed;
    return bracketed ? s[i] == '>' : s[i] == ' ';
  }

  // Domain or address literal, up to a char in `stops`; writes the normalized form.
  bool domain(std::string& out, std::string_view stops) {
    size_t start = i;
    if (!at_end() && s[i] == '[') {
      size_t close = s.find(']', i);
      if (close == std::string_view::npos) return fail("unterminated address literal");
      std::string_view lit = s.substr(i + 1, close - i - 1);
      for (char c : lit)
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126)
          return fail("invalid character in address literal");
      if (lit.size() > 5 && iequals(lit.substr(0, 5), "IPv6:")) {
        if (!valid_ipv6(lit.substr(5))) return fail("invalid IPv6 address literal");
        out = "[IPv6:";
        for (char c : lit.substr(5)) out += lower(c);
        out += ']';
      } else if (lit.find(':') != std::string_view::npos) {
        return fail("unsupported address literal");
      } else {
        if (!valid_ipv4(lit)) return fail("invalid IPv4 address literal");
        out = "[" + std::string(lit) + "]";
      }
      i = close + 1;
      return true;
    }
    out.clear();
    size_t label_start = 0;
    while (!at_end() && stops.find(s[i]) == std::string_view::npos) {
      unsigned char c = cur();
      if (c == '.') {
        if (out.size() == label_start) return fail("empty label in domain");
        if (out.size() - label_start > 63) return fail("domain label longer than 63 octets");
        if (out.back() == '-' || out[label_start] == '-') return fail("domain label begins or ends with '-'");
        out += '.';
        label_start = out.size();
        ++i;
      } else if (is_alnum(c) || c == '-' || c == '_') {
        out += lower(static_cast<char>(c));
        ++i;
      } else if (!take_utf8(&out)) {
        return bad_char("domain");
      }
    }
    if (i - start > kMaxDomain) return fail("domain longer than 255 octets");
    if (!out.empty() && out.back() == '.' ) out.pop_back();  // one trailing dot: FQDN form
    else if (!out.empty()) {
      if (out.size() - label_start > 63) return fail("domain label longer than 63 octets");
      if (out.back() == '-' || out[label_start] == '-') return fail("domain label begins or ends with '-'");
    }
    if (out.empty()) return fail("empty domain");
    return true;
  }

  bool local_part(Address& a) {
    size_t start = i;
    if (!at_end() && s[i] == '"') {
      a.quoted_local = true;
      ++i;
      while (true) {
        if (at_end()) return fail("unterminated quoted local part");
        unsigned char c = cur();
        if (c == '"') { ++i; break; }
        if (c == '\\') {
          ++i;
          if (at_end()) return fail("unterminated quoted local part");
          if (cur() >= 32 && cur() <= 126) { a.local += s[i++]; continue; }
          if (!take_utf8(&a.local)) return bad_char("local part");
          continue;
        }
        if (c >= 32 && c <= 126) { a.local += s[i++]; continue; }
        if (!take_utf8(&a.local)) return bad_char("local part");
      }
    } else {
      // Dot-string; like Postfix we tolerate leading, trailing and repeated dots.
      while (!at_end() && s[i] != '@') {
        unsigned char c = cur();
        if (is_atext(c) || c == '.') { a.local += s[i++]; continue; }
        if (c == '>' || c == ' ') break;
        if (!take_utf8(&a.local)) return bad_char("local part");
      }
    }
    if (i - start > kMaxLocal) return fail("local part longer than 64 octets");
    if (a.local.empty()) return fail("empty local part");
    return true;
  }

  // The path itself, after an optional '<' and before the terminator.
  bool path(PathArg& out, bool bracketed, bool is_to) {
    Address& a = out.addr;
    if (!at_end() && s[i] == '@') {  // A-d-l ":" (source route), parsed and dropped
      a.had_source_route = true;
      while (true) {
        if (at_end() || s[i] != '@') return fail("invalid source route");
        ++i;
        std::string ignored;
        if (!domain(ignored, ",:> ")) return fail("invalid source route: " + err);
        if (at_end()) return fail("invalid source route");
        if (s[i] == ',') { ++i; continue; }
        if (s[i] == ':') { ++i; break; }
        return fail("invalid source route");
      }
    }
    if (!local_part(a)) return false;
    if (is_term(bracketed) && is_to && !a.quoted_local && iequals(a.local, "postmaster")) return true;
    if (at_end() || s[i] != '@') {
      if (at_end() || is_term(bracketed)) return fail("missing domain");
      return bad_char("local part");
    }
    ++i;
    if (!domain(a.domain, bracketed ? ">" : " ")) return false;
    if (!is_term(bracketed)) {
      if (at_end()) return fail("missing '>'");
      return bad_char("domain");
    }
    return true;
  }

  bool params(PathArg& out) {
    while (!at_end()) {
      if (s[i] != ' ') return bad_char("parameters");
      while (!at_end() && s[i] == ' ') ++i;
      if (at_end()) break;
      std::string key, value;
      if (!is_alnum(cur())) return bad_char("parameter name");
      while (!at_end() && (is_alnum(cur()) || s[i] == '-')) key += upper(s[i++]);
      if (!at_end() && s[i] == '=') {
        ++i;
        while (!at_end() && s[i] != ' ') {
          unsigned char c = cur();
          if (c >= 33 && c <= 126 && c != '=') { value += s[i++]; continue; }
          if (!take_utf8(&value)) return bad_char("parameter value");
        }
        if (value.empty()) return fail("empty value for parameter " + key);
      } else if (!at_end() && s[i] != ' ') {
        return bad_char("parameter name");
      }
      if (!out.params.emplace(key, value).second) return fail("duplicate parameter " + key);
    }
    return true;
  }
};

bool needs_quoting(std::string_view local) {
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!is_atext(u) && c != '.' && u < 128) return true;
  }
  return local.empty();
}

}  // namespace

std::string Address::str() const {
  if (empty()) return "";
  std::string out;
  if (needs_quoting(local)) {
    out += '"';
    for (char c : local) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out = local;
  }
  if (!domain.empty()) out += "@" + domain;
  return out;
}

Result<PathArg> parse_path_arg(std::string_view arg, std::string_view keyword, bool allow_utf8) {
  if (arg.size() <= keyword.size() || !iequals(arg.substr(0, keyword.size()), keyword) ||
      arg[keyword.size()] != ':')
    return Status::error("expected " + std::string(keyword) + ":<address>");
  bool is_to = iequals(keyword, "TO");
  Parser p{arg, keyword.size() + 1, allow_utf8, {}};
  while (!p.at_end() && p.s[p.i] == ' ') ++p.i;
  if (p.at_end()) return Status::error("missing address");

  PathArg out;
  size_t path_start = p.i;
  bool bracketed = p.s[p.i] == '<';
  if (bracketed) ++p.i;
  if (bracketed && !p.at_end() && p.s[p.i] == '>') {
    if (is_to) return Status::error("null address not allowed for a recipient");
    out.null_path = true;
  } else if (!p.path(out, bracketed, is_to)) {
    return Status::error(p.err);
  }
  if (bracketed) ++p.i;  // '>'
  size_t path_len = p.i - path_start + (bracketed ? 0 : 2);
  if (path_len > kMaxPath) return Status::error("path longer than 256 octets");
  if (!p.params(out)) return Status::error(p.err);
  return out;
}

bool has_routing_tricks(const Address& a) {
  return a.had_source_route || a.local.find_first_of("%!@") != std::string::npos;
}

}  // namespace mm::smtp
