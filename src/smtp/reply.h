// SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034 / RFC 3463).
#pragma once
#include <string>

namespace mm::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;  // "2.1.0", or empty for none (greeting, EHLO keyword list)
  std::string text;      // '\n' separates the lines of a multi-line reply
  bool close = false;    // close the connection after sending
};

// Wire form: "250 2.1.0 Ok\r\n". Text with '\n' becomes "250-a\r\n250 b\r\n" with the enhanced
// code repeated on each line; CR and other control characters in the text are replaced by spaces.
std::string format_reply(const Reply& r);

}  // namespace mm::smtp
