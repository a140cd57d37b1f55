// URL helpers: the host a browser would contact, and URLs written in plain text.
#include <string>

#include "message/detail.h"

namespace mm::message::detail {

std::string url_host(std::string_view href) {
  href = trim(href);
  // Browsers drop tabs and newlines anywhere inside a URL; do the same (rare, so copy only then).
  std::string cleaned;
  if (href.find_first_of("\t\r\n") != std::string_view::npos) {
    cleaned.reserve(href.size());
    for (char c : href)
      if (c != '\t' && c != '\r' && c != '\n') cleaned.push_back(c);
    href = cleaned;
  }
  std::string_view rest;
  if (istarts_with(href, "http:") || istarts_with(href, "https:")) {
    rest = href.substr(href[4] == ':' ? 5 : 6);
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\')) rest.remove_prefix(1);
  } else if (href.starts_with("//")) {
    rest = href.substr(2);
  } else if (istarts_with(href, "www.")) {
    rest = href;
  } else {
    return {};
  }
  const size_t auth_end = rest.find_first_of("/\\?#");
  std::string_view auth = rest.substr(0, auth_end);
  const size_t at = auth.rfind('@');
  if (at != std::string_view::npos) auth.remove_prefix(at + 1);
  if (!auth.empty() && auth.front() == '[') {
    const size_t close = auth.find(']');
    auth = auth.substr(0, close == std::string_view::npos ? auth.size() : close + 1);
  } else {
    const size_t colon = auth.find(':');
    if (colon != std::string_view::npos) auth = auth.substr(0, colon);
  }
  while (!auth.empty() && auth.back() == '.') auth.remove_suffix(1);
  std::string host(auth);
  lower_ascii(host);
  return host;
}

size_t url_end(std::string_view text, size_t begin) {
  size_t i = begin;
  int parens = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '\'' || c == '`' || c == '{' ||
        c == '}' || c == '|' || c == '^' || c == '\\')
      break;
    if (c == '(') ++parens;
    if (c == ')') {
      if (parens == 0) break;
      --parens;
    }
    ++i;
  }
  // Sentence punctuation after a URL is not part of it.
  while (i > begin) {
    const char c = text[i - 1];
    if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == ']' || c == '*')
      --i;
    else
      break;
  }
  return i;
}

void add_text_urls(std::string_view text, Message& m, int part_index, size_t max_links) {
  find_urls(text, [&](std::string_view url) {
    if (m.links.size() >= max_links) {
      note(m, "link_limit");
      return;
    }
    Link l;
    l.href = std::string(url);
    l.host = url_host(url);
    l.part = part_index;
    m.links.push_back(std::move(l));
  });
}

}  // namespace mm::message::detail
