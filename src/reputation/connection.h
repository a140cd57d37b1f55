// Connection control: what the gateway asks at each SMTP phase. At connect a ClientCheck starts
// the DNS list and reverse-DNS lookups (asynchronous, on the resolver) and counts the session
// against the per-network concurrency limit; at MAIL FROM the rate limits count the message; at
// RCPT TO, once the tenant is known, decide() combines the learned reputation (with the tenant's
// strictness), the connection score and the limits, honouring the tenant's and the operator's
// allow lists. Refusals and delays are given per recipient so that every recipient a refused
// session tried is logged. A DNS failure is never a listing.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "reputation/allow.h"
#include "reputation/dnsbl.h"
#include "reputation/greylist.h"
#include "reputation/reputation.h"

namespace mm::dns {
class Resolver;
}

namespace mm::reputation {

struct ConnectionOptions {
  Strictness default_strictness = Strictness::Normal;
  std::vector<DnsList> dns_lists;
  double dns_tempfail_score = 2, dns_refuse_score = 3;
  int dns_wait_ms = 1000;
  double no_ptr_weight = 0, bad_helo_weight = 0;
  double pregreet_weight = 0;  // score for a client that talked before the greeting (early talker)
  std::string our_hostname;
  uint32_t rate_per_ip = 0, rate_per_network = 0, rate_per_sender_domain = 0;  // per minute
  uint32_t max_per_network = 0;
  int tarpit_ms = 2000;  // delay of the final DATA reply for a tarpitted source
  GreylistOptions greylist;
};

class ConnectionControl;

// One per SMTP session; the DNS callbacks may outlive the session (shared ownership).
class ClientCheck {
 public:
  ~ClientCheck();
  const std::string& ip() const { return ip_; }
  void set_helo(const std::string& h) { helo_ = h; }
  void set_pregreet() { pregreet_ = true; }  // the client sent before our 220 greeting
  // Waits (bounded by the configured wait) for the lookups begun at connect; then the score.
  double score(std::string* reasons);
  std::string ptr();  // the reverse-DNS name ("" if none or not answered yet)

 private:
  friend class ConnectionControl;
  ConnectionControl* cc_ = nullptr;
  std::string ip_, net_, helo_;
  bool over_concurrency_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  double dns_score_ = 0;
  std::string dns_reasons_;
  std::string ptr_;
  bool ptr_missing_ = false;
  bool pregreet_ = false;
  std::string rate_reason_;  // set at MAIL when a rate limit is exceeded
};

struct Decision {
  int code = 250;  // 250: accept; 4xx/5xx: the reply for this recipient
  std::string enhanced, text;
  std::string reason;        // why (for logs, tracking, security events)
  Action action = Action::None;
  bool tarpit = false;       // accepted, but slow the DATA reply
  bool logged_only = false;  // the tenant's strictness is "off": the action was only logged
  bool allowed = false;      // an allow entry matched: connection control (and greylisting) bypassed
  // Accepted on a sender-domain allow entry: the refusal in code/enhanced/text applies after DATA
  // unless the message is authenticated for this domain.
  std::string pending_domain;
  bool accepted() const { return code / 100 == 2; }
};

class ConnectionControl {
 public:
  ConnectionControl(ConnectionOptions, Reputation&, dns::Resolver* resolver);
  Reputation& reputation() { return rep_; }
  const ConnectionOptions& options() const { return opt_; }
  // Replaces the allow lists and the tenants' strictness (from the store, on config change).
  void set_lists(std::vector<AllowEntry>, std::map<std::string, Strictness>);
  Strictness strictness(const std::string& tenant) const;

  std::shared_ptr<ClientCheck> begin(const std::string& ip);
  // At MAIL FROM: counts the message for the rate limits (sender domain "" for a null sender).
  void on_mail(ClientCheck&, const std::string& sender_domain, int64_t now_s);
  Decision decide(ClientCheck&, const std::string& tenant, const std::string& sender_domain, int64_t now_s);
  // Tenants that greylist (from the store).
  void set_greylisting(std::set<std::string> tenants);
  // 0 when the recipient may pass (tenant not greylisting, or the triplet passed); otherwise the
  // seconds the client should wait before retrying.
  int greylist(const ClientCheck&, const std::string& tenant, const std::string& sender, const std::string& rcpt,
               int64_t now_s);

 private:
  friend class ClientCheck;
  bool over_rate(const std::string& key, uint32_t limit, int64_t now);
  ConnectionOptions opt_;
  Reputation& rep_;
  dns::Resolver* resolver_;
  mutable std::mutex mu_;
  std::vector<AllowEntry> allow_;
  std::map<std::string, Strictness> strictness_;
  std::unordered_map<std::string, int> sessions_per_net_;
  std::atomic<bool> host_entries_{false};
  std::set<std::string> greylist_tenants_;
  Greylist greylist_;
  struct Window {
    int64_t minute = 0;
    uint32_t count = 0, previous = 0;
  };
  std::unordered_map<std::string, Window> rates_;
};

}  // namespace mm::reputation
