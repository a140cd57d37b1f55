// Host names as checks compare them: the registrable domain ("eTLD+1", Public Suffix List via
// libpsl) and IP-literal detection. One implementation for every module that needs them.
#pragma once
#include <string>
#include <string_view>

namespace mm::message {

// Registrable domain of a host, lower-cased ("www.Example.CO.UK" -> "example.co.uk"); the host
// itself for IP literals, single labels, or hosts that are public suffixes.
std::string registrable_domain(std::string_view host);
// True for 1.2.3.4, [v6], 3232235777 (decimal) and 0x7f.0.0.1 style hosts (what inet_aton accepts).
bool is_ip_literal(std::string_view host);
// True when `suffix` (e.g. "com", "co.uk", "xn--p1ai") is a public suffix.
bool is_public_suffix(std::string_view suffix);

}  // namespace mm::message
