#include "scan/headers.h"

#include <strings.h>

#include <cstdio>

namespace mm::scan {
namespace {

bool is_ours(std::string_view field) {
  auto colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = field.substr(0, colon);
  auto starts = [&](const char* p) {
    size_t n = std::char_traits<char>::length(p);
    return name.size() >= n && strncasecmp(name.data(), p, n) == 0;
  };
  return starts("X-Mailmoat-") || starts("X-Spam-");
}

std::string fmt1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "Name: a, b, c" folded before a line passes ~76 characters; the separator ends a line.
std::string folded(const std::string& name, const std::vector<std::string>& items, const char* sep) {
  std::string out = name + ":";
  size_t line = out.size();
  for (size_t i = 0; i < items.size(); ++i) {
    std::string item = items[i] + (i + 1 < items.size() ? sep : "");
    if (i > 0 && line + item.size() + 1 > 76) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "\r\n\t";
      line = 1;
    } else if (i == 0) {
      out += ' ';
      ++line;
    }
    out += item;
    line += item.size();
  }
  return out + "\r\n";
}

}  // namespace

std::string apply_verdict(std::string_view raw, const Verdict& v, const Thresholds& t,
                          const std::string& hostname, const std::string& subject_tag) {
  std::string out;
  out.reserve(raw.size() + 512);
  char head[256];
  std::snprintf(head, sizeof head, "X-Mailmoat-Verdict: %s; score=%.2f; host=%s\r\n", to_string(v.cls),
                v.score, hostname.c_str());
  out += head;
  std::vector<std::string> names, scored;
  for (auto& s : v.symbols) {
    names.push_back(s.name);
    char b[96];
    std::snprintf(b, sizeof b, "%s(%.2f)", s.name.c_str(), s.score);
    scored.push_back(b);
  }
  if (!scored.empty()) out += folded("X-Mailmoat-Symbols", scored, ", ");
  bool spam = v.score >= t.tag;
  out += std::string("X-Spam-Flag: ") + (spam ? "YES" : "NO") + "\r\n";
  out += "X-Spam-Score: " + fmt1(v.score) + "\r\n";
  std::vector<std::string> status{std::string(spam ? "Yes" : "No") + ", score=" + fmt1(v.score) +
                                  " required=" + fmt1(t.tag) + " tests=" +
                                  (names.empty() ? std::string("none") : names[0])};
  for (size_t i = 1; i < names.size(); ++i) status.push_back(names[i]);
  out += folded("X-Spam-Status", status, ",");

  // Copy the header section field by field, dropping forged verdict headers and tagging Subject.
  size_t pos = 0;
  bool tagged = subject_tag.empty();
  while (pos < raw.size()) {
    size_t end = pos;
    // One field: its first line plus continuation lines (starting with space or tab).
    do {
      size_t nl = raw.find('\n', end);
      end = nl == std::string_view::npos ? raw.size() : nl + 1;
    } while (end < raw.size() && (raw[end] == ' ' || raw[end] == '\t'));
    std::string_view field = raw.substr(pos, end - pos);
    if (field == "\r\n" || field == "\n" || field.find(':') == std::string_view::npos) break;  // end of headers
    if (!is_ours(field)) {
      if (!tagged && field.size() >= 8 && strncasecmp(field.data(), "Subject:", 8) == 0) {
        std::string_view value = field.substr(8);
        size_t lead = value.find_first_not_of(" \t");
        lead = lead == std::string_view::npos ? value.size() : lead;
        std::string_view text = value.substr(lead);
        out += "Subject: ";
        if (text.substr(0, subject_tag.size()) != subject_tag) out += subject_tag + " ";
        out.append(text);
        tagged = true;
      } else {
        out.append(field);
      }
    }
    pos = end;
  }
  if (!tagged) out += "Subject: " + subject_tag + "\r\n";
  out.append(raw.substr(pos));
  return out;
}

}  // namespace mm::scan
