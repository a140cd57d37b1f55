// mailmoat: the binary. Only argument parsing lives here; the work is in commands.cpp/serve.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/tenancy_commands.h"
#include "cli/reputation_commands.h"
#include "util/version.h"

namespace {
struct Exit {
  int code;
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mailmoat " MAILMOAT_VERSION
               " - a hosted email security gateway.\n"
               "Accepts mail for your tenants' domains, queues it durably and relays it to their servers."};
  app.require_subcommand(1);
  app.fallthrough();  // -c works before or after the subcommand (inherited by every subcommand)
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "Configuration file (default: config/mailmoat.toml if present, else built-in defaults)");

  mm::config::Config cfg;
  mm::cli::TenancyArgs ta;
  app.add_option("--as", ta.as_user,
                 "Act as this console user (tenant, account, user, policy, list, quarantine, track commands)");
  // Commands that honour --as (they call the scoped services).
  auto scoped = [&](auto fn) {
    return [&, fn] {
      if (!mm::cli::load_config(config_path, cfg)) throw Exit{2};
      int rc = fn();
      if (rc != 0) throw Exit{rc};
    };
  };
  // Operator-only commands: --as is refused rather than silently ignored.
  auto with_config = [&](auto fn) {
    return scoped([&, fn] {
      if (!ta.as_user.empty()) {
        std::fprintf(stderr, "mailmoat: --as is not supported by this command (operators only)\n");
        return 2;
      }
      return fn();
    });
  };

  // serve
  auto* serve = app.add_subcommand("serve", "Run the gateway in the foreground (SMTP, queue, delivery)");
  serve->callback(with_config([&] { return mm::cli::serve(cfg); }));

  auto* check = app.add_subcommand("check-config", "Validate the configuration file and print a summary");
  check->callback(with_config([&] { return mm::cli::check_config(cfg); }));

  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([] { std::printf("mailmoat %s\n", MAILMOAT_VERSION); });

  // queue
  auto* queue = app.add_subcommand("queue", "Inspect and manage the mail queue (live server or spool)");
  queue->require_subcommand(1);
  bool json = false;
  std::string id;
  auto* qlist = queue->add_subcommand("list", "List queued messages with their recipients and state");
  qlist->add_flag("--json", json, "One JSON object per message");
  qlist->callback(with_config([&] { return mm::cli::queue_list(cfg, json); }));
  auto* qshow = queue->add_subcommand("show", "Show one message: envelope, state and its tracking history");
  qshow->add_option("id", id, "Queue id")->required();
  qshow->add_flag("--json", json, "JSON output");
  qshow->callback(with_config([&] { return mm::cli::queue_show(cfg, id, json); }));
  auto* qflush = queue->add_subcommand("flush", "Attempt delivery of every deferred message now");
  qflush->callback(with_config([&] { return mm::cli::queue_action(cfg, "flush", ""); }));
  for (auto [name, help] : {std::pair{"delete", "Delete a message without delivering it (no bounce)"},
                            std::pair{"hold", "Hold a message: no delivery attempts until released"},
                            std::pair{"release", "Release a held message for delivery now"}}) {
    auto* sub = queue->add_subcommand(name, help);
    sub->add_option("id", id, "Queue id")->required();
    std::string action = name;
    sub->callback(with_config([&, action] { return mm::cli::queue_action(cfg, action, id); }));
  }

  // tenant
  auto* tenant = app.add_subcommand("tenant", "Manage tenants (customer organisations)");
  tenant->require_subcommand(1);
  std::string name, display;
  auto* tadd = tenant->add_subcommand("add", "Create a tenant");
  tadd->add_option("name", name, "Short name: lower-case letters, digits, '-'")->required();
  tadd->add_option("--display-name", display, "Human-readable name");
  tadd->callback(with_config([&] { return mm::cli::tenant_add(cfg, name, display); }));
  tenant->add_subcommand("list", "List tenants")->callback(with_config([&] { return mm::cli::tenant_list(cfg); }));
  auto* tsusp = tenant->add_subcommand("suspend", "Suspend a tenant's inbound mail (deferred with 450) and/or outbound mail");
  tsusp->add_option("name", ta.name, "Tenant name")->required();
  tsusp->add_flag("--inbound", ta.inbound, "Inbound only (default: both)");
  tsusp->add_flag("--outbound", ta.outbound, "Outbound only (default: both)");
  tsusp->add_option("--reason", ta.reason, "Why (kept with the time and shown to the operator)");
  tsusp->callback(scoped([&] { return mm::cli::tenant_suspend(cfg, ta); }));
  auto* tact = tenant->add_subcommand("activate", "Re-activate a suspended tenant (inbound and outbound)");
  tact->add_option("name", ta.name, "Tenant name")->required();
  tact->callback(scoped([&] { return mm::cli::tenant_resume(cfg, ta); }));
  auto* tshow = tenant->add_subcommand("show", "Show a tenant's status, contact, contract and settings");
  tshow->add_option("name", ta.name, "Tenant name")->required();
  tshow->callback(scoped([&] { return mm::cli::tenant_show(cfg, ta); }));
  auto* tcon = tenant->add_subcommand("contract", "Set a tenant's licence, term and retention (operators)");
  tcon->add_option("name", ta.name, "Tenant name")->required();
  tcon->add_option("--licensed", ta.licensed, "Licensed protected accounts (0 = unlimited)");
  tcon->add_option("--term-start", ta.term_start, "Contract start (YYYY-MM-DD)");
  tcon->add_option("--term-end", ta.term_end, "Contract end (YYYY-MM-DD)");
  tcon->add_option("--account-list", ta.account_list, "on: the tenant keeps its account list (licence enforced on create); off: seen recipients are counted");
  tcon->add_option("--quarantine-days", ta.quarantine_days, "Quarantine retention (default 30)");
  tcon->add_option("--tracking-days", ta.tracking_days, "Message tracking retention (default 90)");
  tcon->add_option("--user-release", ta.user_release, "Classes end users may release, e.g. spam,bulk,blocked (malware never)");
  tcon->add_option("--approve-unauthenticated", ta.approve_unauthenticated, "on: approved senders apply without SPF/DKIM alignment (unsafe)");
  tcon->callback(scoped([&] { return mm::cli::tenant_contract(cfg, ta); }));
  auto* tcont = tenant->add_subcommand("contact", "Set a tenant's contact data");
  tcont->add_option("name", ta.name, "Tenant name")->required();
  tcont->add_option("--name", ta.contact_name, "Contact person");
  tcont->add_option("--email", ta.contact_email, "Contact e-mail address");
  tcont->add_option("--phone", ta.contact_phone, "Contact phone");
  tcont->callback(scoped([&] { return mm::cli::tenant_contact(cfg, ta); }));
  auto* tuse = tenant->add_subcommand("usage", "Licence usage report: licensed, accounts, recipients seen, over or not");
  tuse->add_option("name", ta.name, "Only this tenant");
  tuse->add_flag("--json", ta.json, "JSON lines");
  tuse->callback(scoped([&] { return mm::cli::tenant_usage(cfg, ta); }));
  auto* tev = tenant->add_subcommand("events", "Security events (licence exceeded, suspensions, password resets)");
  tev->add_option("name", ta.name, "Only this tenant");
  tev->add_option("--limit", ta.limit, "Most events to show");
  tev->callback(scoped([&] { return mm::cli::tenant_events(cfg, ta); }));

  // accounts and users
  auto* acct = app.add_subcommand("account", "Manage a tenant's protected accounts (mailboxes) and their aliases");
  acct->require_subcommand(1);
  auto* aadd = acct->add_subcommand("add", "Add a protected account (refused beyond the licence)");
  aadd->add_option("address", ta.address, "Mailbox address")->required();
  aadd->add_option("--tenant", ta.tenant, "Tenant")->required();
  aadd->add_option("--name", ta.display, "Display name");
  aadd->callback(scoped([&] { return mm::cli::account_add(cfg, ta); }));
  auto* arm = acct->add_subcommand("remove", "Remove a protected account");
  arm->add_option("address", ta.address, "Mailbox address")->required();
  arm->add_option("--tenant", ta.tenant, "Tenant")->required();
  arm->callback(scoped([&] { return mm::cli::account_remove(cfg, ta); }));
  auto* aal = acct->add_subcommand("alias", "Add an alias to an account");
  aal->add_option("address", ta.address, "Account address")->required();
  aal->add_option("alias", ta.alias, "Alias address")->required();
  aal->add_option("--tenant", ta.tenant, "Tenant")->required();
  aal->callback(scoped([&] { return mm::cli::account_alias(cfg, ta, true); }));
  auto* aun = acct->add_subcommand("unalias", "Remove an alias");
  aun->add_option("alias", ta.alias, "Alias address")->required();
  aun->add_option("--tenant", ta.tenant, "Tenant")->required();
  aun->callback(scoped([&] { return mm::cli::account_alias(cfg, ta, false); }));
  auto* alist = acct->add_subcommand("list", "List accounts with their aliases");
  alist->add_option("--tenant", ta.tenant, "Only this tenant");
  alist->callback(scoped([&] { return mm::cli::account_list(cfg, ta); }));

  auto* user = app.add_subcommand("user", "Manage console users (operator, admin, auditor, user)");
  user->require_subcommand(1);
  auto* uadd = user->add_subcommand("add", "Create a user; the password is read from standard input");
  uadd->add_option("name", ta.user, "Login name")->required();
  uadd->add_option("--role", ta.role, "operator, admin, auditor or user")->required();
  uadd->add_option("--tenant", ta.tenant, "Tenant (all roles but operator)");
  uadd->add_option("--account", ta.account, "End users: their mailbox address");
  uadd->callback(scoped([&] { return mm::cli::user_add(cfg, ta); }));
  auto* ulist = user->add_subcommand("list", "List users");
  ulist->add_option("--tenant", ta.tenant, "Only this tenant");
  ulist->callback(scoped([&] { return mm::cli::user_list(cfg, ta); }));
  for (auto [nm, dis] : {std::pair{"disable", true}, {"enable", false}}) {
    auto* sub = user->add_subcommand(nm, dis ? "Disable a user (revokes its sessions and tokens)" : "Enable a user");
    sub->add_option("name", ta.user, "Login name")->required();
    bool d = dis;
    sub->callback(scoped([&, d] { return mm::cli::user_disable(cfg, ta, d); }));
  }
  auto* tpn = tenant->add_subcommand("protect-name", "Names (executives) whose display-name use from outside is impersonation");
  tpn->require_subcommand(1);
  std::string pn_tenant, pn_name;
  for (auto [sub_name, help] : {std::pair{"add", "Protect a name"}, std::pair{"remove", "Stop protecting a name"},
                                std::pair{"list", "List protected names"}}) {
    auto* sub = tpn->add_subcommand(sub_name, help);
    sub->add_option("tenant", pn_tenant, "Tenant name")->required();
    std::string action = sub_name;
    if (action != "list") sub->add_option("name", pn_name, "The person's name as it appears in From")->required();
    sub->callback(with_config([&, action] { return mm::cli::protected_name(cfg, action, pn_tenant, pn_name); }));
  }

  auto* ureset = user->add_subcommand("reset-password", "Set a new password (stdin) and revoke all sessions and tokens");
  ureset->add_option("name", ta.user, "Login name")->required();
  ureset->callback(scoped([&] { return mm::cli::user_reset(cfg, ta); }));
  auto* utotp = user->add_subcommand("totp-reset", "Turn a user's TOTP second factor off (a lost authenticator)");
  utotp->add_option("name", ta.user, "Login name")->required();
  utotp->callback(scoped([&] { return mm::cli::user_totp_reset(cfg, ta); }));

  // policy and sender lists
  auto* pol = app.add_subcommand("policy", "Per-tenant, per-domain and per-account actions for each verdict class");
  pol->require_subcommand(1);
  auto* pset = pol->add_subcommand("set", "Set a policy, e.g. \"spam>=high=reject spam=quarantine bulk=tag\"");
  pset->add_option("tenant", ta.tenant, "Tenant")->required();
  pset->add_option("spec", ta.spec, "Rules CLASS[>=SCORE|high]=deliver|tag|quarantine|delete|reject")->required();
  pset->add_option("--domain", ta.domain, "For this domain only");
  pset->add_option("--account", ta.account, "For this account only");
  pset->callback(scoped([&] { return mm::cli::policy_set(cfg, ta); }));
  auto* prm = pol->add_subcommand("remove", "Remove a policy (the next level applies again)");
  prm->add_option("tenant", ta.tenant, "Tenant")->required();
  prm->add_option("--domain", ta.domain, "The domain's policy");
  prm->add_option("--account", ta.account, "The account's policy");
  prm->callback(scoped([&] { return mm::cli::policy_remove(cfg, ta); }));
  auto* pshow = pol->add_subcommand("show", "Show the defaults and a tenant's policies");
  pshow->add_option("tenant", ta.tenant, "Tenant");
  pshow->callback(scoped([&] { return mm::cli::policy_show(cfg, ta); }));
  auto* pexp = pol->add_subcommand("explain", "What the policy does with a message of a class and score for a recipient");
  pexp->add_option("recipient", ta.recipient, "Recipient address")->required();
  pexp->add_option("--class", ta.cls, "clean, spam, bulk, phishing, malware, unscannable");
  pexp->add_option("--score", ta.score, "Score");
  pexp->add_option("--sender", ta.sender, "Sender address");
  pexp->add_option("--auth-domain", ta.auth_domain, "Treat the message as authenticated (aligned SPF/DKIM) for this domain");
  pexp->callback(scoped([&] { return mm::cli::policy_explain(cfg, ta); }));

  auto* pdry = pol->add_subcommand("dry-run", "Replay recent tracked mail under a candidate policy (nothing is saved)");
  pdry->add_option("tenant", ta.tenant, "Tenant")->required();
  pdry->add_option("spec", ta.spec, "Candidate rules")->required();
  pdry->add_option("--domain", ta.domain, "As the domain's policy");
  pdry->add_option("--account", ta.account, "As the account's policy");
  pdry->add_option("--since", ta.since, "Mail since (default 7d)");
  pdry->add_option("--limit", ta.limit, "Most messages to replay");
  pdry->callback(scoped([&] { return mm::cli::policy_dry_run(cfg, ta); }));

  auto* prules = pol->add_subcommand("rules", "Replace a tenant's content rules with a file's (validated whole; empty file: none)");
  prules->add_option("tenant", ta.tenant, "Tenant")->required();
  prules->add_option("file", ta.spec, "Rules file (- = standard input); format in docs/CONFIGURATION.md")->required();
  prules->callback(scoped([&] { return mm::cli::policy_rules(cfg, ta); }));
  auto* patt = pol->add_subcommand("attachments", "Show or replace a tenant's attachment type overrides");
  patt->add_option("tenant", ta.tenant, "Tenant")->required();
  patt->add_option("--allow", ta.att_allow, "Extensions to allow despite the default block list (js or js,vbs)");
  patt->add_option("--block", ta.att_block, "Extensions to block in addition (iso or iso,img)");
  patt->add_flag("--clear", ta.att_clear, "Remove the overrides (the configured defaults apply)");
  patt->callback(scoped([&] { return mm::cli::policy_attachments(cfg, ta); }));

  auto* lst = app.add_subcommand("list", "Approved (allow) and blocked senders per tenant or end user");
  lst->require_subcommand(1);
  auto* ladd = lst->add_subcommand("add", "Add a sender: address, domain or wildcard (*@example.com, *.example.com)");
  ladd->add_option("kind", ta.kind, "allow or block")->required()->check(CLI::IsMember({"allow", "block"}));
  ladd->add_option("pattern", ta.pattern, "Sender pattern")->required();
  ladd->add_option("--tenant", ta.tenant, "Tenant")->required();
  ladd->add_option("--user", ta.user, "An end user's account address (default: tenant-wide)");
  ladd->add_option("--expires", ta.expires, "Nd (days from now) or YYYY-MM-DD");
  ladd->callback(scoped([&] { return mm::cli::list_add(cfg, ta); }));
  auto* lrm = lst->add_subcommand("remove", "Remove an entry by id");
  lrm->add_option("id", ta.id, "Entry id")->required();
  lrm->add_option("--tenant", ta.tenant, "Tenant")->required();
  lrm->callback(scoped([&] { return mm::cli::list_remove(cfg, ta); }));
  auto* lshow = lst->add_subcommand("show", "Show entries");
  lshow->add_option("--tenant", ta.tenant, "Tenant");
  lshow->add_option("--user", ta.user, "Only this end user's entries");
  lshow->callback(scoped([&] { return mm::cli::list_show(cfg, ta); }));

  // quarantine
  auto* qu = app.add_subcommand("quarantine", "Search, preview, release and delete quarantined messages");
  qu->require_subcommand(1);
  auto* qlst = qu->add_subcommand("list", "Search quarantined messages");
  qlst->add_option("--tenant", ta.tenant, "Tenant");
  qlst->add_option("--recipient", ta.recipient, "Recipient address");
  qlst->add_option("--sender", ta.sender, "Sender contains");
  qlst->add_option("--subject", ta.subject, "Subject contains");
  qlst->add_option("--verdict", ta.verdict, "Scanner class");
  qlst->add_option("--reason", ta.reason, "Why held: spam, blocked, malware, ...");
  qlst->add_option("--status", ta.status, "held (default), released, deleted, expired or any");
  qlst->add_option("--since", ta.since, "YYYY-MM-DD or Nd ago");
  qlst->add_option("--until", ta.until, "YYYY-MM-DD");
  qlst->add_option("--limit", ta.limit, "Most items to show");
  qlst->add_flag("--json", ta.json, "JSON lines");
  qlst->callback(scoped([&] { return mm::cli::quarantine_list(cfg, ta); }));
  auto* qsh = qu->add_subcommand("show", "Details and a safe preview (decoded headers and text only)");
  qsh->add_option("id", ta.id, "Quarantine id")->required();
  qsh->callback(scoped([&] { return mm::cli::quarantine_show(cfg, ta); }));
  auto* qrel = qu->add_subcommand("release", "Rescan, then deliver the original message through the queue");
  qrel->add_option("id", ta.id, "Quarantine id")->required();
  qrel->add_flag("--approve-sender", ta.approve_sender, "Also approve the sender for this recipient");
  qrel->add_flag("--not-spam", ta.not_spam, "Also report the original message to the classifier as not spam");
  qrel->callback(scoped([&] { return mm::cli::quarantine_release(cfg, ta); }));
  auto* qdel = qu->add_subcommand("delete", "Delete a quarantined message");
  qdel->add_option("id", ta.id, "Quarantine id")->required();
  qdel->callback(scoped([&] { return mm::cli::quarantine_delete(cfg, ta); }));
  auto* qdig = qu->add_subcommand("digest", "Queue end-user digests of newly held mail with signed links (run from cron)");
  qdig->add_option("--base-url", ta.base_url, "Where links are redeemed, e.g. https://console.example/q")->required();
  qdig->add_option("--since", ta.since, "Items held since (default: each tenant's last digest run, or 1d)");
  qdig->callback(scoped([&] { return mm::cli::quarantine_digest(cfg, ta); }));
  auto* qred = qu->add_subcommand("redeem", "Carry out a digest link (its t= token) as the mailbox's end user");
  qred->add_option("token", ta.token, "The link's token")->required();
  qred->callback(scoped([&] { return mm::cli::quarantine_redeem(cfg, ta); }));
  qu->add_subcommand("expire", "Expire messages past their tenant's retention now (the server does it hourly)")
      ->callback(with_config([&] { return mm::cli::quarantine_expire(cfg); }));
  auto* trm = tenant->add_subcommand("remove", "Delete a tenant (it must have no domains left)");
  trm->add_option("name", name, "Tenant name")->required();
  trm->callback(with_config([&] { return mm::cli::tenant_remove(cfg, name); }));

  // domain
  auto* domain = app.add_subcommand("domain", "Manage protected domains and their downstream routes");
  domain->require_subcommand(1);
  std::string dname, tname;
  mm::cli::DomainRouteArgs rargs;
  auto* dadd = domain->add_subcommand("add", "Protect a domain for a tenant");
  dadd->add_option("domain", dname, "Domain name")->required();
  dadd->add_option("--tenant", tname, "Owning tenant")->required();
  dadd->add_option("--route", rargs.routes, "Downstream server host:port[:preference] (repeatable)");
  dadd->add_option("--tls", rargs.tls, "TLS to the downstream: none, opportunistic (default), required");
  dadd->callback(with_config([&] { return mm::cli::domain_add(cfg, tname, dname, rargs); }));
  auto* dlist = domain->add_subcommand("list", "List protected domains with their routes");
  dlist->add_option("--tenant", tname, "Only this tenant's domains");
  dlist->callback(with_config([&] { return mm::cli::domain_list(cfg, tname); }));
  auto* drm = domain->add_subcommand("remove", "Stop protecting a domain (its mail is then refused)");
  drm->add_option("domain", dname, "Domain name")->required();
  drm->callback(with_config([&] { return mm::cli::domain_remove(cfg, dname); }));
  auto* droute = domain->add_subcommand("route", "Replace a domain's downstream route");
  droute->add_option("domain", dname, "Domain name")->required();
  droute->add_option("servers", rargs.routes, "host:port[:preference] ...")->required();
  droute->add_option("--tls", rargs.tls, "none, opportunistic (default), required");
  droute->callback(with_config([&] { return mm::cli::domain_route(cfg, dname, rargs); }));
  auto* dval = domain->add_subcommand("recipient-validation",
                                      "Refuse (550 5.1.1) recipients not in the domain's address list");
  std::string onoff;
  dval->add_option("domain", dname, "Domain name")->required();
  dval->add_option("state", onoff, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  dval->callback(with_config([&] { return mm::cli::domain_validation(cfg, dname, onoff == "on"); }));

  // recipient
  auto* rcpt = app.add_subcommand("recipient", "Manage known recipient addresses (for recipient validation)");
  rcpt->require_subcommand(1);
  std::string addr;
  auto* radd = rcpt->add_subcommand("add", "Add a known address");
  radd->add_option("address", addr, "user@domain")->required();
  radd->callback(with_config([&] { return mm::cli::recipient_add(cfg, addr); }));
  auto* rrm = rcpt->add_subcommand("remove", "Remove a known address");
  rrm->add_option("address", addr, "user@domain")->required();
  rrm->callback(with_config([&] { return mm::cli::recipient_remove(cfg, addr); }));
  auto* rlist = rcpt->add_subcommand("list", "List a domain's known addresses");
  rlist->add_option("domain", dname, "Domain name")->required();
  rlist->callback(with_config([&] { return mm::cli::recipient_list(cfg, dname); }));

  // scanning
  std::vector<std::string> files, spam_paths, ham_paths;
  auto* scan = app.add_subcommand("scan", "Scan message files (.eml or mbox) and explain the verdict: why?");
  scan->add_option("files", files, "Message files or directories")->required();
  scan->add_flag("--json", json, "One JSON object per message");
  std::string scan_tenant;
  scan->add_option("--tenant", scan_tenant, "Scan as mail for this tenant (default: the tenant of the To/Cc domains)");
  scan->callback(with_config([&] { return mm::cli::scan_files(cfg, files, json, scan_tenant); }));

  // urllist: link block lists
  auto* urllist = app.add_subcommand("urllist", "Block hosts/domains in links (the operator's list, or a tenant's)");
  urllist->require_subcommand(1);
  std::string ul_tenant, ul_entry;
  for (auto [sub_name, help] : {std::pair{"add", "Block a host, domain or IPv4 address in links"},
                                std::pair{"remove", "Remove an entry"}, std::pair{"list", "List the entries"}}) {
    auto* sub = urllist->add_subcommand(sub_name, help);
    sub->add_option("--tenant", ul_tenant, "The tenant's list (default: the operator's list, for every tenant)");
    std::string action = sub_name;
    if (action != "list") sub->add_option("entry", ul_entry, "Host, domain or IPv4 address")->required();
    sub->callback(with_config([&, action] { return mm::cli::urllist(cfg, action, ul_tenant, ul_entry); }));
  }
  bool reset = false;
  auto* train = app.add_subcommand("train", "Train the spam classifier from example messages (.eml files, mbox, dirs)");
  train->add_option("--spam", spam_paths, "Spam examples (repeatable)");
  train->add_option("--ham", ham_paths, "Legitimate examples (repeatable)");
  train->add_flag("--reset", reset, "Start from an empty model instead of adding to the stored one");
  train->callback(with_config([&] { return mm::cli::train(cfg, spam_paths, ham_paths, reset); }));
  bool learn_spam = false, learn_ham = false;
  std::vector<std::string> learn_files;
  auto* learn = app.add_subcommand("learn", "Administrator feedback: learn messages as spam or as ham (not spam)");
  auto* lspam = learn->add_flag("--spam", learn_spam, "The messages are spam");
  learn->add_flag("--ham", learn_ham, "The messages are legitimate (not spam)")->excludes(lspam);
  learn->add_option("files", learn_files, "Message files (.eml or mbox)")->required();
  learn->callback(with_config([&] {
    if (learn_spam == learn_ham) {
      std::fprintf(stderr, "mailmoat: learn: give exactly one of --spam and --ham\n");
      return 2;
    }
    return mm::cli::learn(cfg, learn_files, learn_spam);
  }));

  // tracking
  auto* trk = app.add_subcommand("track", "Search message tracking (what happened to a message)");
  size_t limit = 100;
  std::string trcpt;
  trk->add_option("--id", id, "Queue id");
  trk->add_option("--recipient", trcpt, "Recipient address");
  trk->add_option("--limit", limit, "Most events to show")->check(CLI::Range(1, 100000));
  trk->add_flag("--json", json, "JSON lines output");
  trk->add_option("--tenant", ta.tenant, "Search messages of this tenant");
  trk->add_option("--sender", ta.sender, "Search: sender contains");
  trk->add_option("--subject", ta.subject, "Search: subject contains");
  trk->add_option("--message-id", ta.message_id, "Search: Message-ID");
  trk->add_option("--client-ip", ta.client_ip, "Search: sending IP");
  trk->add_option("--verdict", ta.verdict, "Search: verdict class");
  trk->add_option("--attachment", ta.attachment, "Search: an attachment name contains");
  trk->add_option("--sha256", ta.sha256, "Search: an attachment's SHA-256 (hex)");
  trk->add_option("--since", ta.since, "Search: from (YYYY-MM-DD or Nd ago)");
  trk->add_option("--until", ta.until, "Search: until (YYYY-MM-DD)");
  trk->callback(scoped([&] {
    if (!mm::cli::track_wants_search(ta)) return mm::cli::track(cfg, id, trcpt, limit, json);
    ta.queue_id = id;
    ta.recipient = trcpt;
    ta.limit = limit;
    ta.json = json;
    return mm::cli::track_search(cfg, ta);
  }));

  // reputation (connection control)
  auto* rep = app.add_subcommand("reputation", "Connection control: IP reputation, allow lists, tenant strictness");
  rep->require_subcommand(1);
  std::string rep_ip, rep_entry, rep_expires, rep_note, rep_tenant, rep_level;
  size_t rep_n = 20;
  auto* rshow = rep->add_subcommand("show", "An IP's and its network's standing and the action per strictness");
  rshow->add_option("ip", rep_ip, "Client IP address")->required();
  rshow->callback(with_config([&] { return mm::cli::reputation_show(cfg, rep_ip); }));
  auto* rtop = rep->add_subcommand("top", "The worst sources (IPs and networks) by bad volume");
  rtop->add_option("-n", rep_n, "How many")->check(CLI::Range(1, 100000));
  rtop->callback(with_config([&] { return mm::cli::reputation_top(cfg, rep_n); }));
  auto* rallow = rep->add_subcommand("allow", "Allow lists that bypass connection control");
  rallow->require_subcommand(1);
  auto* raadd = rallow->add_subcommand("add", "Allow an IP, CIDR network, host pattern (*.example.com) or sender:DOMAIN");
  raadd->add_option("entry", rep_entry, "The entry")->required();
  raadd->add_option("--tenant", rep_tenant, "For this tenant's recipients only (default: operator-wide)");
  raadd->add_option("--expires", rep_expires, "Nd, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  raadd->add_option("--note", rep_note, "Why");
  raadd->callback(with_config([&] { return mm::cli::reputation_allow_add(cfg, rep_tenant, rep_entry, rep_expires, rep_note); }));
  auto* rarm = rallow->add_subcommand("remove", "Remove an allow entry");
  rarm->add_option("entry", rep_entry, "The entry")->required();
  rarm->add_option("--tenant", rep_tenant, "The tenant's entry (default: operator-wide)");
  rarm->callback(with_config([&] { return mm::cli::reputation_allow_remove(cfg, rep_tenant, rep_entry); }));
  auto* ralist = rallow->add_subcommand("list", "List allow entries");
  ralist->add_option("--tenant", rep_tenant, "Only this tenant's entries");
  ralist->callback(with_config([&] { return mm::cli::reputation_allow_list(cfg, rep_tenant); }));
  auto* rstrict = rep->add_subcommand("strictness", "Set a tenant's strictness: off (log only), low, normal, strict");
  rstrict->add_option("tenant", rep_tenant, "Tenant")->required();
  rstrict->add_option("level", rep_level, "off|low|normal|strict")->required();
  rstrict->callback(with_config([&] { return mm::cli::reputation_strictness(cfg, rep_tenant, rep_level); }));
  auto* rgrey = rep->add_subcommand("greylist", "Turn greylisting on or off for a tenant's recipients");
  rgrey->add_option("tenant", rep_tenant, "Tenant")->required();
  rgrey->add_option("state", rep_level, "on|off")->required();
  rgrey->callback(with_config([&] { return mm::cli::reputation_greylist(cfg, rep_tenant, rep_level); }));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Exit& e) {
    return e.code;
  }
  return 0;
}
