// The gateway: the one room that knows the others. At each SMTP phase it decides (with the
// domain directory now; reputation, scanning and policy later), and hands accepted mail to the
// spool and the queue manager. It is also the queue manager's Router.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "auth/auth.h"
#include "gateway/directory.h"
#include "net/smtp_server.h"
#include "ops/tracker.h"
#include "policy/policy.h"
#include "quarantine/quarantine.h"
#include "reputation/connection.h"
#include "queue/manager.h"
#include "queue/spool.h"
#include "scan/engine.h"
#include "store/store.h"
#include "tenancy/tenancy.h"
#include "util/thread_pool.h"

namespace mm::gateway {

struct GatewayOptions {
  std::string hostname;
  std::string smarthost;   // "host:port" or ""
  int max_hops = 50;       // Received headers beyond this: a mail loop, refused
  int scan_timeout_ms = 20000;        // scan deadline; past it the message is held for a rescan
  std::string subject_tag = "[SPAM]"; // prefixed to the Subject of spam that is delivered
  std::string postmaster;             // bare <postmaster> goes here (RFC 5321 §4.5.1); "" = refused
};

class Gateway : public queue::Router {
 public:
  Gateway(GatewayOptions, store::Store&, queue::Spool&, ops::Tracker&);
  void set_queue(queue::QueueManager* q) { queue_ = q; }
  // Inbound mail is scanned by `engine` on `pool` after DATA, before the final reply. Without an
  // engine, mail is accepted unscanned (only for tests of the mail path itself).
  void set_scanner(std::shared_ptr<const scan::Engine> engine, ThreadPool* pool);
  // Sender authentication (SPF, DKIM, DMARC) before the scan; null = off. Set before serving.
  void set_authenticator(std::shared_ptr<const auth::Authenticator> a) { auth_ = std::move(a); }
  // Scans again every message held for a rescan (the scanner had failed); call periodically.
  void rescan_pending();
  // Re-reads the directory if the store changed (cheap; call every second) or when forced.
  void refresh(bool force = false);
  std::shared_ptr<const Directory> directory() const;
  // Tenancy (licence counting of seen recipients) and quarantine for the policy's decisions.
  // Without them the policy still decides, quarantine falls back to delivery tagged.
  void set_services(tenancy::TenancyService* tenancy, quarantine::Quarantine* quarantine);
  std::shared_ptr<const policy::Snapshot> policies() const;
  // Makes the per-connection handler for the SMTP server.
  std::unique_ptr<net::SessionHandler> new_session(const net::ConnInfo&);
  std::optional<net::Destination> route(const std::string& domain) override;
  // Connection control (learned reputation, DNS lists, limits, allow lists); null = off. `loop`
  // times the tarpit's slow replies. Set before serving.
  void set_connection_control(std::shared_ptr<reputation::ConnectionControl> cc, net::EventLoop* loop) {
    conn_ = std::move(cc);
    loop_ = loop;
    load_connection_lists();
  }

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
  std::shared_ptr<const scan::Engine> engine_;  // guarded by dir_mu_ (swapped on reload)
  ThreadPool* pool_ = nullptr;                   // set once, before serving
  std::shared_ptr<const auth::Authenticator> auth_;  // set once, before serving
  std::atomic<bool> rescanning_{false};

  struct Accepted;  // what on_message knows about a message
  // Scans (on the pool), applies the default action table, spools and answers `done`.
  void scan_and_queue(std::shared_ptr<const scan::Engine> engine, std::shared_ptr<Accepted> a,
                      std::function<void(smtp::Reply)> done);
  std::shared_ptr<const scan::Engine> scanner() const;  // null when scanning is off
  void spool_and_reply(std::shared_ptr<Accepted> a, std::string body, std::string verdict_detail,
                       std::function<void(smtp::Reply)> done);
  // After a successful scan: the policy decides per recipient; recipients are split by decision.
  void apply_policy(std::shared_ptr<Accepted> a, std::shared_ptr<const std::string> raw,
                    std::shared_ptr<const message::Message> msg, const scan::Verdict& v,
                    const scan::Thresholds& t, std::function<void(smtp::Reply)> done);
  // A message held for a rescan got its verdict: the policy decides for its pending recipients
  // (a reject becomes a quarantine: it was accepted), the old copy goes once the new ones are durable.
  void requeue_rescanned(const queue::MessageMeta& old, std::shared_ptr<const std::string> raw,
                         std::shared_ptr<const message::Message> msg, const scan::Verdict& v,
                         const scan::Thresholds& t, const scan::AuthFacts& auth);
  mutable std::mutex dir_mu_;
  std::shared_ptr<const Directory> dir_;
  std::shared_ptr<const policy::Snapshot> policy_;  // guarded by dir_mu_
  tenancy::TenancyService* tenancy_ = nullptr;      // set once, before serving
  quarantine::Quarantine* quarantine_ = nullptr;
  std::shared_ptr<reputation::ConnectionControl> conn_;
  net::EventLoop* loop_ = nullptr;
  void load_connection_lists();  // allow lists and strictness from the store into conn_
  // Feedback: a scanned message's verdict counts for its client's reputation.
  void feed_reputation(const std::string& ip, const scan::Verdict&);
};

}  // namespace mm::gateway
