#include "smtp/reply.h"

#include <string_view>

namespace mm::smtp {

std::string format_reply(const Reply& r) {
  char code[4];
  int c = (r.code >= 100 && r.code <= 999) ? r.code : 451;
  code[0] = static_cast<char>('0' + c / 100);
  code[1] = static_cast<char>('0' + c / 10 % 10);
  code[2] = static_cast<char>('0' + c % 10);
  code[3] = 0;

  std::string_view text = r.text;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::string out;
  for (;;) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    bool last = nl == std::string_view::npos;
    out += code;
    out += last ? ' ' : '-';
    if (!r.enhanced.empty()) {
      out += r.enhanced;
      if (!line.empty()) out += ' ';
    }
    for (char ch : line) out += (static_cast<unsigned char>(ch) < 32 || ch == 127) ? ' ' : ch;
    if (out.back() == ' ' && line.empty()) out.pop_back();
    out += "\r\n";
    if (last) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace mm::smtp
