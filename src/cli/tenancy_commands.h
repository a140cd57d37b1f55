// CLI commands for tenants, accounts, users, policies, sender lists, quarantine and tracking
// search. They call the tenancy, policy and quarantine services with the operator's scope, or
// with a console user's scope when --as USER is given (what that user could do in the console).
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "quarantine/quarantine.h"
#include "store/store.h"

namespace mm::cli {

struct TenancyArgs {
  std::string as_user;  // act as this console user ("" = operator)
  std::string tenant, name, address, alias, role, account, user, spec, domain, pattern, kind, id;
  std::string display, contact_name = "-", contact_email = "-", contact_phone = "-";
  std::string licensed, term_start, term_end, account_list, quarantine_days, tracking_days, user_release,
      approve_unauthenticated;
  bool inbound = false, outbound = false, approve_sender = false, json = false;
  bool not_spam = false;
  std::string attachment, sha256;  // track: attachment name contains / SHA-256
  std::vector<std::string> att_allow, att_block;  // policy attachments: extensions
  bool att_clear = false;  // quarantine release: report to the classifier as not spam
  std::string reason, expires, base_url, token;
  // searches
  std::string recipient, sender, subject, message_id, queue_id, client_ip, verdict, since, until, status = "held";
  std::string cls = "spam", score = "0", auth_domain;
  size_t limit = 100;
};

int tenant_show(const config::Config&, const TenancyArgs&);
int tenant_contract(const config::Config&, const TenancyArgs&);
int tenant_contact(const config::Config&, const TenancyArgs&);
int tenant_suspend(const config::Config&, const TenancyArgs&);
int tenant_resume(const config::Config&, const TenancyArgs&);
int tenant_usage(const config::Config&, const TenancyArgs&);
int tenant_events(const config::Config&, const TenancyArgs&);

int account_add(const config::Config&, const TenancyArgs&);
int account_remove(const config::Config&, const TenancyArgs&);
int account_alias(const config::Config&, const TenancyArgs&, bool add);
int account_list(const config::Config&, const TenancyArgs&);

// Passwords are read from standard input (first line).
int user_add(const config::Config&, const TenancyArgs&);
int user_list(const config::Config&, const TenancyArgs&);
int user_disable(const config::Config&, const TenancyArgs&, bool disabled);
int user_reset(const config::Config&, const TenancyArgs&);
int user_totp_reset(const config::Config&, const TenancyArgs&);

int policy_set(const config::Config&, const TenancyArgs&);
int policy_remove(const config::Config&, const TenancyArgs&);
int policy_show(const config::Config&, const TenancyArgs&);
int policy_explain(const config::Config&, const TenancyArgs&);
int policy_dry_run(const config::Config&, const TenancyArgs&);
// Replaces a tenant's content rules with the file's text (TenancyArgs::spec = path, "-" = stdin).
int policy_rules(const config::Config&, const TenancyArgs&);
int policy_attachments(const config::Config&, const TenancyArgs&);

int list_add(const config::Config&, const TenancyArgs&);
int list_remove(const config::Config&, const TenancyArgs&);
int list_show(const config::Config&, const TenancyArgs&);

int quarantine_list(const config::Config&, const TenancyArgs&);
int quarantine_show(const config::Config&, const TenancyArgs&);
int quarantine_release(const config::Config&, const TenancyArgs&);
int quarantine_delete(const config::Config&, const TenancyArgs&);
int quarantine_expire(const config::Config&);
// Builds and queues the digests of items held since --since (default 1d); links to --base-url.
int quarantine_digest(const config::Config&, const TenancyArgs&);
// Follows a digest link's token (what the API's link endpoint will do).
int quarantine_redeem(const config::Config&, const TenancyArgs&);

// Tracking search over message summaries (sender, subject, ... filters), or a message's history.
int track_search(const config::Config&, const TenancyArgs&);
bool track_wants_search(const TenancyArgs&);

// The server side of the quarantine requests over the control socket (they need the spool):
// {"quarantine", "release", id, approve "0"|"1", as_user ("-" = operator)},
// {"quarantine", "digest", base_url, since, hostname}, {"quarantine", "redeem", token}.
Result<std::string> quarantine_control(store::Store&, quarantine::Quarantine&, quarantine::SpoolReleaser&,
                                       const std::vector<std::string>& args);

}  // namespace mm::cli
