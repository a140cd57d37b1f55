// The gateway: the one room that knows the others. At each SMTP phase it decides (with the
// domain directory now; reputation, scanning and policy later), and hands accepted mail to the
// spool and the queue manager. It is also the queue manager's Router.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/directory.h"
#include "net/smtp_server.h"
#include "ops/tracker.h"
#include "queue/manager.h"
#include "queue/spool.h"
#include "store/store.h"

namespace mm::gateway {

struct GatewayOptions {
  std::string hostname;
  std::string smarthost;   // "host:port" or ""
  int max_hops = 50;       // Received headers beyond this: a mail loop, refused
};

class Gateway : public queue::Router {
 public:
  Gateway(GatewayOptions, store::Store&, queue::Spool&, ops::Tracker&);
  void set_queue(queue::QueueManager* q) { queue_ = q; }
  // Re-reads the directory if the store changed (cheap; call every second) or when forced.
  void refresh(bool force = false);
  std::shared_ptr<const Directory> directory() const;
  // Makes the per-connection handler for the SMTP server.
  std::unique_ptr<net::SessionHandler> new_session(const net::ConnInfo&);
  std::optional<net::Destination> route(const std::string& domain) override;

  // The Received: header (RFC 5321 §4.4) for a message; exposed for tests.
  static std::string received_header(const std::string& hostname, const net::ConnInfo&,
                                     const smtp::Envelope&, const net::TlsState&,
                                     const std::string& queue_id, int64_t now_s);

 private:
  friend class InboundSession;
  GatewayOptions opt_;
  store::Store& store_;
  queue::Spool& spool_;
  ops::Tracker& tracker_;
  queue::QueueManager* queue_ = nullptr;
  mutable std::mutex dir_mu_;
  std::shared_ptr<const Directory> dir_;
};

}  // namespace mm::gateway
