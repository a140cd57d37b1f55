// mailmoat: the binary. Only argument parsing lives here; the work is in commands.cpp/serve.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
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
  auto with_config = [&](auto fn) {
    return [&, fn] {
      if (!mm::cli::load_config(config_path, cfg)) throw Exit{2};
      int rc = fn();
      if (rc != 0) throw Exit{rc};
    };
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
  for (auto [sub_name, status, help] :
       {std::tuple{"suspend", "suspended", "Suspend a tenant: its mail is deferred (450) until activated"},
        std::tuple{"activate", "active", "Re-activate a suspended tenant"}}) {
    auto* sub = tenant->add_subcommand(sub_name, help);
    sub->add_option("name", name, "Tenant name")->required();
    std::string st = status;
    sub->callback(with_config([&, st] { return mm::cli::tenant_set_status(cfg, name, st); }));
  }
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
  scan->callback(with_config([&] { return mm::cli::scan_files(cfg, files, json); }));
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
  trk->callback(with_config([&] { return mm::cli::track(cfg, id, trcpt, limit, json); }));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Exit& e) {
    return e.code;
  }
  return 0;
}
