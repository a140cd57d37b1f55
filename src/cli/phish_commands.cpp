// `mailmoat urllist ...` and `mailmoat tenant protect-name ...`: the lists the links and phishing
// checks read (through the gateway's directory snapshot, so a running server applies a change
// within a second).
#include <cstdio>

#include "cli/commands.h"
#include "links/lists.h"
#include "store/store.h"

namespace mm::cli {
namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailmoat: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int urllist(const config::Config& c, const std::string& action, const std::string& tenant, const std::string& entry) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail("cannot open the database " + c.db_path + ": " + st.error());
  const std::string which = tenant.empty() ? "the operator's list" : "tenant " + tenant + "'s list";
  if (action == "list") {
    auto l = (*st)->list_url_blocks(tenant);
    if (!l) return fail(l.error());
    if (l->empty()) std::printf("No entries on %s\n", which.c_str());
    for (auto& e : *l) std::printf("%s\n", e.c_str());
    return 0;
  }
  // Unicode names are stored as punycode, as links are compared.
  std::string e = links::normalize_entry(entry);
  if (e.empty()) return fail("'" + entry + "' is not a host, domain or IPv4 address");
  auto r = action == "add" ? (*st)->add_url_block(tenant, e) : (*st)->remove_url_block(tenant, e);
  if (!r) return fail(r.message());
  std::string line = (action == "add" ? "blocked " + e + " on " : "unblocked " + e + " from ") + which;
  std::printf("%s\n", line.c_str());
  return 0;
}

int protected_name(const config::Config& c, const std::string& action, const std::string& tenant,
                   const std::string& name) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail("cannot open the database " + c.db_path + ": " + st.error());
  if (action == "list") {
    auto l = (*st)->list_protected_names(tenant);
    if (!l) return fail(l.error());
    if (l->empty()) std::printf("No protected names for tenant %s\n", tenant.c_str());
    for (auto& n : *l) std::printf("%s\n", n.c_str());
    return 0;
  }
  auto r = action == "add" ? (*st)->add_protected_name(tenant, name) : (*st)->remove_protected_name(tenant, name);
  if (!r) return fail(r.message());
  std::printf("%s '%s' for tenant %s\n", action == "add" ? "protected" : "no longer protected", name.c_str(),
              tenant.c_str());
  return 0;
}

}  // namespace mm::cli
