// The scan pipeline's unit: a check reads the parsed message and the SMTP facts and returns named,
// scored, explained results ("symbols"). Checks hold no per-message state: run() is const and may
// be called from several threads at once.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

#include "message/message.h"

namespace mm::scan {

// What the directory says about the message's tenant and the operator's lists (filled by the
// gateway from its directory snapshot; null when unknown, e.g. `mailmoat scan` without --tenant).
struct TenantFacts {
  std::string name;                          // "" when the message has no tenant
  std::string display_name;                  // the organisation's name ("Example Corp")
  std::vector<std::string> domains;          // its protected domains, lower-case
  std::vector<std::string> protected_names;  // executives' names whose impersonation is flagged
  std::vector<std::string> url_blocklist;    // hosts/domains the tenant blocks in links
  std::vector<std::string> operator_url_blocklist;  // hosts/domains the operator blocks (store)
  // The tenant's attachment type overrides (policy "attachments"): extensions allowed despite
  // the default block list, and extra extensions blocked; lower-case, without the dot.
  std::vector<std::string> attachment_allow, attachment_block;
};

// Sender authentication results (SPF, DKIM, DMARC), filled by the auth module before the scan
// and turned into symbols by its "auth" check. evaluated=false: authentication was not run.
struct AuthFacts {
  bool evaluated = false;
  std::string spf, spf_domain, spf_reason;  // MAIL FROM identity (HELO's for a null sender)
  std::string helo_spf;                     // HELO identity
  struct Dkim {
    std::string domain, selector, result, reason;  // result: pass, fail, permerror, temperror, ...
  };
  std::vector<Dkim> dkim;
  std::string dmarc, dmarc_domain, dmarc_reason;  // result: pass, fail, none, temperror, permerror
  std::string dmarc_requested, dmarc_policy;      // published p/sp and the one to apply after pct
  std::string tempfail;                           // non-empty: DNS failures leave it undecidable
};

// What the SMTP session knew about the message.
struct Envelope {
  std::string client_ip;
  std::string helo;
  std::string sender;                   // "" = null sender
  std::vector<std::string> recipients;
  bool tls = false;
  std::string tenant;
  std::shared_ptr<const TenantFacts> tenant_facts;  // may be null
  AuthFacts auth;
};

enum class Class { Clean, Bulk, Spam, Phishing, Malware, Unscannable };
const char* to_string(Class);

struct Symbol {
  std::string name;     // UPPER_SNAKE, e.g. "BAYES_SPAM", "HTML_ONLY"
  double score = 0;     // positive: spammy; negative: hammy
  std::string detail;   // short human explanation: "probability 0.998", "href evil.test, text bank.example"
  Class hint = Class::Clean;  // a class this symbol is evidence for (Bulk, Phishing, Malware, ...)
  bool retry = false;         // a transient failure (e.g. the virus scanner is down): scan again later
};

// Data derived from the message that several checks need (e.g. its URLs), made once per scan by
// the first check that asks and shared with the others. Thread-safe; keyed by type and name.
class Memo {
 public:
  template <class T, class Make>
  std::shared_ptr<const T> get(const std::string& key, Make make) {
    std::lock_guard lk(mu_);
    auto& slot = items_[{std::type_index(typeid(T)), key}];
    if (!slot) slot = std::make_shared<const T>(make());
    return std::static_pointer_cast<const T>(slot);
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::type_index, std::string>, std::shared_ptr<const void>> items_;
};

struct Context {
  const message::Message& msg;
  const Envelope& env;
  // The symbols of the checks this one names in depends_on(), in run order; never those of other
  // checks that happened to run before (independent checks may run at the same time, see waits()).
  const std::vector<Symbol>& prior;
  // The scan's deadline: a check that waits (e.g. for a scanner daemon) gives up by then.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  Memo* memo = nullptr;  // the scan's shared derived data; null: each check computes its own
};

class Check {
 public:
  virtual ~Check() = default;
  virtual std::string name() const = 0;                                // unique, lower_snake
  virtual std::vector<std::string> depends_on() const { return {}; }  // names of checks to run first
  // Largest |score| the check can add in total; lets the engine stop early when the verdict is certain.
  virtual double max_abs_score() const = 0;
  // Appends this check's symbols. Must not throw for any message.
  virtual void run(const Context& ctx, std::vector<Symbol>& out) const = 0;
  // True when run() spends its time waiting on I/O (a scanner daemon, DNS), not computing: the
  // engine may then start it on one of its threads as soon as its dependencies are done, while
  // the other checks run. Such a check must give up by ctx.deadline.
  virtual bool waits() const { return false; }
};

}  // namespace mm::scan
