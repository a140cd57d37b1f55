// Small readers of the raw header section used by auth before (and without) a full MIME parse.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace mm::auth {

// The end of the header field starting at `pos` (after its continuation lines and final LF).
size_t field_end(std::string_view raw, size_t pos);
// Calls fn(name, value) for each header field (value with its folding, without the final CRLF).
void for_each_header(std::string_view raw, const std::function<void(std::string_view, std::string_view)>& fn);
// The domain of the RFC5322.From address (lower case); "" and *problem set when there is not
// exactly one From field whose addresses all have one domain (several authors: see RFC 7489 §6.6.1).
std::string from_domain(std::string_view raw, std::string* problem);

}  // namespace mm::auth
