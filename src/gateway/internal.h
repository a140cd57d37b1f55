// Internal to src/gateway: what gateway.cpp and policy_path.cpp share.
#pragma once
#include <string>
#include <string_view>

#include "gateway/gateway.h"

namespace mm::gateway {

struct Gateway::Accepted {
  queue::MessageMeta meta;
  std::string received;  // our Received: header
  std::string data;      // the message as the client sent it
  scan::Envelope env;
  std::string detail;    // for the tracking record
};

// End of the first header field (our Received:, with its continuation lines), 0 if none.
size_t received_field_end(std::string_view msg);
// "spam score=7.20 SYM(1.0),..." for tracking.
std::string verdict_detail(const scan::Verdict& v);

}  // namespace mm::gateway
