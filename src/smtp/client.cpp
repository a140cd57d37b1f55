#include "smtp/client.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace mm::smtp {
namespace {

constexpr size_t kMaxReply = 64 * 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Length of a leading "x.y.z" enhanced code (class matching `cls`) followed by SP or end, or 0.
size_t enhanced_len(std::string_view t, char cls) {
  if (t.size() < 5 || t[0] != cls || t[1] != '.') return 0;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < t.size() && is_digit(t[i]) && i - start < 3) ++i;
    if (i == start) return 0;
    if (part == 0) {
      if (i >= t.size() || t[i] != '.') return 0;
      ++i;
    }
  }
  if (i < t.size() && t[i] != ' ') return 0;
  return i;
}

}  // namespace

void ReplyParser::feed(std::string_view bytes) {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<Reply> ReplyParser::next() {
  std::vector<std::string_view> lines;
  int code = -1;
  bool bad = false;
  size_t p = pos_;
  for (;;) {
    size_t lf = buf_.find('\n', p);
    if (lf == std::string::npos) {
      if (buf_.size() - pos_ <= kMaxReply) return std::nullopt;
      Reply r{0, "", "reply too long", false};
      buf_.clear();
      pos_ = 0;
      return r;
    }
    std::string_view line(buf_.data() + p, lf - p);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    p = lf + 1;
    bool well_formed = line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
                       (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!well_formed) {
      Reply r{0, "", std::string(line), false};
      pos_ = p;
      return r;
    }
    int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 0) code = c;
    else if (c != code) bad = true;
    lines.push_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (line.size() == 3 || line[3] == ' ') break;
    if (p - pos_ > kMaxReply) bad = true;
  }
  pos_ = p;

  Reply r;
  r.code = bad ? 0 : code;
  char cls = static_cast<char>('0' + code / 100);
  size_t n = enhanced_len(lines[0], cls);
  if (n > 0) {
    std::string_view enh = lines[0].substr(0, n);
    bool all = true;
    for (auto l : lines)
      if (enhanced_len(l, cls) != n || l.substr(0, n) != enh) all = false;
    if (all) {
      r.enhanced = std::string(enh);
      for (auto& l : lines) l = l.size() > n ? l.substr(n + 1) : std::string_view{};
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) r.text += '\n';
    r.text += lines[i];
  }
  return r;
}

EhloCaps parse_ehlo(const Reply& r) {
  EhloCaps caps;
  if (r.code != 250) return caps;
  std::string_view text = r.text;
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (std::exchange(first, false)) continue;  // the server's greeting
    size_t sp = line.find(' ');
    std::string kw(line.substr(0, sp));
    for (char& ch : kw) ch = upper(ch);
    std::string_view arg = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (kw == "PIPELINING") caps.pipelining = true;
    else if (kw == "STARTTLS") caps.starttls = true;
    else if (kw == "8BITMIME") caps.eightbitmime = true;
    else if (kw == "SMTPUTF8") caps.smtputf8 = true;
    else if (kw == "CHUNKING") caps.chunking = true;
    else if (kw == "ENHANCEDSTATUSCODES") caps.enhanced = true;
    else if (kw == "SIZE") {
      size_t v = 0;
      for (char ch : arg) {
        if (!is_digit(ch) || v > (SIZE_MAX - 9) / 10) { v = 0; break; }
        v = v * 10 + static_cast<size_t>(ch - '0');
      }
      caps.size = v;
    }
  }
  return caps;
}

void dot_stuff(std::string_view body, std::string& out) {
  out.reserve(out.size() + body.size() + body.size() / 32 + 5);
  bool line_start = true;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    line_start = false;
    out += c;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
}

}  // namespace mm::smtp
