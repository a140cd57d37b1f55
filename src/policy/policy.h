// Tenant policy: what to do with a message for one recipient, given its verdict.
//
// A policy is a list of rules "CLASS[>=SCORE]=ACTION" (SCORE a number or "high", the engine's
// reject threshold), e.g. "spam>=high=reject spam=quarantine bulk=tag". Classes: clean, spam,
// bulk, phishing, malware, unscannable, dmarc_fail, blocked. Actions: deliver, tag (deliver with
// subject tag and headers), quarantine, delete, reject. Levels: built-in defaults < tenant <
// domain < account; for a class, the most specific level with a rule matching the score wins
// (the rule with the highest minimum score at or below the message's score).
//
// Sender lists (per tenant, and per end user = account address), patterns: an address
// "a@b.example", a domain "b.example", or wildcards ("*@b.example", "*.b.example",
// "news*@b.example"); optional expiry. The end user's own entries are consulted first, then the
// tenant's; a block beats an approval at the same level. A blocked sender gets class "blocked".
// An approved sender only turns spam and bulk into clean (never phishing, malware or
// unscannable), and only when the message is authenticated for the sender's domain (AuthFacts:
// aligned SPF or DKIM pass), unless the tenant allows unauthenticated approvals.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/content_rules.h"
#include "scan/check.h"
#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::policy {

enum class Action { Deliver, Tag, Quarantine, Delete, Reject };
const char* to_string(Action);
// "deliver", "tag", "quarantine", "delete", "reject".
std::optional<Action> parse_action(const std::string&);

struct Rule {
  std::string cls;
  std::optional<double> min_score;  // nullopt = any score
  bool high = false;                // min_score is the engine's reject threshold
  Action action = Action::Deliver;
};

struct Policy {
  std::vector<Rule> rules;
  std::string spec() const;  // canonical text form
};

// Parses and validates a whole policy text; a bad rule refuses the whole text.
Result<Policy> parse_policy(const std::string& spec);
// The safe defaults every tenant starts with.
const Policy& default_policy();

// "aligned SPF or DKIM pass for domain D": filled from the authentication results of the message
// (auth module). Until those exist the gateway passes an empty set, so approvals are not applied
// (unless the tenant set approve_unauthenticated).
struct AuthFacts {
  std::vector<std::string> aligned_pass_domains;  // lower-case
  bool passes_for(const std::string& domain) const;
};

struct MessageFacts {
  std::string tenant;
  std::string envelope_sender;  // "" for <>
  std::string from_address;     // header From address
  scan::Class cls = scan::Class::Clean;
  double score = 0;
  double high = 15.0;           // the engine's reject threshold ("high")
  bool dmarc_fail = false;      // from the auth module later
  AuthFacts auth;
  const message::Message* msg = nullptr;  // for content rules (null: message conditions do not hold)
  size_t size = 0;                        // message bytes
};

struct Decision {
  Action action = Action::Deliver;
  std::string cls;     // effective class: the verdict class, or "blocked" / "clean" after lists
  std::string source;  // which rule decided: "default", "tenant", "domain:D", "account:A"
  std::string note;    // "approved sender a@b (tenant list)", "approval not applied: not authenticated", ...
  std::vector<std::string> add_headers;  // from content rules: "Name: value"
  std::string redirect;                  // from content rules: deliver to this address instead
  std::vector<std::string> copies;       // from content rules: deliver copies to these too
};

// Validates a sender-list pattern; returns it lower-cased.
Result<std::string> normalize_pattern(const std::string& pattern);
// Glob match ('*' = any run of characters), case-sensitive: lower-case both for case-insensitive.
bool glob_match(const std::string& pattern, const std::string& text);
// Does the pattern match the address (lower-case local@domain)?
bool pattern_matches(const std::string& pattern, const std::string& address);

// Every tenant's policies, accounts and lists, read once from the store; rebuilt when the store's
// config generation moves. Thread-safe to read.
class Snapshot {
 public:
  static std::shared_ptr<const Snapshot> load(store::Store&);
  // The decision for one recipient. `now` (unix s) decides which list entries have expired.
  Decision decide(const MessageFacts&, const std::string& recipient, int64_t now) const;
  // The account (primary address) of a recipient, "" when it has none.
  std::string account_of(const std::string& recipient) const;
  int64_t generation() const { return generation_; }
  // A copy with one policy replaced (for dry runs).
  std::shared_ptr<Snapshot> with_policy(const std::string& tenant, const std::string& level, const std::string& target,
                                        const Policy& p) const;

 private:
  struct TenantData {
    Policy tenant;
    std::map<std::string, Policy> domains, accounts;
    std::vector<store::SenderEntry> senders;
    RuleSet rules;
    bool approve_unauthenticated = false;
  };
  int64_t generation_ = 0;
  std::map<std::string, TenantData> tenants_;
  std::unordered_map<std::string, std::string> account_of_;
};

// One recipient of a recently tracked message that a candidate policy would treat differently.
struct DryRunChange {
  store::MessageSummary message;
  std::string recipient;
  Decision before, after;
};

// A tenant's override of the default-blocked attachment types: file name extensions to allow
// (unblock) and extra ones to block. Stored as the tenant's policy row of level "attachments" with
// the spec "allow=js,vbs block=iso" and handed to the attachments check through the gateway's
// directory snapshot (scan::TenantFacts). Allowing an extension lifts its name block and, for
// files whose content is of the kind the extension names (a script named .js), the executable
// and macro blocks; everything else (executables of other names, double extensions, mismatches,
// bidi names) stays blocked.
struct AttachmentOverrides {
  std::vector<std::string> allow, block;  // lower-case, without the dot, sorted, no overlap
  std::string spec() const;
  bool empty() const { return allow.empty() && block.empty(); }
};
Result<AttachmentOverrides> parse_attachment_overrides(const std::string& spec);
// From lists of extensions ("js", ".VBS", "iso,img"); validated.
Result<AttachmentOverrides> make_attachment_overrides(const std::vector<std::string>& allow,
                                                      const std::vector<std::string>& block);

// Scoped management of policies and lists (CLI and API).
class PolicyService {
 public:
  explicit PolicyService(store::Store& st) : st_(st) {}
  // level: tenant (target ""), domain (a domain of the tenant) or account (an account address).
  Status set(const tenancy::Scope&, const std::string& tenant, const std::string& level, const std::string& target,
             const std::string& spec);
  Status remove(const tenancy::Scope&, const std::string& tenant, const std::string& level,
                const std::string& target);
  Result<std::vector<store::PolicyRow>> list(const tenancy::Scope&, const std::string& tenant);
  // Replaces the tenant's content rules (policy/content_rules.h) as a whole; "" removes them.
  Status set_rules(const tenancy::Scope&, const std::string& tenant, const std::string& text);
  // Replaces the tenant's attachment type overrides; empty overrides remove them.
  Status set_attachments(const tenancy::Scope&, const std::string& tenant, const AttachmentOverrides&);
  Result<AttachmentOverrides> attachments(const tenancy::Scope&, const std::string& tenant);
  // The decision a message of class/score would get for a recipient (for "why?" and dry runs).
  Result<Decision> explain(const tenancy::Scope&, const std::string& recipient, const MessageFacts&);
  // Replays the tenant's tracked mail since `since_us` (at most `limit` messages) under a candidate
  // policy (validated like set(), nothing saved) and returns what would change. high = the
  // engine's reject threshold.
  Result<std::vector<DryRunChange>> dry_run(const tenancy::Scope&, const std::string& tenant, const std::string& level,
                                            const std::string& target, const std::string& spec, int64_t since_us,
                                            size_t limit, double high);

  // owner "" = tenant-wide (admins); an account address = that end user's list (admins or the user).
  Result<store::SenderEntry> add_sender(const tenancy::Scope&, const std::string& tenant, const std::string& owner,
                                        const std::string& kind, const std::string& pattern, int64_t expires_at);
  Status remove_sender(const tenancy::Scope&, const std::string& tenant, int64_t id);
  Result<std::vector<store::SenderEntry>> senders(const tenancy::Scope&, const std::string& tenant);

 private:
  store::Store& st_;
};

}  // namespace mm::policy
