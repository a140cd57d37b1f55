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
  std::string addr;
  auto lt = clean.find('<');
  if (lt != std::string::npos) {
    auto gt = clean.find('>', lt);
    addr = clean.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
  } else {
    auto comma = clean.find(',');
    addr = clean.substr(0, comma);
    auto colon = addr.find(':');  // group syntax "name: a@b;"
    if (colon != std::string::npos) addr = addr.substr(colon + 1);
  }
  auto at = addr.rfind('@');
  if (at == std::string::npos) {
    if (problem) *problem = "From has no address";
    return "";
  }
  std::string dom;
  for (char c : addr.substr(at + 1))
    if (!std::isspace(static_cast<unsigned char>(c)) && c != ';' && c != '>') dom += c;
  dom = lower(dom);
  while (!dom.empty() && dom.back() == '.') dom.pop_back();
  if (dom.empty() || dom.find('.') == std::string::npos) {
    if (problem) *problem = "From domain '" + dom + "' is not a domain name";
    return "";
  }
  return dom;
}

}  // namespace mm::auth
