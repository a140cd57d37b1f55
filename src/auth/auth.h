// Sender authentication for one inbound message, in two phases:
//  1. prefetch() on the event loop: every DNS question (SPF for MAIL FROM and HELO, the DKIM
//     keys named by the signatures, the DMARC policy of the From domain) asked asynchronously
//     and in parallel through the resolver and its cache;
//  2. finish() on a scan worker: DKIM verification (CPU) with the prefetched keys, DMARC, and the
//     results as scan::AuthFacts (for the "auth" check) plus the Authentication-Results header.
// A DNS failure is never read as "no record": it gives temperror, and AuthFacts::tempfail says
// when it leaves the outcome undecidable (the gateway then answers 451 4.4.3).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "scan/check.h"

namespace mm::auth {

struct AuthOptions {
  std::string authserv_id;  // in Authentication-Results; default: the server hostname
  bool spf = true, dkim = true, dmarc = true;
  int timeout_ms = 10000;   // DNS budget for one message; later answers count as temperror
};

struct AuthRequest {
  std::string client_ip, helo, mail_from;  // mail_from "" = null sender
  std::shared_ptr<const std::string> raw;  // the message as received (CRLF)
};

struct Prefetched {
  AuthRequest req;
  std::shared_ptr<AnswerSet> answers = std::make_shared<AnswerSet>();
  SpfOutcome spf, helo_spf;
  std::vector<DkimRef> dkim_refs;
  std::string from_domain, from_problem;
  DmarcDiscovery dmarc;
};

class Authenticator {
 public:
  Authenticator(dns::Resolver&, AuthOptions);
  const AuthOptions& options() const { return opt_; }
  // Starts the SPF lookups at MAIL FROM (result discarded): by the end of DATA their answers are
  // in the resolver's cache or in flight (then shared), so prefetch() rarely waits for SPF.
  void warm_spf(const std::string& client_ip, const std::string& mail_from, const std::string& helo) const;
  // Phase 1: `done` runs once, on a loop thread or the caller's.
  void prefetch(AuthRequest, std::function<void(std::shared_ptr<Prefetched>)> done) const;
  // Phase 2 (thread-safe, CPU only).
  scan::AuthFacts finish(const Prefetched&) const;
  // The Authentication-Results field (RFC 8601) for these facts, CRLF-terminated.
  std::string header(const scan::AuthFacts&, const Prefetched&) const;

 private:
  dns::Resolver& resolver_;
  AuthOptions opt_;
};

// Authentication-Results field from facts (exposed for tests).
std::string build_authentication_results(const std::string& authserv_id, const scan::AuthFacts&,
                                         const std::string& mail_from, const std::string& helo);
// The facts back from our own Authentication-Results field in `raw` (a message we accepted and
// spooled: forged fields with our id were removed then), for a rescan; evaluated=false if none.
scan::AuthFacts facts_from_authentication_results(std::string_view raw, const std::string& authserv_id);
// `raw` without the Authentication-Results fields whose authserv-id is ours (forgeries); every
// other byte unchanged.
std::string remove_our_authentication_results(std::string_view raw, const std::string& authserv_id);
// The same for a shared message: `raw` itself when it carries no such field (no copy).
std::shared_ptr<const std::string> without_our_authentication_results(std::shared_ptr<const std::string> raw,
                                                                      const std::string& authserv_id);

}  // namespace mm::auth
