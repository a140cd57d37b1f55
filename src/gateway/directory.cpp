#include "gateway/directory.h"

namespace mm::gateway {

std::shared_ptr<const Directory> Directory::load(store::Store& st) {
  auto d = std::make_shared<Directory>();
  d->generation_ = st.config_generation();
  std::unordered_map<std::string, bool> active;
  for (auto& t : st.list_tenants()) active[t.name] = t.status == "active";
  for (auto& dom : st.list_domains("")) {
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
  return d;
}

const DomainEntry* Directory::find(const std::string& domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() ? nullptr : &it->second;
}

}  // namespace mm::gateway
