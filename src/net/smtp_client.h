// The outbound SMTP client used by the queue manager: connects to a destination's hosts in order
// of preference, does STARTTLS per the route's policy, sends one message (MAIL, RCPTs and DATA
// pipelined when the server offers PIPELINING) and reports a result per recipient. Idle
// connections are kept a few seconds per destination and reused for the next message.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"

namespace mm::net {

enum class TlsPolicy { None, Opportunistic, Required };

struct Hop {
  std::string host;  // name or IP literal
  uint16_t port = 25;
};

struct Destination {
  std::string key;          // connections are reused per key (e.g. the route's domain)
  std::vector<Hop> hops;    // in order of preference
  TlsPolicy tls = TlsPolicy::Opportunistic;
};

struct OutboundMessage {
  std::string sender;                     // "" = null sender
  std::vector<std::string> recipients;
  std::shared_ptr<const std::string> body;  // the complete message, CRLF line ends
  bool smtputf8 = false;
  bool eightbit = false;
};

struct RcptResult {
  int code = 0;         // 2xx delivered, 4xx try later, 5xx failed
  std::string reply;    // e.g. "550 5.1.1 <x@y>: user unknown" or a local explanation
};

struct DeliveryReport {
  std::vector<RcptResult> rcpts;  // same order as OutboundMessage::recipients
  std::string peer;               // "host[ip]:port" of the server that answered last
  std::string tls;                // "" or "TLSv1.3 TLS_AES_256_GCM_SHA384"
};

struct ClientConfig {
  std::string helo_name;
  int connect_timeout_s = 30;
  int reply_timeout_s = 300;
  int reuse_s = 5;
};

class SmtpClient {
 public:
  SmtpClient(EventLoop&, ClientConfig);
  ~SmtpClient();
  // Delivers one message; `done` runs on a loop thread, exactly once.
  void deliver(const Destination&, OutboundMessage, std::function<void(DeliveryReport)> done);
  // Closes idle cached connections (QUIT).
  void close_idle();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mm::net
