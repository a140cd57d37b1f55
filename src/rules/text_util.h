// Small text helpers shared by the rule and heuristic checks (internal).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message/message.h"

namespace mm::rules::detail {

std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// All top-level headers with this name (case-insensitive); does not need mm_message.
std::vector<const message::Header*> find_headers(const message::Message& m, std::string_view name);
bool valid_utf8(std::string_view s);
// Invalid sequences replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);
// Decodes one code point at s[i], advancing i; invalid bytes give U+FFFD and advance by one.
char32_t next_code_point(std::string_view s, size_t& i);

}  // namespace mm::rules::detail
