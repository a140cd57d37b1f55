// Internal to src/gateway: what gateway.cpp and policy_path.cpp share.
#pragma once
#include <string>
#include <string_view>

#include "gateway/gateway.h"
#include "message/received.h"

namespace mm::gateway {

struct Gateway::Accepted {
  queue::MessageMeta meta;
  std::string received;  // our Received: header
  std::string data;      // the message as the client sent it
  scan::Envelope env;
  std::string detail;    // for the tracking record
  std::shared_ptr<const std::string> raw;      // set instead of `data` when auth read it first
  std::shared_ptr<auth::Prefetched> auth;      // DNS answers for SPF, DKIM, DMARC (auth on)
  // Connection control accepted the recipients on a sender-domain allow entry: unless the message
  // is authenticated for `conn_domain`, `conn_refusal` is the reply after DATA.
  std::string conn_domain;
  smtp::Reply conn_refusal;
  std::string conn_reason;
};

using message::received_field_end;  // where the bytes after our Received: begin
// The details of the symbols hinting at class `c`, joined; printable ASCII only (file names are
// the sender's text and may end up in an SMTP reply).
std::string class_reason(const scan::Verdict& v, scan::Class c, size_t max = 300);
// "spam score=7.20 SYM(1.0),..." for tracking.
std::string verdict_detail(const scan::Verdict& v);

}  // namespace mm::gateway
