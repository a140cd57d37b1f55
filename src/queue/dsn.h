// Delivery status notifications (bounces): RFC 3464 multipart/report, RFC 6533 for SMTPUTF8.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mm::queue {

struct DsnRecipient {
  std::string address;
  std::string action;      // "failed" or "delayed"
  std::string status;      // "5.1.1"
  std::string diagnostic;  // "smtp; 550 5.1.1 no such user" ("" = omitted)
  std::string remote_mta;  // host name of the MTA that answered ("" = omitted)
};

struct DsnInput {
  std::string reporting_mta;  // our hostname
  std::string original_id;    // queue id of the original message
  std::string original_sender;
  int64_t arrival_s = 0;
  std::vector<DsnRecipient> recipients;
  std::string original_headers;  // the returned message's header section only
  bool smtputf8 = false;
};

// A complete RFC 5322 message (CRLF line ends) to send to in.original_sender with the null
// sender: multipart/report; report-type=delivery-status with (1) a text/plain explanation,
// (2) message/delivery-status (message/global-delivery-status when smtputf8), (3) the
// original headers as text/rfc822-headers (message/global-headers when smtputf8).
// Subject says "Delayed Mail (still being retried)" only if every recipient is "delayed".
// Control characters in the inputs are replaced by spaces (no header injection).
std::string build_dsn(const DsnInput& in, const std::string& new_message_id, int64_t now_s);

// The header section of `message`: bytes up to (not including) the first empty line
// (CRLF or bare LF); the whole message if it has no empty line.
std::string header_section(std::string_view message);

}  // namespace mm::queue
