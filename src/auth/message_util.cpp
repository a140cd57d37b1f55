#include "auth/message_util.h"

#include <strings.h>

#include "auth/lookup.h"

namespace mm::auth {

size_t field_end(std::string_view raw, size_t pos) {
  size_t end = pos;
  do {
    size_t nl = raw.find('\n', end);
    end = nl == std::string_view::npos ? raw.size() : nl + 1;
  } while (end < raw.size() && (raw[end] == ' ' || raw[end] == '\t'));
  return end;
}

void for_each_header(std::string_view raw, const std::function<void(std::string_view, std::string_view)>& fn) {
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t end = field_end(raw, pos);
    std::string_view field = raw.substr(pos, end - pos);
    if (field == "\r\n" || field == "\n") break;
    auto colon = field.find(':');
    if (colon == std::string_view::npos) break;
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
    fn(name, value);
    pos = end;
  }
}

std::string from_domain(std::string_view raw, std::string* problem) {
  int count = 0;
  std::string value;
  for_each_header(raw, [&](std::string_view name, std::string_view v) {
    if (name.size() == 4 && strncasecmp(name.data(), "From", 4) == 0) {
      if (++count == 1) value = std::string(v);
    }
  });
  if (count != 1) {
    if (problem) *problem = count == 0 ? "no From field" : "more than one From field";
    return "";
  }
  // Drop comments and quoted strings, then take the first angle-addr or bare address.
  std::string clean;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '(') depth = 1;
    else clean += c;
  }
  auto colon = clean.find(':');  // group syntax "name: a@b, c@d;"
  if (colon != std::string::npos && clean.find('<') > colon) clean = clean.substr(colon + 1);
  // Every address of the list: DMARC needs one author domain (RFC 7489 §6.6.1).
  std::string dom;
  size_t start = 0;
  while (start <= clean.size()) {
    size_t comma = clean.find(',', start);
    if (comma == std::string::npos) comma = clean.size();
    std::string part = clean.substr(start, comma - start), addr = part;
    start = comma + 1;
    auto lt = part.find('<');
    if (lt != std::string::npos) {
      auto gt = part.find('>', lt);
      addr = part.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
    }
    if (addr.find_first_not_of(" \t\r\n;") == std::string::npos) continue;  // empty list element
    auto at = addr.rfind('@');
    if (at == std::string::npos) {
      if (problem) *problem = "From has no address";
      return "";
    }
    std::string d;
    for (char c : addr.substr(at + 1))
      if (!std::isspace(static_cast<unsigned char>(c)) && c != ';' && c != '>') d += c;
    d = lower(d);
    while (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty() || d.find('.') == std::string::npos) {
      if (problem) *problem = "From domain '" + d + "' is not a domain name";
      return "";
    }
    if (!dom.empty() && d != dom) {
      if (problem) *problem = "From has addresses in more than one domain";
      return "";
    }
    dom = d;
  }
  if (dom.empty() && problem) *problem = "From has no address";
  return dom;
}

}  // namespace mm::auth
