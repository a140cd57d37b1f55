// The inbound SMTP listener: accepts connections (IPv4 and IPv6), enforces connection limits and
// timeouts, does STARTTLS, and drives one smtp::ServerSession per connection. Every decision
// (greet or refuse, sender, recipient, message) is asked of a SessionHandler: the gateway.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "smtp/server_session.h"
#include "util/status.h"

namespace mm::net {

struct ConnInfo {
  uint64_t session_id = 0;
  std::string client_ip;
  uint16_t client_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
};

struct TlsState {
  bool active = false;
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
};

// One per connection, used from that connection's strand only.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // The greeting (220) or a refusal (4xx/5xx: the server sends it and closes).
  virtual smtp::Reply on_connect(const ConnInfo&) = 0;
  virtual smtp::Reply on_helo(const smtp::Envelope&) = 0;
  virtual smtp::Reply on_mail(const smtp::Envelope&, const smtp::PathArg&) = 0;
  virtual smtp::Reply on_rcpt(const smtp::Envelope&, const smtp::PathArg&) = 0;
  // A complete message. `done` may be called from any thread, exactly once.
  virtual void on_message(const smtp::Envelope&, std::string data, const TlsState&,
                          std::function<void(smtp::Reply)> done) = 0;
  // Session ended (any reason); `reason` is "quit", "timeout", "eof", "error", "shutdown", ...
  virtual void on_close(const std::string& reason) = 0;
  // The client sent `bytes` before the greeting (checked when ServerConfig::pregreet_ms > 0).
  virtual void on_pregreet(size_t /*bytes*/) {}
};

struct Listener {
  std::string address;
  uint16_t port = 0;
};

struct ServerConfig {
  std::vector<Listener> listen;
  smtp::ServerOptions session;   // hostname, limits
  int command_timeout_s = 300;
  int data_timeout_s = 300;
  uint32_t max_sessions = 5000;
  uint32_t max_sessions_per_ip = 50;
  int pregreet_ms = 0;            // > 0: hold the greeting this long and note clients that talk first
  std::string tls_cert, tls_key;  // empty: no STARTTLS
  std::string tls_min_version = "1.2";
};

using HandlerFactory = std::function<std::unique_ptr<SessionHandler>(const ConnInfo&)>;

class SmtpServer {
 public:
  SmtpServer(EventLoop&, ServerConfig, HandlerFactory);
  ~SmtpServer();
  // Loads TLS material and binds every listener; an error names the address that failed.
  Status start();
  // The ports actually bound (useful when a listener asked for port 0).
  std::vector<uint16_t> bound_ports() const;
  // Stops accepting; sessions waiting for a command outside a transaction get 421 and close,
  // the others may finish their transaction.
  void stop_accepting();
  // Closes every remaining session with 421 (end of the shutdown grace period).
  void close_all();
  size_t active_sessions() const;
  // Re-reads the certificate and key (SIGHUP); on error keeps the old ones.
  Status reload_tls();

  struct Impl;  // implementation detail (smtp_server.cpp)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mm::net
