#include "store/validate.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace mm::store {
namespace {

// Input echoed in messages: printable ASCII as is, anything else as \xNN, long input cut.
std::string quoted(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  size_t n = 0;
  for (unsigned char c : s) {
    if (++n > 100) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "'";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-'; }

// Why `name` (already lower-cased, no trailing dot) is not a valid DNS name; "" when it is.
std::string name_problem(std::string_view name, bool allow_single_label) {
  if (name.empty()) return "empty name";
  if (name.size() > 253) return "longer than 253 characters";
  for (unsigned char c : name)
    if (c >= 0x80) return "internationalised names must be given as punycode A-labels (xn--...)";
  size_t labels = 0;
  std::string_view last;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    ++labels;
    last = label;
    if (label.empty()) return "empty label";
    if (label.size() > 63) return "label longer than 63 characters";
    for (char c : label)
      if (!is_ldh(c)) return "labels may contain only letters, digits and '-'";
    if (label.front() == '-' || label.back() == '-') return "labels may not start or end with '-'";
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-') {
      if (label.substr(0, 2) != "xn") return "labels with '--' in positions 3-4 are reserved";
      auto decoded = punycode_decode(label.substr(4));
      bool non_ascii = false;
      if (decoded)
        for (char32_t cp : *decoded) non_ascii = non_ascii || cp >= 0x80;
      if (!non_ascii) return "label '" + std::string(label) + "' is not a valid punycode A-label";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2 && !allow_single_label) return "needs at least two labels";
  bool numeric = true;
  for (char c : last) numeric = numeric && is_digit(c);
  if (numeric) return "the top-level label may not be numeric";
  return "";
}

std::string strip_one_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// RFC 5322 atext (ASCII) or any UTF-8 byte (RFC 6531).
bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

}  // namespace

Status check_tenant_name(std::string_view name) {
  auto bad = [&](const char* why) {
    return Status::error("tenant name " + quoted(name) + " is not valid (" + why + ")");
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 63) return bad("longer than 63 characters");
  for (char c : name)
    if (!is_ldh(c)) return bad("use only lower-case letters, digits and '-'");
  if (name.front() == '-' || name.back() == '-') return bad("may not start or end with '-'");
  return Status::ok();
}

Status check_tenant_status(std::string_view status) {
  if (status == "active" || status == "suspended") return Status::ok();
  return Status::error("tenant status " + quoted(status) + " is not valid (use 'active' or 'suspended')");
}

Result<std::string> normalize_domain(std::string_view domain) {
  std::string n = strip_one_dot(lower(domain));
  std::string why = name_problem(n, false);
  if (!why.empty()) return Status::error("domain " + quoted(domain) + " is not a valid domain name (" + why + ")");
  return n;
}

Result<std::string> normalize_route_host(std::string_view host) {
  auto bad = [&](const std::string& why) {
    return Status::error("route host " + quoted(host) + " is not a valid hostname or IP address (" + why + ")");
  };
  std::string h = lower(host);
  bool bracketed = h.size() >= 2 && h.front() == '[' && h.back() == ']';
  if (bracketed) h = h.substr(1, h.size() - 2);
  if (h.find(':') != std::string::npos || bracketed) {
    unsigned char buf[16];
    if (inet_pton(AF_INET6, h.c_str(), buf) != 1) return bad("malformed IPv6 address");
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, buf, text, sizeof text);
    return std::string(text);
  }
  bool dotted_numeric = !h.empty();
  for (char c : h) dotted_numeric = dotted_numeric && (is_digit(c) || c == '.');
  if (dotted_numeric) {
    unsigned char buf[4];
    if (inet_pton(AF_INET, h.c_str(), buf) != 1) return bad("malformed IPv4 address");
    return h;
  }
  h = strip_one_dot(std::move(h));
  std::string why = name_problem(h, true);
  if (!why.empty()) return bad(why);
  return h;
}

Result<std::string> normalize_address(std::string_view address) {
  auto bad = [&](const std::string& why) {
    return Status::error("address " + quoted(address) + " is not a valid email address (" + why + ")");
  };
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return bad("missing '@'");
  std::string_view local = address.substr(0, at);
  if (local.empty()) return bad("empty local part");
  if (local.size() > 64) return bad("local part longer than 64 characters");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return bad("misplaced '.' in local part");
  for (unsigned char c : local)
    if (c != '.' && !is_atext(c)) return bad("local part contains characters not allowed unquoted");
  std::string domain = strip_one_dot(lower(address.substr(at + 1)));
  std::string why = name_problem(domain, false);
  if (!why.empty()) return bad("domain: " + why);
  std::string out = lower(local) + "@" + domain;
  if (out.size() > 254) return bad("longer than 254 characters");
  return out;
}

std::optional<std::u32string> punycode_decode(std::string_view in) {
  constexpr uint32_t base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  constexpr uint32_t maxint = std::numeric_limits<uint32_t>::max();
  auto adapt = [](uint32_t delta, uint32_t numpoints, bool first) {
    delta = first ? delta / damp : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
      delta /= base - tmin;
      k += base;
    }
    return k + (base - tmin + 1) * delta / (delta + skew);
  };
  std::u32string out;
  size_t b = in.rfind('-');
  if (b == std::string_view::npos) b = 0;
  for (size_t j = 0; j < b; ++j) {
    if (static_cast<unsigned char>(in[j]) >= 0x80) return std::nullopt;
    out += static_cast<char32_t>(in[j]);
  }
  uint32_t n = 128, i = 0, bias = 72;
  for (size_t pos = b > 0 ? b + 1 : 0; pos < in.size();) {
    uint32_t oldi = i, w = 1;
    for (uint32_t k = base;; k += base) {
      if (pos >= in.size()) return std::nullopt;
      char c = in[pos++];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = static_cast<uint32_t>(c - '0') + 26;
      else if (c >= 'a' && c <= 'z')
        digit = static_cast<uint32_t>(c - 'a');
      else if (c >= 'A' && c <= 'Z')
        digit = static_cast<uint32_t>(c - 'A');
      else
        return std::nullopt;
      if (digit > (maxint - i) / w) return std::nullopt;
      i += digit * w;
      uint32_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
      if (digit < t) break;
      if (w > maxint / (base - t)) return std::nullopt;
      w *= base - t;
    }
    uint32_t len = static_cast<uint32_t>(out.size()) + 1;
    bias = adapt(i - oldi, len, oldi == 0);
    if (i / len > maxint - n) return std::nullopt;
    n += i / len;
    i %= len;
    if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) || n < 0x80) return std::nullopt;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return out;
}

}  // namespace mm::store

namespace mm::store {

Result<std::string> normalize_url_entry(std::string_view entry) {
  std::string e(entry);
  while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.pop_back();
  while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.erase(e.begin());
  in_addr a{};
  if (!e.empty() && is_digit(e.back()) && inet_pton(AF_INET, e.c_str(), &a) == 1) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return std::string(buf);
  }
  auto d = normalize_domain(e);
  if (!d) return Status::error("link block list entry " + quoted(entry) + ": " + d.error());
  return d;
}

Result<std::string> clean_person_name(std::string_view name) {
  std::string out;
  bool space = false;
  for (unsigned char c : name) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (c < 0x20 || c == 0x7f) return Status::error("name " + quoted(name) + " contains control characters");
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  if (out.size() < 2 || out.size() > 255) return Status::error("name " + quoted(name) + " must be 2 to 255 bytes long");
  // UTF-8 well-formedness (no overlongs or surrogates needed for display names: a structural check).
  for (size_t i = 0; i < out.size();) {
    unsigned char c = static_cast<unsigned char>(out[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > out.size()) return Status::error("name " + quoted(name) + " is not valid UTF-8");
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(out[i + k]) >> 6) != 2) return Status::error("name " + quoted(name) + " is not valid UTF-8");
    i += n;
  }
  return out;
}

}  // namespace mm::store
