// Fuzz target for mm::message::parse. With clang it is a libFuzzer target (see
// src/message/CMakeLists.txt for how to run it); with g++ replay_main.cpp drives it.
// Besides "does not crash", it checks the model's invariants and traps when one breaks.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "message/message.h"

namespace {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = (mm::message::init(), true);
  (void)once;
  mm::message::Limits lim;
  lim.max_text_bytes = 1 << 20;
  lim.max_attachment_bytes = 1 << 20;
  auto raw = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size);
  auto m = mm::message::parse(raw, lim);
  check(m != nullptr && m->raw == raw);
  check(m->parts.size() <= lim.max_parts);
  check(m->text.size() + m->html_text.size() <= lim.max_text_bytes + 2);
  check(m->links.size() + m->images.size() + m->forms.size() <= lim.max_links);
  check(valid_utf8(m->text) && valid_utf8(m->html_text) && valid_utf8(m->hidden_text));
  check(m->text.find('\0') == std::string::npos && m->html_text.find('\0') == std::string::npos);
  for (const auto& p : m->parts) {
    check(p.depth <= lim.max_depth);
    check(p.data.size() <= (p.is_attachment ? lim.max_attachment_bytes : lim.max_text_bytes));
  }
  for (const auto& l : m->links) {
    check(valid_utf8(l.text));
    check(l.part < static_cast<int>(m->parts.size()) + 1);
  }
  (void)m->body_text();
  (void)m->header("subject");
  return 0;
}
