#include "message/received.h"

namespace mm::message {

size_t received_field_end(std::string_view msg) {
  if (msg.substr(0, 9) != "Received:") return 0;
  size_t end = 0;
  do {
    size_t nl = msg.find("\r\n", end);
    if (nl == std::string_view::npos) return 0;
    end = nl + 2;
  } while (end < msg.size() && (msg[end] == ' ' || msg[end] == '\t'));
  return end;
}

}  // namespace mm::message
