// The subcommands of the `mailmoat` binary, free of CLI parsing (main.cpp owns CLI11).
// Each returns the process exit code and prints its result or a clear error.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"

namespace mm::cli {

// Loads the config file, or the defaults when path is empty and config/mailmoat.toml is absent.
// Prints the error and returns false on failure.
bool load_config(const std::string& path, config::Config& out);

int serve(const config::Config&);
int check_config(const config::Config&);

int queue_list(const config::Config&, bool json);
int queue_show(const config::Config&, const std::string& id, bool json);
int queue_action(const config::Config&, const std::string& action, const std::string& id);  // flush|hold|release|delete

int tenant_add(const config::Config&, const std::string& name, const std::string& display);
int tenant_list(const config::Config&);
int tenant_set_status(const config::Config&, const std::string& name, const std::string& status);
int tenant_remove(const config::Config&, const std::string& name);

struct DomainRouteArgs {
  std::vector<std::string> routes;  // "host:port" or "host:port:preference"
  std::string tls;                  // "" = keep / default
};
int domain_add(const config::Config&, const std::string& tenant, const std::string& domain, const DomainRouteArgs&);
int domain_list(const config::Config&, const std::string& tenant);
int domain_remove(const config::Config&, const std::string& domain);
int domain_route(const config::Config&, const std::string& domain, const DomainRouteArgs&);
int domain_validation(const config::Config&, const std::string& domain, bool on);

int recipient_add(const config::Config&, const std::string& address);
int recipient_remove(const config::Config&, const std::string& address);
int recipient_list(const config::Config&, const std::string& domain);

// Scanning: explain the verdict for message files; train the classifier from examples.
// tenant: whose domains, protected names and block lists the phishing checks use ("" = the tenant
// of the first To/Cc address on a protected domain, if any).
int scan_files(const config::Config&, const std::vector<std::string>& files, bool json, const std::string& tenant = "");
int train(const config::Config&, const std::vector<std::string>& spam, const std::vector<std::string>& ham,
          bool reset);
// Administrator feedback: learns each message of `files` as spam (or ham) into the stored model.
int learn(const config::Config&, const std::vector<std::string>& files, bool is_spam);

// Link block lists (tenant "" = the operator's) and protected names (phish_commands.cpp).
int urllist(const config::Config&, const std::string& action, const std::string& tenant, const std::string& entry);  // add|remove|list
int protected_name(const config::Config&, const std::string& action, const std::string& tenant, const std::string& name);

int track(const config::Config&, const std::string& id, const std::string& recipient, size_t limit, bool json);

}  // namespace mm::cli
