#include "cli/reputation_commands.h"

#include <cstdio>
#include <ctime>

#include "ops/control.h"
#include "reputation/allow.h"
#include "store/store.h"
#include "util/clock.h"

namespace mm::cli {
namespace {

int fail(const std::string& m) {
  std::fprintf(stderr, "mailmoat: %s\n", m.c_str());
  return 1;
}

std::unique_ptr<store::Store> open_db(const config::Config& c) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) {
    fail("cannot open the database " + c.db_path + ": " + st.error());
    return nullptr;
  }
  return std::move(*st);
}

// "30d", "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" -> unix seconds.
Result<int64_t> parse_expiry(const std::string& s) {
  char* end = nullptr;
  long long days = std::strtoll(s.c_str(), &end, 10);
  if (end != s.c_str() && *end == 'd' && end[1] == 0 && days > 0) return now_s() + days * 86400;
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  if (rest && *rest == 'T') rest = strptime(rest + 1, "%H:%M:%S", &tm);
  if (!rest || (*rest && std::string(rest) != "Z")) return Status::error("--expires: use Nd, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  int64_t t = timegm(&tm);
  if (t <= now_s()) return Status::error("--expires must be in the future");
  return t;
}

// Asks the live server; without one, reads the saved state.
int report(const config::Config& c, const std::vector<std::string>& args) {
  bool no_server = false;
  auto r = ops::control_request(c.control_socket, args, &no_server);
  if (no_server) {
    reputation::Reputation rep({c.conn_half_life_s, c.conn_refused_weight});
    if (auto st = rep.load(c.var_dir + "/reputation.state"); !st) std::fprintf(stderr, "mailmoat: %s\n", st.message().c_str());
    r = reputation_report(rep, c.conn_strictness, args);
  }
  if (!r) return fail(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

}  // namespace

Result<std::string> reputation_report(reputation::Reputation& rep, const std::string& default_strictness,
                                      const std::vector<std::string>& args) {
  using namespace reputation;
  int64_t now = now_s();
  double rw = rep.options().refused_weight;
  if (args.size() == 3 && args[1] == "show") {
    const std::string& ip = args[2];
    if (network_of(ip).empty()) return Status::error("not an IP address: " + ip);
    std::string out;
    for (Strictness s : {Strictness::Low, Strictness::Normal, Strictness::Strict}) {
      auto a = rep.assess(ip, s, now);
      if (out.empty()) {
        out += "ip " + ip + ": " + describe(a.ip) + "\n";
        out += "network " + network_of(ip) + ": " + describe(a.net) + "\n";
        char buf[80];
        std::snprintf(buf, sizeof buf, "bad share: ip %.0f%%, network %.0f%%\n",
                      a.ip.total(rw) > 0 ? 100 * a.ip.bad(rw) / a.ip.total(rw) : 0.0,
                      a.net.total(rw) > 0 ? 100 * a.net.bad(rw) / a.net.total(rw) : 0.0);
        out += buf;
      }
      out += std::string("strictness ") + to_string(s) + (to_string(s) == default_strictness ? " (default)" : "") +
             ": " + to_string(a.action) + (a.reason.empty() ? "" : " - " + a.reason) + "\n";
    }
    return out;
  }
  if ((args.size() == 2 || args.size() == 3) && args[1] == "top") {
    size_t n = args.size() == 3 ? std::strtoul(args[2].c_str(), nullptr, 10) : 20;
    std::string out;
    for (auto& [key, c] : rep.top(n ? n : 20, now)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%-40s bad=%.1f ", key.c_str(), c.bad(rw));
      std::string action;
      if (key.find('/') == std::string::npos)
        action = std::string(" action=") + to_string(rep.assess(key, *parse_strictness(default_strictness), now).action);
      out += buf + describe(c) + action + "\n";
    }
    return out;
  }
  return Status::error("usage: reputation show IP | reputation top [N]");
}

int reputation_show(const config::Config& c, const std::string& ip) { return report(c, {"reputation", "show", ip}); }

int reputation_top(const config::Config& c, size_t n) { return report(c, {"reputation", "top", std::to_string(n)}); }

int reputation_allow_add(const config::Config& c, const std::string& tenant, const std::string& entry,
                         const std::string& expires, const std::string& note) {
  auto k = reputation::parse_allow(entry);
  if (!k) return fail("not an allow entry: '" + entry + "' (IP, CIDR network, host pattern or sender:DOMAIN)");
  int64_t exp = 0;
  if (!expires.empty()) {
    auto t = parse_expiry(expires);
    if (!t) return fail(t.error());
    exp = *t;
  }
  auto db = open_db(c);
  if (!db) return 1;
  store::ReputationAllowRow row;
  row.tenant = tenant;
  row.pattern = k->second;
  row.expires_at = exp;
  row.note = note;
  if (auto st = db->reputation().add_allow(row); !st) return fail(st.message());
  std::printf("allowed %s for %s%s\n", row.pattern.c_str(), tenant.empty() ? "every tenant (operator-wide)" : tenant.c_str(),
              exp ? (" until " + iso8601_us(exp * 1000000)).c_str() : "");
  return 0;
}

int reputation_allow_remove(const config::Config& c, const std::string& tenant, const std::string& entry) {
  auto k = reputation::parse_allow(entry);
  auto db = open_db(c);
  if (!db) return 1;
  if (auto st = db->reputation().remove_allow(tenant, k ? k->second : entry); !st) return fail(st.message());
  std::printf("removed %s\n", k ? k->second.c_str() : entry.c_str());
  return 0;
}

int reputation_allow_list(const config::Config& c, const std::string& tenant) {
  auto db = open_db(c);
  if (!db) return 1;
  int64_t now = now_s();
  for (auto& e : db->reputation().allow_entries()) {
    if (!tenant.empty() && e.tenant != tenant) continue;
    std::printf("%-20s %-40s %s%s%s\n", e.tenant.empty() ? "(operator)" : e.tenant.c_str(), e.pattern.c_str(),
                e.expires_at ? ("until " + iso8601_us(e.expires_at * 1000000)).c_str() : "no expiry",
                e.expires_at && e.expires_at <= now ? " (expired)" : "", e.note.empty() ? "" : ("  " + e.note).c_str());
  }
  return 0;
}

int reputation_strictness(const config::Config& c, const std::string& tenant, const std::string& level) {
  if (!reputation::parse_strictness(level)) return fail("strictness must be off, low, normal or strict");
  auto db = open_db(c);
  if (!db) return 1;
  std::string l = reputation::to_string(*reputation::parse_strictness(level));
  if (auto st = db->reputation().set_strictness(tenant, l); !st) return fail(st.message());
  std::printf("%s: connection-control strictness %s\n", tenant.c_str(), l.c_str());
  return 0;
}

int reputation_greylist(const config::Config& c, const std::string& tenant, const std::string& on_off) {
  if (on_off != "on" && on_off != "off") return fail("greylisting is on or off");
  auto db = open_db(c);
  if (!db) return 1;
  if (auto st = db->reputation().set_greylisting(tenant, on_off == "on"); !st) return fail(st.message());
  std::printf("%s: greylisting %s\n", tenant.c_str(), on_off.c_str());
  return 0;
}

}  // namespace mm::cli
