// Name and address validation shared by every store backend. Each check returns the normalised
// form, or an error whose message names the offending input in plain words.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace mm::store {

// Tenant names: 1..63 of [a-z0-9-], not starting or ending with '-'.
Status check_tenant_name(std::string_view name);
// "active" or "suspended".
Status check_tenant_status(std::string_view status);
// Lower-cases and drops one trailing dot; then requires >= 2 RFC 1035 labels, <= 253 chars, a
// non-numeric TLD, and IDN labels only as valid punycode A-labels ("xn--...").
Result<std::string> normalize_domain(std::string_view domain);
// Route target: hostname (as a domain, single label allowed) or IP literal. IPv6 may be given
// bracketed; returned canonical and without brackets.
Result<std::string> normalize_route_host(std::string_view host);
// local@domain with a dot-atom local part (UTF-8 allowed) and a valid domain; lower-cased.
Result<std::string> normalize_address(std::string_view address);
// A link block list entry: a domain/host name as normalize_domain (single labels refused) or an
// IPv4 address in dotted form.
Result<std::string> normalize_url_entry(std::string_view entry);
// A person's name for impersonation checks: trimmed, inner whitespace collapsed, 2..255 bytes,
// valid UTF-8 without control characters.
Result<std::string> clean_person_name(std::string_view name);
// RFC 3492 decoding of the part after "xn--"; nullopt when malformed.
std::optional<std::u32string> punycode_decode(std::string_view encoded);

}  // namespace mm::store
