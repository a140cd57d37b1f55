// Client-side SMTP helpers for the delivery agent: reply parsing, EHLO capabilities, dot-stuffing.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/reply.h"

namespace mm::smtp {

class ReplyParser {
 public:
  // Appends bytes received from the server.
  void feed(std::string_view bytes);
  // The next complete (possibly multi-line) reply, or nullopt if more bytes are needed.
  // enhanced is set when every line's text starts with a matching x.y.z code (then stripped);
  // lines are joined with '\n'. A malformed line, mixed codes or a line/reply over 64 KiB
  // yields code 0 with the offending text.
  std::optional<Reply> next();

 private:
  std::string buf_;
  size_t pos_ = 0;
};

struct EhloCaps {
  bool pipelining = false, starttls = false, eightbitmime = false, smtputf8 = false, chunking = false,
       enhanced = false;
  size_t size = 0;  // SIZE limit; 0 when not advertised or unlimited
};

// The extensions in a 250 EHLO reply (keywords case-insensitive); all false for other codes.
EhloCaps parse_ehlo(const Reply& r);

// Appends `body` to `out` dot-stuffed for DATA, followed by ".\r\n". A body not ending in CRLF gets
// one added; bare LF and bare CR are converted to CRLF.
void dot_stuff(std::string_view body, std::string& out);

}  // namespace mm::smtp
