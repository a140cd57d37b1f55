// RFC 5321 §4.1.2 paths as found in "MAIL FROM:" / "RCPT TO:" arguments, with ESMTP parameters.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "util/status.h"

namespace mm::smtp {

struct Address {
  std::string local;   // unquoted local part (escapes resolved)
  std::string domain;  // lower-cased, no trailing dot; "[192.0.2.1]" / "[IPv6:2001:db8::1]" literals
  bool quoted_local = false;      // the local part was a quoted-string
  bool had_source_route = false;  // "<@a,@b:u@d>": the route was dropped
  // "local@domain", re-quoting the local part when needed; "" for the null path;
  // just "local" for the domain-less <Postmaster> recipient.
  std::string str() const;
  bool empty() const { return local.empty() && domain.empty(); }
};

struct PathArg {
  Address addr;
  bool null_path = false;                     // "<>" (only valid for FROM)
  std::map<std::string, std::string> params;  // ESMTP parameters, keys upper-cased; "" for no value
};

// Parses `FROM:<a@b.example> SIZE=1 BODY=8BITMIME` (keyword "FROM") or `TO:<x@y>` (keyword "TO").
// The keyword is case-insensitive; a space after the colon and a path without angle brackets are
// tolerated. Non-ASCII is an error unless allow_utf8 (then it must be valid UTF-8). For "TO" the
// null path is an error and a bare <Postmaster> (RFC 5321 §4.5.1) is accepted with an empty domain.
Result<PathArg> parse_path_arg(std::string_view arg, std::string_view keyword, bool allow_utf8);

// True for sender-specified routing: a source route, or a local part containing '%', '!' or '@'.
bool has_routing_tricks(const Address& a);

}  // namespace mm::smtp
