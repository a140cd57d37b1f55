// The trace field mailmoat puts on top of every message it spools or quarantines.
#pragma once
#include <cstddef>
#include <string_view>

namespace mm::message {

// End of the message's first header field if it is a Received: field (with its continuation
// lines and CRLF), else 0: where the bytes after mailmoat's own Received: begin.
size_t received_field_end(std::string_view msg);

}  // namespace mm::message
