// A read-only snapshot of the protected domains, their tenants, routes and known recipients,
// built from the store and swapped atomically when the store's config generation changes, so
// that RCPT TO decisions never wait for the database.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "net/smtp_client.h"
#include "scan/check.h"
#include "store/store.h"

namespace mm::gateway {

struct DomainEntry {
  std::string tenant;
  bool tenant_active = true;
  bool recipient_validation = false;
  std::unordered_set<std::string> recipients;  // lower-case addresses
  net::Destination destination;
};

class Directory {
 public:
  // Reads everything from the store; generation is the store's config generation at the time.
  static std::shared_ptr<const Directory> load(store::Store&);
  const DomainEntry* find(const std::string& domain) const;  // lower-case domain
  int64_t generation() const { return generation_; }
  size_t size() const { return domains_.size(); }
  // What the checks may know about a tenant (domains, protected names, link block lists, and the
  // operator's link block list); for an unknown or empty tenant, facts with only the operator's list.
  std::shared_ptr<const scan::TenantFacts> tenant_facts(const std::string& tenant) const;

 private:
  std::unordered_map<std::string, std::shared_ptr<const scan::TenantFacts>> facts_;
  std::shared_ptr<const scan::TenantFacts> no_tenant_facts_;
  int64_t generation_ = 0;
  std::unordered_map<std::string, DomainEntry> domains_;
};

}  // namespace mm::gateway
