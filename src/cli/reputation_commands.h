// `mailmoat reputation ...`: an IP's standing and the worst sources (asked of the live server
// through the control socket, or read from the saved state when no server runs), and the
// connection-control allow lists and tenant strictness (in the store).
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "reputation/reputation.h"
#include "util/status.h"

namespace mm::cli {

// The control request {"reputation", "show", IP} or {"reputation", "top", N}, on `rep`.
Result<std::string> reputation_report(reputation::Reputation& rep, const std::string& default_strictness,
                                      const std::vector<std::string>& args);

int reputation_show(const config::Config&, const std::string& ip);
int reputation_top(const config::Config&, size_t n);
int reputation_allow_add(const config::Config&, const std::string& tenant, const std::string& entry,
                         const std::string& expires, const std::string& note);
int reputation_allow_remove(const config::Config&, const std::string& tenant, const std::string& entry);
int reputation_allow_list(const config::Config&, const std::string& tenant);
int reputation_strictness(const config::Config&, const std::string& tenant, const std::string& level);
int reputation_greylist(const config::Config&, const std::string& tenant, const std::string& on_off);

}  // namespace mm::cli
