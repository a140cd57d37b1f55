// Persistence for the hosted-service data: tenant contracts and status, protected accounts and
// their aliases, console users with their sessions and API tokens, security events, policies,
// sender lists, the quarantine index and message summaries for tracking search. Plain records
// and queries only: the rules (licence, scoping, permissions, policy precedence) live in the
// tenancy, policy and quarantine modules, which reach this through Store::tenancy().
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::store {

struct TenantInfo {
  std::string tenant;  // tenant name
  bool suspended_inbound = false, suspended_outbound = false;
  std::string suspend_reason;
  int64_t suspended_at = 0;  // unix s, 0 = not suspended
  std::string contact_name, contact_email, contact_phone;
  int64_t licensed_accounts = 0;  // 0 = no licence set (unlimited)
  int64_t term_start = 0, term_end = 0;  // unix s, 0 = open
  bool account_list = false;  // true: the tenant keeps its account list (licence enforced on create)
  int64_t quarantine_days = 30, tracking_days = 90;
  bool approve_unauthenticated = false;  // approvals apply without SPF/DKIM alignment (unsafe)
  std::string user_release = "spam,bulk,blocked,dmarc_fail";  // classes end users may release
};

struct Account {
  int64_t id = 0;
  std::string tenant;
  std::string address;               // primary, lower-case
  std::vector<std::string> aliases;  // lower-case, sorted
  std::string display_name;
  int64_t created_at = 0;
};

struct User {
  int64_t id = 0;
  std::string name;     // login name, lower-case
  std::string tenant;   // "" for operators
  std::string role;     // operator | admin | auditor | user
  std::string account;  // end users: their mailbox address
  bool disabled = false;
  int64_t created_at = 0, password_changed_at = 0;
};

struct SecurityEvent {
  int64_t id = 0;
  int64_t ts = 0;  // unix s
  std::string tenant, kind, detail;
};

struct PolicyRow {
  std::string tenant;
  std::string level;   // tenant | domain | account
  std::string target;  // "" | domain | account address
  std::string spec;    // the policy text, validated by the policy module
  int64_t updated_at = 0;
};

struct SenderEntry {
  int64_t id = 0;
  std::string tenant;
  std::string owner;    // "" = tenant-wide, else the end user's account address
  std::string kind;     // allow | block
  std::string pattern;  // lower-case address, domain or wildcard
  int64_t expires_at = 0;  // unix s, 0 = never
  int64_t created_at = 0;
  std::string created_by;
};

struct QuarantineItem {
  std::string id;  // random hex
  std::string tenant, queue_id, recipient, sender, subject, message_id, client_ip;
  std::string verdict;  // class name
  double score = 0;
  std::string reason;   // why it was held (class, "blocked sender", ...)
  std::string symbols;
  std::string path;     // file with the message as received (our Received: + original bytes)
  int64_t size = 0, received_at = 0, expires_at = 0;
  std::string status = "held";  // held | released | deleted | expired
  int64_t acted_at = 0;
  std::string acted_by;
};

struct QuarantineQuery {
  std::string tenant;     // "" = any (operators only; services enforce that)
  std::vector<std::string> recipients;  // any of these; empty = any
  std::string sender, subject;          // substring, case-insensitive; "" = any
  std::string verdict, reason, status = "held";  // exact; "" = any
  int64_t since = 0, until = 0;         // received_at range, 0 = open
  size_t limit = 100;
};

struct MessageSummary {
  std::string queue_id, tenant;
  int64_t ts_us = 0;
  std::string sender, recipients, subject, message_id, client_ip;  // recipients comma-separated
  std::string verdict;
  double score = 0;
  std::string action;  // decisions, e.g. "deliver:2 quarantine:1"
  // One line each ("\n"-separated): attachment file names (lower-case) and SHA-256 (hex) of
  // their decoded bytes.
  std::string attachment_names, attachment_sha256;
};

struct SummaryQuery {
  std::string tenant;                   // "" = any
  std::vector<std::string> recipients;  // any of these (exact, lower-case); empty = any
  std::string sender, subject, message_id, queue_id, client_ip, verdict;  // "" = any
  int64_t since_us = 0, until_us = 0;   // 0 = open
  size_t limit = 100;
  std::string attachment;               // an attachment name contains this; "" = any
  std::string sha256;                   // an attachment's SHA-256 (hex, exact); "" = any
};

class TenancyStore {
 public:
  virtual ~TenancyStore() = default;

  // --- tenant contract and status (the tenant row itself is Store::create_tenant) ---
  virtual Result<TenantInfo> tenant_info(const std::string& tenant) = 0;
  // Replaces every field of TenantInfo; the legacy status column follows suspended_inbound.
  virtual Status set_tenant_info(const TenantInfo&) = 0;

  // --- accounts; max_accounts > 0 refuses creating the (max+1)th in the same transaction ---
  virtual Result<Account> create_account(const std::string& tenant, const std::string& address,
                                         const std::string& display, int64_t max_accounts) = 0;
  virtual Status delete_account(const std::string& tenant, const std::string& address) = 0;
  virtual Status add_alias(const std::string& tenant, const std::string& address, const std::string& alias) = 0;
  virtual Status remove_alias(const std::string& tenant, const std::string& alias) = 0;
  // The account an address (primary or alias) belongs to, in any tenant.
  virtual std::optional<Account> find_account(const std::string& address) = 0;
  virtual std::vector<Account> list_accounts(const std::string& tenant) = 0;  // "" = all
  virtual int64_t count_accounts(const std::string& tenant) = 0;
  // Records addresses seen in inbound traffic; returns how many distinct ones the tenant has.
  virtual Result<int64_t> note_seen(const std::string& tenant, const std::vector<std::string>& addresses,
                                    int64_t now) = 0;
  virtual int64_t count_seen(const std::string& tenant, int64_t since) = 0;

  // --- console users ---
  virtual Result<User> create_user(const User&, const std::string& password_hash) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
  virtual std::vector<User> list_users(const std::string& tenant) = 0;  // "" = all
  virtual Result<std::string> password_hash(const std::string& name) = 0;
  virtual Status set_user_disabled(const std::string& name, bool disabled) = 0;
  // New hash and every session and token of the user revoked, in one transaction.
  virtual Status reset_password(const std::string& name, const std::string& hash, int64_t now) = 0;
  virtual Status add_session(const std::string& user, const std::string& token_hash, int64_t expires) = 0;
  virtual Status add_token(const std::string& user, const std::string& label, const std::string& token_hash) = 0;
  virtual int64_t count_live_credentials(const std::string& user, int64_t now) = 0;  // sessions + tokens

  // --- security events ---
  virtual Status add_security_event(const SecurityEvent&) = 0;
  virtual std::vector<SecurityEvent> security_events(const std::string& tenant, size_t limit) = 0;

  // --- policies and sender lists ---
  virtual Status put_policy(const PolicyRow&) = 0;  // replaces (tenant, level, target)
  virtual Status delete_policy(const std::string& tenant, const std::string& level, const std::string& target) = 0;
  virtual std::vector<PolicyRow> list_policies(const std::string& tenant) = 0;  // "" = all
  virtual Result<SenderEntry> add_sender(const SenderEntry&) = 0;
  virtual Status delete_sender(const std::string& tenant, int64_t id) = 0;
  virtual std::vector<SenderEntry> list_senders(const std::string& tenant) = 0;  // "" = all

  // --- quarantine index ---
  virtual Status add_quarantine(const std::vector<QuarantineItem>&) = 0;
  virtual std::optional<QuarantineItem> get_quarantine(const std::string& id) = 0;
  virtual std::vector<QuarantineItem> search_quarantine(const QuarantineQuery&) = 0;
  // Sets status/acted_at/acted_by only if the item is still held; error otherwise.
  virtual Status set_quarantine_status(const std::string& id, const std::string& status, int64_t now,
                                       const std::string& by) = 0;
  // Held items with expires_at <= now.
  virtual std::vector<QuarantineItem> expired_quarantine(int64_t now) = 0;
  virtual int64_t count_held_with_path(const std::string& path) = 0;

  // --- message summaries (tracking search) ---
  virtual Status add_summaries(const std::vector<MessageSummary>&) = 0;  // all or nothing
  virtual std::vector<MessageSummary> search_summaries(const SummaryQuery&) = 0;
  // Deletes summaries older than each tenant's tracking_days (default_days for others).
  virtual Status prune_summaries(int64_t now_us, int64_t default_days) = 0;
};

}  // namespace mm::store
