#include "gateway/directory.h"

#include "policy/policy.h"

namespace mm::gateway {

std::shared_ptr<const Directory> Directory::load(store::Store& st) {
  auto d = std::make_shared<Directory>();
  d->generation_ = st.config_generation();
  std::unordered_map<std::string, bool> active;
  for (auto& t : st.list_tenants()) active[t.name] = t.status == "active";
  std::unordered_map<std::string, std::vector<std::string>> tenant_domains;
  for (auto& dom : st.list_domains("")) {
    tenant_domains[dom.tenant].push_back(dom.name);
    DomainEntry e;
    e.tenant = dom.tenant;
    e.tenant_active = active.count(dom.tenant) ? active[dom.tenant] : false;
    e.recipient_validation = dom.recipient_validation;
    if (dom.recipient_validation) {
      for (auto& r : st.list_recipients(dom.name)) e.recipients.insert(r);
      // Protected accounts and their aliases are known recipients too.
      for (auto& acc : st.tenancy().list_accounts(dom.tenant)) {
        e.recipients.insert(acc.address);
        for (auto& al : acc.aliases) e.recipients.insert(al);
      }
    }
    e.destination.key = dom.name;
    e.destination.tls = dom.tls == store::TlsMode::None       ? net::TlsPolicy::None
                        : dom.tls == store::TlsMode::Required ? net::TlsPolicy::Required
                                                              : net::TlsPolicy::Opportunistic;
    for (auto& h : dom.routes) e.destination.hops.push_back({h.host, h.port});
    d->domains_.emplace(dom.name, std::move(e));
  }
  // Facts for the checks (phishing: the tenant's domains and protected names; links: block lists).
  auto op = st.list_url_blocks("");
  auto none = std::make_shared<scan::TenantFacts>();
  if (op) none->operator_url_blocklist = *op;
  d->no_tenant_facts_ = none;
  std::unordered_map<std::string, policy::AttachmentOverrides> att;
  for (auto& row : st.tenancy().list_policies(""))
    if (row.level == "attachments")
      if (auto o = policy::parse_attachment_overrides(row.spec)) att[row.tenant] = std::move(*o);
  for (auto& t : st.list_tenants()) {
    auto f = std::make_shared<scan::TenantFacts>();
    f->name = t.name;
    f->display_name = t.display_name;
    f->domains = tenant_domains[t.name];
    if (auto n = st.list_protected_names(t.name)) f->protected_names = std::move(*n);
    if (auto u = st.list_url_blocks(t.name)) f->url_blocklist = std::move(*u);
    f->operator_url_blocklist = none->operator_url_blocklist;
    if (auto it = att.find(t.name); it != att.end()) {
      f->attachment_allow = it->second.allow;
      f->attachment_block = it->second.block;
    }
    d->facts_.emplace(t.name, std::move(f));
  }
  return d;
}

std::shared_ptr<const scan::TenantFacts> Directory::tenant_facts(const std::string& tenant) const {
  auto it = facts_.find(tenant);
  return it == facts_.end() ? no_tenant_facts_ : it->second;
}

const DomainEntry* Directory::find(const std::string& domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() ? nullptr : &it->second;
}

}  // namespace mm::gateway
