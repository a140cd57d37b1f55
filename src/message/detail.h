// Internals of the message parser shared by its translation units (not part of the public API).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "message/message.h"

namespace mm::message::detail {

// Appends a finding unless it is already present (findings are names, each listed once).
void note(Message& m, std::string_view finding);

// ---- text (charset.cpp) ----

struct TextStats {
  size_t invalid = 0;         // bytes that were not valid in the charset, replaced by U+FFFD
  size_t nul = 0;             // NUL bytes, replaced by U+FFFD
  bool unknown_charset = false;
};

// Appends `in` (claimed UTF-8) to `out`: invalid sequences and NULs become U+FFFD, CRLF and lone CR
// become LF. Never copies more than needed: valid, CR-free input is appended in one go.
void append_clean_utf8(std::string_view in, std::string& out, TextStats& st);

// Converts `in` from `charset` (lower-case label as declared; "" = undeclared) to clean UTF-8
// (as append_clean_utf8) and appends it to `out`. Follows the WHATWG label mapping where mail
// reality differs from the label (iso-8859-1 -> windows-1252, shift_jis -> windows-31j, gb2312 -> gb18030,
// euc-kr -> cp949). Undeclared or us-ascii text that is not valid UTF-8 is read as windows-1252.
// Unknown charsets: UTF-8 if valid, else windows-1252; sets st.unknown_charset.
void append_as_utf8(std::string_view in, std::string_view charset, std::string& out, TextStats& st);

// Largest n' <= n that does not split a UTF-8 sequence of s.
size_t utf8_floor(std::string_view s, size_t n);

bool ascii_space(char c);
std::string_view trim(std::string_view s);
void lower_ascii(std::string& s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

// ---- URLs (url.cpp) ----

// Lower-case host of an http(s) URL, "//host", or "www." reference; "" otherwise.
// Handles userinfo ("https://bank@evil.test"), ports, backslashes and stray whitespace like a browser.
std::string url_host(std::string_view href);

// Calls fn(std::string_view url) for each http://, https:// or www. URL in plain text.
template <class F>
void find_urls(std::string_view text, F&& fn);

size_t url_end(std::string_view text, size_t begin);  // end of a URL that starts at begin (trailing punctuation trimmed)

// ---- HTML (html.cpp) ----

// Renders UTF-8 HTML: visible text appended to m.html_text (when body), hidden text to m.hidden_text,
// links / images / forms appended to m. Output text is capped so that m.text + m.html_text stays
// within text_cap; hidden_text within text_cap too.
void render_html(std::string_view html, Message& m, int part_index, bool body, size_t text_cap, size_t max_links);

// Adds the plain-text URLs of `text` as links (from_html = false).
void add_text_urls(std::string_view text, Message& m, int part_index, size_t max_links);

// ---- template definitions ----

template <class F>
void find_urls(std::string_view text, F&& fn) {
  const size_t n = text.size();
  size_t i = 0;
  while (i + 4 <= n) {
    const char c = text[i];
    if (c != 'h' && c != 'H' && c != 'w' && c != 'W') {
      ++i;
      continue;
    }
    // Word boundary: a URL does not start inside a word ("showwww.x" is no link).
    if (i > 0) {
      const unsigned char p = static_cast<unsigned char>(text[i - 1]);
      if ((p >= '0' && p <= '9') || (p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z') || p == '.' || p == '-' ||
          p == '_' || p == '/' || p == '@') {
        ++i;
        continue;
      }
    }
    std::string_view rest = text.substr(i);
    size_t host_at = 0;
    if (istarts_with(rest, "http://")) {
      host_at = 7;
    } else if (istarts_with(rest, "https://")) {
      host_at = 8;
    } else if (istarts_with(rest, "www.")) {
      host_at = 0;
    } else {
      ++i;
      continue;
    }
    const size_t end = url_end(text, i);
    std::string_view url = text.substr(i, end - i);
    // Needs a host with a dot after the scheme (or after "www.").
    std::string_view host_part = url.substr(host_at);
    const bool www = host_at == 0;
    if (host_part.size() > (www ? 4u : 0u) && host_part.find('.', www ? 4 : 0) != std::string_view::npos &&
        host_part.find('.', www ? 4 : 0) + 1 < host_part.size()) {
      fn(url);
      i = end;
    } else {
      i += host_at ? host_at : 4;
    }
  }
}

}  // namespace mm::message::detail
