#include "auth/spf.h"

#include <arpa/inet.h>

#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

namespace mm::auth {

const char* to_string(SpfResult r) {
  switch (r) {
    case SpfResult::None: return "none";
    case SpfResult::Neutral: return "neutral";
    case SpfResult::Pass: return "pass";
    case SpfResult::Fail: return "fail";
    case SpfResult::SoftFail: return "softfail";
    case SpfResult::TempError: return "temperror";
    case SpfResult::PermError: return "permerror";
  }
  return "?";
}

namespace {

struct Abort {
  SpfResult result;
  std::string why;
};

struct Ip {
  bool v6 = false;
  unsigned char b[16] = {};
};

std::optional<Ip> parse_ip(const std::string& s) {
  Ip ip;
  if (inet_pton(AF_INET, s.c_str(), ip.b) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.b) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(ip.b, mapped, 12) == 0) {  // IPv4-mapped: the client is IPv4
      std::memmove(ip.b, ip.b + 12, 4);
      std::memset(ip.b + 4, 0, 12);
      return ip;
    }
    ip.v6 = true;
    return ip;
  }
  return std::nullopt;
}

bool in_net(const Ip& ip, const Ip& net, int bits) {
  if (ip.v6 != net.v6) return false;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((ip.b[i] & mask) != (net.b[i] & mask)) return false;
  }
  return true;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// RFC 7208 §4.3: a usable <domain>: labels 1..63 characters, at least two labels.
bool valid_domain(const std::string& d) {
  std::string s = d;
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty() || s.size() > 253 || s.find('.') == std::string::npos) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string::npos) dot = s.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return false;
    start = dot + 1;
  }
  return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool toplabel(const std::string& l) {
  if (l.empty() || !is_alnum(l.front()) || !is_alnum(l.back())) return false;
  bool alpha = false, dash = false;
  for (char c : l) {
    if (c == '-') dash = true;
    else if (is_alpha(c)) alpha = true;
    else if (!is_digit(c)) return false;
  }
  return alpha || dash;
}

// A cidr suffix "/N": no leading zero, max `hi`. Returns -1 when invalid.
int parse_cidr(const std::string& s, int hi) {
  if (s.empty() || s.size() > 3) return -1;
  for (char c : s)
    if (!is_digit(c)) return -1;
  if (s.size() > 1 && s[0] == '0') return -1;
  int v = std::stoi(s);
  return v > hi ? -1 : v;
}

struct Term {
  bool modifier = false;
  char qualifier = '+';
  std::string name;         // lower case
  std::string arg;          // domain-spec, network or modifier value ("" when absent)
  bool has_arg = false;
  int cidr4 = 32, cidr6 = 128;
  std::string text;         // as written
};

class Evaluator {
 public:
  Evaluator(Lookup& l, const Ip& ip, std::string ip_text, std::string sender, std::string helo, SpfLimits lim,
            std::string receiver)
      : L(l), ip_(ip), ip_text_(std::move(ip_text)), sender_(std::move(sender)), helo_(std::move(helo)),
        lim_(lim), receiver_(std::move(receiver)) {
    auto at = sender_.rfind('@');
    local_ = at == std::string::npos ? "postmaster" : sender_.substr(0, at);
    if (local_.empty()) local_ = "postmaster";
    sender_domain_ = at == std::string::npos ? sender_ : sender_.substr(at + 1);
    sender_ = local_ + "@" + sender_domain_;
  }

  SpfOutcome run(const std::string& domain) {
    SpfOutcome o;
    o.domain = domain;
    o.sender = sender_;
    try {
      o.result = check_host(domain, 0, true, o);
    } catch (const Abort& a) {
      o.result = a.result;
      o.reason = a.why;
    }
    o.lookups = lookups_;
    o.void_lookups = voids_;
    return o;
  }

 private:
  Lookup& L;
  Ip ip_;
  std::string ip_text_, sender_, helo_;
  SpfLimits lim_;
  std::string receiver_, local_, sender_domain_;
  int lookups_ = 0, voids_ = 0;

  void count_lookup() {
    if (++lookups_ > lim_.max_lookups)
      throw Abort{SpfResult::PermError, "more than " + std::to_string(lim_.max_lookups) + " DNS lookups"};
  }
  void count_void() {
    if (++voids_ > lim_.max_void)
      throw Abort{SpfResult::PermError, "more than " + std::to_string(lim_.max_void) + " void lookups"};
  }
  const dns::Answer& must(const std::string& name, dns::Type t) {
    const dns::Answer& a = L.get(name, t);
    if (a.rcode == dns::Rcode::TempError)
      throw Abort{SpfResult::TempError, std::string("DNS ") + to_string(t) + " " + name + ": " + a.error};
    return a;
  }

  // ---- record retrieval and parsing -------------------------------------------------------
  static bool is_spf1(const std::string& r) {
    return r.size() >= 6 && strncasecmp(r.c_str(), "v=spf1", 6) == 0 && (r.size() == 6 || r[6] == ' ');
  }

  std::optional<std::string> fetch(const std::string& domain) {
    const dns::Answer& a = must(domain, dns::Type::TXT);
    if (!a.ok()) return std::nullopt;
    std::vector<const std::string*> found;
    for (auto& r : a.records)
      if (is_spf1(r)) found.push_back(&r);
    if (found.empty()) return std::nullopt;
    if (found.size() > 1) throw Abort{SpfResult::PermError, "more than one SPF record at " + domain};
    return *found[0];
  }

  // Validates a macro-string; `domain_spec` also requires a valid domain-end.
  static bool valid_macro_string(const std::string& s, bool exp) {
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c != '%') {
        if (c == ' ' && exp) continue;  // explain-string = *( macro-string / SP )
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
        continue;
      }
      if (++i >= s.size()) return false;
      if (s[i] == '%' || s[i] == '_' || s[i] == '-') continue;
      if (s[i] != '{') return false;
      size_t close = s.find('}', i);
      if (close == std::string::npos || close == i + 1) return false;
      std::string body = s.substr(i + 1, close - i - 1);
      char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(body[0])));
      if (!std::strchr("slodipvh", letter) && !(exp && std::strchr("crt", letter))) return false;
      size_t k = 1;
      while (k < body.size() && is_digit(body[k])) ++k;
      if (k < body.size() && (body[k] == 'r' || body[k] == 'R')) ++k;
      for (; k < body.size(); ++k)
        if (!std::strchr(".-+,/_=", body[k])) return false;
      i = close;
    }
    return true;
  }

  static bool valid_domain_spec(const std::string& s) {
    if (s.empty() || !valid_macro_string(s, false)) return false;
    if (s.back() == '}') return true;  // ends with a macro-expand
    std::string t = s;
    if (t.back() == '.') t.pop_back();
    auto dot = t.rfind('.');
    if (dot == std::string::npos) return false;
    return toplabel(t.substr(dot + 1));
  }

  static std::vector<Term> parse(const std::string& record, const std::string& domain) {
    std::vector<Term> terms;
    bool redirect = false, exp = false;
    size_t pos = 6;  // after "v=spf1"
    while (pos < record.size()) {
      while (pos < record.size() && record[pos] == ' ') ++pos;
      if (pos >= record.size()) break;
      size_t end = record.find(' ', pos);
      if (end == std::string::npos) end = record.size();
      std::string text = record.substr(pos, end - pos);
      pos = end;
      Term t;
      t.text = text;
      auto bad = [&](const std::string& why) {
        return Abort{SpfResult::PermError, "syntax error in SPF record of " + domain + ": '" + text + "' " + why};
      };
      // Modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
      size_t n = 0;
      while (n < text.size() && (is_alnum(text[n]) || text[n] == '-' || text[n] == '_' || text[n] == '.')) ++n;
      if (n > 0 && n < text.size() && text[n] == '=' && is_alpha(text[0])) {
        t.modifier = true;
        t.name = lower(text.substr(0, n));
        t.arg = text.substr(n + 1);
        t.has_arg = true;
        if (t.name == "redirect" || t.name == "exp") {
          bool& seen = t.name == "redirect" ? redirect : exp;
          if (seen) throw bad("appears twice");
          seen = true;
          if (!valid_domain_spec(t.arg)) throw bad("has an invalid domain");
        } else if (!valid_macro_string(t.arg, false)) {
          throw bad("has an invalid macro");
        }
        terms.push_back(std::move(t));
        continue;
      }
      size_t p = 0;
      if (std::strchr("+-~?", text[0])) {
        t.qualifier = text[0];
        p = 1;
      }
      size_t q = p;
      while (q < text.size() && is_alnum(text[q])) ++q;
      t.name = lower(text.substr(p, q - p));
      std::string rest = text.substr(q);
      static const char* known[] = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"};
      bool ok = false;
      for (auto* k : known) ok = ok || t.name == k;
      if (!ok) throw bad("is not a known mechanism");
      if (t.name == "all") {
        if (!rest.empty()) throw bad("takes no argument");
      } else if (t.name == "ip4" || t.name == "ip6") {
        if (rest.size() < 2 || rest[0] != ':') throw bad("needs an address");
        std::string net = rest.substr(1);
        int hi = t.name == "ip4" ? 32 : 128;
        int cidr = hi;
        auto slash = net.find('/');
        if (slash != std::string::npos) {
          cidr = parse_cidr(net.substr(slash + 1), hi);
          if (cidr < 0) throw bad("has an invalid prefix length");
          net = net.substr(0, slash);
        }
        unsigned char buf[16];
        if (inet_pton(t.name == "ip4" ? AF_INET : AF_INET6, net.c_str(), buf) != 1) throw bad("has an invalid address");
        t.arg = net;
        t.has_arg = true;
        (t.name == "ip4" ? t.cidr4 : t.cidr6) = cidr;
      } else {
        bool cidr_ok = t.name == "a" || t.name == "mx";
        std::string spec;
        if (!rest.empty() && rest[0] == ':') {
          spec = rest.substr(1);
          rest.clear();
          if (cidr_ok) {
            // Trailing dual-cidr-length: "/N", "//N" or "/N//N".
            auto dd = spec.rfind("//");
            if (dd != std::string::npos && spec.find_first_not_of("0123456789", dd + 2) == std::string::npos) {
              rest = spec.substr(dd);
              spec = spec.substr(0, dd);
            }
            auto s1 = spec.rfind('/');
            if (s1 != std::string::npos && s1 + 1 < spec.size() &&
                spec.find_first_not_of("0123456789", s1 + 1) == std::string::npos) {
              rest = spec.substr(s1) + rest;
              spec = spec.substr(0, s1);
            }
          }
          if (!valid_domain_spec(spec)) throw bad("has an invalid domain");
          t.arg = spec;
          t.has_arg = true;
        } else if (t.name == "include" || t.name == "exists") {
          throw bad("needs a domain");
        }
        if (!rest.empty()) {
          if (!cidr_ok) throw bad("has trailing characters");
          // rest: "/N", "//N", "/N//N"
          std::string r4, r6;
          auto dd = rest.find("//");
          if (dd != std::string::npos) {
            r6 = rest.substr(dd + 2);
            r4 = rest.substr(0, dd);
            if (r6.empty()) throw bad("has an invalid prefix length");
          } else {
            r4 = rest;
          }
          if (!r4.empty()) {
            if (r4[0] != '/' || (t.cidr4 = parse_cidr(r4.substr(1), 32)) < 0) throw bad("has an invalid prefix length");
          }
          if (!r6.empty() && (t.cidr6 = parse_cidr(r6, 128)) < 0) throw bad("has an invalid prefix length");
        }
      }
      terms.push_back(std::move(t));
    }
    return terms;
  }

  // ---- macros (§7) --------------------------------------------------------------------
  std::string ip_dotted() const {
    if (!ip_.v6) {
      char b[16];
      std::snprintf(b, sizeof b, "%u.%u.%u.%u", ip_.b[0], ip_.b[1], ip_.b[2], ip_.b[3]);
      return b;
    }
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
      if (i) out += '.';
      out += hex[ip_.b[i] >> 4];
      out += '.';
      out += hex[ip_.b[i] & 15];
    }
    return out;
  }
  std::string ip_readable() const {
    char b[INET6_ADDRSTRLEN];
    inet_ntop(ip_.v6 ? AF_INET6 : AF_INET, ip_.b, b, sizeof b);
    return b;
  }

  // The validated host name of the client (for %{p} and "ptr"): PTR names whose A/AAAA records
  // contain the client address; `target` preferred. Empty when none.
  std::vector<std::string> validated_names(bool prefetch_only_first = false) {
    (void)prefetch_only_first;
    const dns::Answer& ptr = L.get(dns::reverse_name(ip_text_), dns::Type::PTR);
    std::vector<std::string> names;
    if (!ptr.ok()) return names;
    dns::Type t = ip_.v6 ? dns::Type::AAAA : dns::Type::A;
    size_t n = std::min<size_t>(ptr.records.size(), size_t(lim_.max_ptr_names));
    bool all = true;
    for (size_t i = 0; i < n; ++i) all = L.want(ptr.records[i], t) && all;
    if (!all) throw NeedDns{};
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      const dns::Answer& a = L.get(ptr.records[i], t);
      if (!a.ok()) continue;  // errors here make the name not validated (§5.5)
      for (auto& addr : a.records) {
        auto x = parse_ip(addr);
        if (x && in_net(ip_, *x, ip_.v6 ? 128 : 32)) {
          out.push_back(ptr.records[i]);
          break;
        }
      }
    }
    return out;
  }

  static bool is_sub_or_same(const std::string& name, const std::string& target) {
    std::string n = lower(name), t = lower(target);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return n == t || (n.size() > t.size() && n.compare(n.size() - t.size(), t.size(), t) == 0 &&
                      n[n.size() - t.size() - 1] == '.');
  }

  std::string macro_value(char letter, const std::string& domain) {
    switch (letter) {
      case 's': return sender_;
      case 'l': return local_;
      case 'o': return sender_domain_;
      case 'd': return domain;
      case 'i': return ip_dotted();
      case 'v': return ip_.v6 ? "ip6" : "in-addr";
      case 'h': return helo_;
      case 'c': return ip_readable();
      case 'r': return receiver_;
      case 't': return std::to_string(static_cast<long long>(std::time(nullptr)));
      case 'p': {
        auto names = validated_names();
        if (names.empty()) return "unknown";
        for (auto& n : names)
          if (is_sub_or_same(n, domain)) return n;
        return names[0];
      }
    }
    return "";
  }

  static std::string url_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (is_alnum(static_cast<char>(c)) || std::strchr("-._~", c)) {
        out += static_cast<char>(c);
      } else {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", c);
        out += b;
      }
    }
    return out;
  }

  std::string expand(const std::string& s, const std::string& domain, bool exp) {
    if (!valid_macro_string(s, exp)) throw Abort{SpfResult::PermError, "invalid macro in '" + s + "'"};
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '%') {
        out += s[i];
        continue;
      }
      char c = s[++i];
      if (c == '%') { out += '%'; continue; }
      if (c == '_') { out += ' '; continue; }
      if (c == '-') { out += "%20"; continue; }
      size_t close = s.find('}', i);
      std::string body = s.substr(i + 1, close - i - 1);
      i = close;
      char letter = body[0];
      bool upper = letter >= 'A' && letter <= 'Z';
      std::string value = macro_value(static_cast<char>(std::tolower(static_cast<unsigned char>(letter))), domain);
      size_t k = 1;
      int keep = 0;
      bool has_digits = false;
      while (k < body.size() && is_digit(body[k])) {
        has_digits = true;
        keep = std::min(keep * 10 + (body[k] - '0'), 1000);
        ++k;
      }
      if (has_digits && keep == 0) throw Abort{SpfResult::PermError, "macro keeps zero labels in '" + s + "'"};
      bool reverse = false;
      if (k < body.size() && (body[k] == 'r' || body[k] == 'R')) {
        reverse = true;
        ++k;
      }
      std::string delims = body.substr(k);
      if (delims.empty()) delims = ".";
      if (has_digits || reverse || delims != ".") {
        std::vector<std::string> parts;
        size_t start = 0;
        for (size_t j = 0; j <= value.size(); ++j) {
          if (j == value.size() || delims.find(value[j]) != std::string::npos) {
            parts.push_back(value.substr(start, j - start));
            start = j + 1;
          }
        }
        if (reverse) std::reverse(parts.begin(), parts.end());
        if (has_digits && size_t(keep) < parts.size()) parts.erase(parts.begin(), parts.end() - keep);
        value.clear();
        for (size_t j = 0; j < parts.size(); ++j) value += (j ? "." : "") + parts[j];
      }
      out += upper ? url_escape(value) : value;
    }
    return out;
  }

  // A domain-spec expanded for a DNS query (§7.3: shortened from the left to 253 characters).
  std::string target(const Term& t, const std::string& domain) {
    if (!t.has_arg) return domain;
    std::string d = expand(t.arg, domain, false);
    if (!d.empty() && d.back() == '.') d.pop_back();
    while (d.size() > 253) {
      auto dot = d.find('.');
      if (dot == std::string::npos) break;
      d = d.substr(dot + 1);
    }
    return d;
  }

  // ---- evaluation (§4.6, §5) ---------------------------------------------------------------
  SpfResult check_host(const std::string& domain, int depth, bool top, SpfOutcome& o) {
    if (!valid_domain(domain)) {
      if (depth == 0) {
        o.reason = "'" + domain + "' is not a valid domain";
        return SpfResult::None;
      }
      return SpfResult::None;
    }
    auto record = fetch(domain);
    if (!record) {
      if (depth == 0) o.reason = "no SPF record at " + domain;
      return SpfResult::None;
    }
    auto terms = parse(*record, domain);
    const Term* redirect = nullptr;
    const Term* exp = nullptr;
    bool has_all = false;
    for (auto& t : terms) {
      if (t.modifier && t.name == "redirect") redirect = &t;
      if (t.modifier && t.name == "exp") exp = &t;
      if (!t.modifier && t.name == "all") has_all = true;
    }
    for (auto& t : terms) {
      if (t.modifier) continue;
      if (!matches(t, domain, depth, o)) continue;
      SpfResult r = t.qualifier == '-' ? SpfResult::Fail
                    : t.qualifier == '~' ? SpfResult::SoftFail
                    : t.qualifier == '?' ? SpfResult::Neutral
                                         : SpfResult::Pass;
      if (top) {
        o.mechanism = t.text;
        if (r == SpfResult::Fail && exp) o.explanation = explanation(*exp, domain);
      }
      return r;
    }
    if (redirect && !has_all) {
      count_lookup();
      std::string d = target(*redirect, domain);
      SpfResult r = check_host(d, depth + 1, top, o);
      if (r == SpfResult::None) throw Abort{SpfResult::PermError, "redirect to " + d + " which has no SPF record"};
      return r;
    }
    if (top) {
      o.mechanism = "default";
    }
    return SpfResult::Neutral;
  }

  std::string explanation(const Term& exp, const std::string& domain) {
    try {
      std::string d = target(exp, domain);
      const dns::Answer& a = L.get(d, dns::Type::TXT);
      if (!a.ok() || a.records.size() != 1) return "";
      std::string text = expand(a.records[0], domain, true);
      std::string clean;
      for (unsigned char c : text) clean += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
      return clean;
    } catch (const Abort&) {
      return "";  // a broken explanation is ignored (§6.2)
    }
  }

  bool matches(const Term& t, const std::string& domain, int depth, SpfOutcome& o) {
    const std::string& m = t.name;
    dns::Type addr_type = ip_.v6 ? dns::Type::AAAA : dns::Type::A;
    int cidr = ip_.v6 ? t.cidr6 : t.cidr4;
    if (m == "all") return true;
    if (m == "ip4" || m == "ip6") {
      auto net = parse_ip(t.arg);
      return net && (m == "ip4") == !ip_.v6 && in_net(ip_, *net, m == "ip4" ? t.cidr4 : t.cidr6);
    }
    if (m == "include") {
      count_lookup();
      std::string d = target(t, domain);
      SpfOutcome inner;
      SpfResult r = check_host(d, depth + 1, false, inner);
      switch (r) {
        case SpfResult::Pass: return true;
        case SpfResult::Fail:
        case SpfResult::SoftFail:
        case SpfResult::Neutral: return false;
        case SpfResult::TempError: throw Abort{SpfResult::TempError, "include:" + d};
        case SpfResult::None: throw Abort{SpfResult::PermError, "include:" + d + " has no SPF record"};
        case SpfResult::PermError: throw Abort{SpfResult::PermError, "include:" + d};
      }
      return false;
    }
    if (m == "a") {
      count_lookup();
      std::string d = target(t, domain);
      const dns::Answer& a = must(d, addr_type);
      if (a.empty()) count_void();
      for (auto& r : a.records)
        if (auto x = parse_ip(r); x && in_net(ip_, *x, cidr)) return true;
      return false;
    }
    if (m == "mx") {
      count_lookup();
      std::string d = target(t, domain);
      const dns::Answer& a = must(d, dns::Type::MX);
      if (a.empty()) count_void();
      std::vector<std::string> hosts;
      for (auto& h : a.records)
        if (!h.empty()) hosts.push_back(h);
      if (int(hosts.size()) > lim_.max_mx_addresses)
        throw Abort{SpfResult::PermError, "mx:" + d + " has more than " + std::to_string(lim_.max_mx_addresses) + " MX records"};
      bool all = true;
      for (auto& h : hosts) all = L.want(h, addr_type) && all;
      if (!all) throw NeedDns{};
      for (auto& h : hosts) {
        const dns::Answer& x = must(h, addr_type);
        for (auto& r : x.records)
          if (auto ip = parse_ip(r); ip && in_net(ip_, *ip, cidr)) return true;
      }
      return false;
    }
    if (m == "ptr") {
      count_lookup();
      std::string d = target(t, domain);
      const dns::Answer& p = L.get(dns::reverse_name(ip_text_), dns::Type::PTR);
      if (p.empty()) count_void();
      if (!p.ok()) return false;  // §5.5: a PTR error means no match
      for (auto& n : validated_names())
        if (is_sub_or_same(n, d)) return true;
      return false;
    }
    if (m == "exists") {
      count_lookup();
      std::string d = target(t, domain);
      const dns::Answer& a = must(d, dns::Type::A);
      if (a.empty()) count_void();
      return a.ok();
    }
    (void)o;
    return false;
  }
};

SpfOutcome run(Lookup& l, const std::string& ip, const std::string& domain, const std::string& sender,
               const std::string& helo, const SpfLimits& lim, const std::string& receiver) {
  auto parsed = parse_ip(ip);
  if (!parsed) {
    SpfOutcome o;
    o.result = SpfResult::PermError;  // cannot happen for a real connection
    o.domain = domain;
    o.reason = "client address '" + ip + "' is not an IP address";
    return o;
  }
  Evaluator e(l, *parsed, ip, sender, helo, lim, receiver);
  return e.run(lower(domain));
}

}  // namespace

SpfOutcome spf_check_host(Lookup& l, const std::string& ip, const std::string& domain, const std::string& sender,
                          const std::string& helo, const SpfLimits& lim, const std::string& receiver) {
  return run(l, ip, domain, sender, helo, lim, receiver);
}

SpfOutcome spf_mailfrom(Lookup& l, const std::string& ip, const std::string& mail_from, const std::string& helo,
                        const SpfLimits& lim, const std::string& receiver) {
  if (mail_from.empty()) return spf_helo(l, ip, helo, lim, receiver);
  auto at = mail_from.rfind('@');
  std::string domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
  return run(l, ip, domain, mail_from, helo, lim, receiver);
}

SpfOutcome spf_helo(Lookup& l, const std::string& ip, const std::string& helo, const SpfLimits& lim,
                    const std::string& receiver) {
  if (helo.empty() || helo[0] == '[' || !valid_domain(helo)) {
    SpfOutcome o;
    o.domain = helo;
    o.sender = "postmaster@" + helo;
    o.reason = "HELO '" + helo + "' is not a domain name";
    return o;
  }
  return run(l, ip, helo, "postmaster@" + helo, helo, lim, receiver);
}

}  // namespace mm::auth
