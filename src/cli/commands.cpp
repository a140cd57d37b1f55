#include "cli/commands.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/queue_admin.h"
#include "ops/control.h"
#include "queue/spool.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/json_line.h"

namespace mm::cli {
namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailmoat: %s\n", msg.c_str());
  return 1;
}

std::unique_ptr<store::Store> open_store(const config::Config& c) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) {
    fail("cannot open the database " + c.db_path + ": " + st.error());
    return nullptr;
  }
  return std::move(*st);
}

// Runs a queue request on the live server, or on the spool when no server runs.
Result<std::string> queue_request(const config::Config& c, const std::vector<std::string>& args) {
  bool no_server = false;
  auto r = ops::control_request(c.control_socket, args, &no_server);
  if (!no_server) return r;
  if (!std::filesystem::exists(c.spool_dir)) {
    if (args[1] == "list") return std::string();
    return Status::error("the queue is empty (no spool at " + c.spool_dir + ")");
  }
  std::vector<std::string> warnings;
  queue::SpoolOptions so;
  so.fsync = c.spool_fsync;
  auto spool = queue::Spool::open(c.spool_dir, so, &warnings);
  if (!spool) return spool.status();
  for (auto& w : warnings) std::fprintf(stderr, "mailmoat: spool: %s\n", w.c_str());
  return queue_command(**spool, args, nullptr);
}

}  // namespace

bool load_config(const std::string& path, config::Config& out) {
  std::string p = path;
  if (p.empty() && std::filesystem::exists("config/mailmoat.toml")) p = "config/mailmoat.toml";
  if (p.empty()) {
    out = config::defaults();
    return true;
  }
  auto c = config::load(p);
  if (!c) {
    std::fprintf(stderr, "mailmoat: %s\n", c.error().c_str());
    return false;
  }
  out = std::move(*c);
  return true;
}

int check_config(const config::Config& c) {
  std::printf("%sconfiguration OK\n", config::describe(c).c_str());
  return 0;
}

int queue_list(const config::Config& c, bool json) {
  auto r = queue_request(c, {"queue", "list", json ? "json" : "text"});
  if (!r) return fail(r.error());
  if (r->empty() && !json) std::printf("The queue is empty.\n");
  else std::fputs(r->c_str(), stdout);
  return 0;
}

int queue_show(const config::Config& c, const std::string& id, bool json) {
  auto r = queue_request(c, {"queue", "show", id, json ? "json" : "text"});
  auto st = open_store(c);
  if (!st) return 1;
  store::TrackingQuery q;
  q.queue_id = id;
  q.limit = 1000;
  auto events = st->query_events(q);
  if (!r && events.empty()) return fail("no message " + id + " in the queue or in message tracking");
  if (json) {
    std::string evs = "[";
    for (size_t i = 0; i < events.size(); ++i) {
      auto& e = events[i];
      if (i) evs += ',';
      evs += JsonLine().add("ts", iso8601_us(e.ts_us)).add("event", e.event).add("recipient", e.recipient)
                 .add("detail", e.detail).str();
    }
    evs += "]";
    std::printf("%s\n", JsonLine().add_raw("queued", r ? *r : "null").add_raw("events", evs).str().c_str());
    return 0;
  }
  if (r) std::fputs(r->c_str(), stdout);
  else std::printf("%s is no longer in the queue.\n", id.c_str());
  if (!events.empty()) std::printf("\nHistory:\n");
  for (auto& e : events)
    std::printf("  %s  %-9s %s%s%s\n", iso8601_us(e.ts_us).c_str(), e.event.c_str(),
                e.recipient.empty() ? "" : ("<" + e.recipient + "> ").c_str(), e.detail.c_str(), "");
  return 0;
}

int queue_action(const config::Config& c, const std::string& action, const std::string& id) {
  std::vector<std::string> args{"queue", action};
  if (!id.empty()) args.push_back(id);
  auto r = queue_request(c, args);
  if (!r) return fail(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

int tenant_add(const config::Config& c, const std::string& name, const std::string& display) {
  auto st = open_store(c);
  if (!st) return 1;
  auto t = st->create_tenant(name, display.empty() ? name : display);
  if (!t) return fail(t.error());
  std::printf("tenant %s created\n", t->name.c_str());
  return 0;
}

int tenant_list(const config::Config& c) {
  auto st = open_store(c);
  if (!st) return 1;
  auto tenants = st->list_tenants();
  if (tenants.empty()) std::printf("No tenants yet: mailmoat tenant add NAME\n");
  for (auto& t : tenants) {
    auto domains = st->list_domains(t.name);
    std::printf("%-24s %-10s %zu domain(s)  %s\n", t.name.c_str(), t.status.c_str(), domains.size(),
                t.display_name.c_str());
  }
  return 0;
}

int tenant_set_status(const config::Config& c, const std::string& name, const std::string& status) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->set_tenant_status(name, status); !s) return fail(s.message());
  std::printf("tenant %s is now %s\n", name.c_str(), status.c_str());
  return 0;
}

int tenant_remove(const config::Config& c, const std::string& name) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->delete_tenant(name); !s) return fail(s.message());
  std::printf("tenant %s removed\n", name.c_str());
  return 0;
}

namespace {

Result<std::vector<store::RouteHost>> parse_routes(const std::vector<std::string>& routes) {
  std::vector<store::RouteHost> out;
  for (auto& r : routes) {
    store::RouteHost h;
    std::string rest = r;
    // [v6]:port[:pref] or host:port[:pref] or host
    std::string host;
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      if (close == std::string::npos) return Status::error("route '" + r + "': missing ']'");
      host = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
      if (!rest.empty() && rest[0] == ':') rest = rest.substr(1);
    } else {
      auto colon = rest.find(':');
      host = rest.substr(0, colon);
      rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
    }
    h.host = host;
    try {
      if (!rest.empty()) {
        auto colon = rest.find(':');
        int port = std::stoi(rest.substr(0, colon));
        if (port < 1 || port > 65535) return Status::error("route '" + r + "': port out of range");
        h.port = static_cast<uint16_t>(port);
        if (colon != std::string::npos) h.preference = std::stoi(rest.substr(colon + 1));
      }
    } catch (const std::exception&) {
      return Status::error("route '" + r + "' must look like host:port or host:port:preference");
    }
    out.push_back(h);
  }
  return out;
}

int apply_route(store::Store& st, const std::string& domain, const DomainRouteArgs& a) {
  auto hosts = parse_routes(a.routes);
  if (!hosts) return fail(hosts.error());
  auto tls = a.tls.empty() ? std::optional(store::TlsMode::Opportunistic) : store::parse_tls_mode(a.tls);
  if (!tls) return fail("--tls must be none, opportunistic or required");
  if (auto s = st.set_routes(domain, *hosts, *tls); !s) return fail(s.message());
  return 0;
}

void print_domain(const store::Domain& d) {
  std::printf("%-32s tenant=%-16s tls=%-13s validation=%s\n", d.name.c_str(), d.tenant.c_str(),
              std::string(store::to_string(d.tls)).c_str(), d.recipient_validation ? "on" : "off");
  if (d.routes.empty()) std::printf("    (no route: mail is refused with 451 until one is set)\n");
  for (auto& r : d.routes)
    std::printf("    -> %s:%u (preference %d)\n", r.host.c_str(), r.port, r.preference);
}

}  // namespace

int domain_add(const config::Config& c, const std::string& tenant, const std::string& domain,
               const DomainRouteArgs& a) {
  auto st = open_store(c);
  if (!st) return 1;
  auto d = st->add_domain(tenant, domain);
  if (!d) return fail(d.error());
  if (!a.routes.empty()) {
    if (int rc = apply_route(*st, d->name, a); rc != 0) {
      st->remove_domain(d->name);
      return rc;
    }
  }
  auto fresh = st->get_domain(d->name);
  if (fresh) print_domain(*fresh);
  return 0;
}

int domain_list(const config::Config& c, const std::string& tenant) {
  auto st = open_store(c);
  if (!st) return 1;
  auto ds = st->list_domains(tenant);
  if (ds.empty()) std::printf("No domains yet: mailmoat domain add DOMAIN --tenant NAME --route HOST:PORT\n");
  for (auto& d : ds) print_domain(d);
  return 0;
}

int domain_remove(const config::Config& c, const std::string& domain) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->remove_domain(domain); !s) return fail(s.message());
  std::printf("domain %s removed\n", domain.c_str());
  return 0;
}

int domain_route(const config::Config& c, const std::string& domain, const DomainRouteArgs& a) {
  auto st = open_store(c);
  if (!st) return 1;
  if (int rc = apply_route(*st, domain, a); rc != 0) return rc;
  auto d = st->get_domain(domain);
  if (d) print_domain(*d);
  return 0;
}

int domain_validation(const config::Config& c, const std::string& domain, bool on) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->set_recipient_validation(domain, on); !s) return fail(s.message());
  std::printf("recipient validation for %s is %s\n", domain.c_str(), on ? "on" : "off");
  return 0;
}

int recipient_add(const config::Config& c, const std::string& address) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->add_recipient(address); !s) return fail(s.message());
  std::printf("recipient %s added\n", address.c_str());
  return 0;
}

int recipient_remove(const config::Config& c, const std::string& address) {
  auto st = open_store(c);
  if (!st) return 1;
  if (auto s = st->remove_recipient(address); !s) return fail(s.message());
  std::printf("recipient %s removed\n", address.c_str());
  return 0;
}

int recipient_list(const config::Config& c, const std::string& domain) {
  auto st = open_store(c);
  if (!st) return 1;
  for (auto& r : st->list_recipients(domain)) std::printf("%s\n", r.c_str());
  return 0;
}

int track(const config::Config& c, const std::string& id, const std::string& recipient, size_t limit,
          bool json) {
  auto st = open_store(c);
  if (!st) return 1;
  store::TrackingQuery q;
  q.queue_id = id;
  q.recipient = recipient;
  q.limit = limit;
  for (auto& e : st->query_events(q)) {
    if (json) {
      std::printf("%s\n", JsonLine().add("ts", iso8601_us(e.ts_us)).add("queue_id", e.queue_id)
                              .add("event", e.event).add("recipient", e.recipient).add("tenant", e.tenant)
                              .add("detail", e.detail).str().c_str());
    } else {
      std::printf("%s  %-18s %-9s %s%s\n", iso8601_us(e.ts_us).c_str(), e.queue_id.empty() ? "-" : e.queue_id.c_str(),
                  e.event.c_str(), e.recipient.empty() ? "" : ("<" + e.recipient + "> ").c_str(), e.detail.c_str());
    }
  }
  return 0;
}

}  // namespace mm::cli
