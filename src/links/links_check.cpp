#include "links/links_check.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "links/url.h"
#include "message/domain.h"

namespace mm::links {

using scan::Class;
using scan::Symbol;

namespace {

struct Score {
  const char* name;
  double score;
  Class hint;
};
constexpr Score kBlocked{"URI_BLOCKLISTED", 10.0, Class::Phishing};
constexpr Score kTenantBlocked{"URI_TENANT_BLOCKLISTED", 10.0, Class::Phishing};
constexpr Score kDnsbl{"URI_DNSBL", 6.0, Class::Spam};  // hint from the list bits
constexpr Score kShortener{"URI_SHORTENER", 0.5, Class::Phishing};
constexpr Score kUserinfoSym{"URI_USERINFO", 1.5, Class::Phishing};
constexpr Score kUserinfoDomain{"URI_USERINFO_DOMAIN", 3.0, Class::Phishing};
constexpr Score kIpLink{"URI_IP_LITERAL", 1.5, Class::Phishing};
constexpr Score kIpObfuscated{"URI_IP_OBFUSCATED", 2.5, Class::Phishing};
constexpr Score kObfuscated{"URI_OBFUSCATED", 1.5, Class::Phishing};
constexpr Score kAll[] = {kBlocked, kTenantBlocked, kDnsbl, kShortener, kUserinfoSym, kUserinfoDomain,
                          kIpLink, kIpObfuscated, kObfuscated};

std::string tricks_text(uint32_t t) {
  std::string out;
  auto add = [&](uint32_t bit, const char* s) {
    if (!(t & bit)) return;
    if (!out.empty()) out += ", ";
    out += s;
  };
  add(kPercentHost, "percent-encoded host");
  add(kBackslash, "backslashes for slashes");
  add(kFullwidthDot, "fullwidth dots");
  add(kEntities, "HTML entities");
  return out;
}

}  // namespace

std::string describe(const Url& u, size_t max) {
  std::string raw = u.raw.size() > max ? u.raw.substr(0, max) + "..." : u.raw;
  return std::string(to_string(u.source)) + " " + raw;
}

LinksCheck::LinksCheck(LinksOptions opt) : opt_(std::move(opt)) {
  if (!opt_.shorteners) opt_.shorteners = std::make_shared<DomainSet>();
}

double LinksCheck::max_abs_score() const {
  double t = 0;
  for (auto& s : kAll) t += s.score;
  return t + kDnsbl.score * 2;  // up to three list hits
}

std::shared_ptr<const std::vector<Url>> urls_of(const scan::Context& ctx) {
  auto make = [&] { return extract(ctx.msg); };
  if (ctx.memo) return ctx.memo->get<std::vector<Url>>("links.urls", make);
  return std::make_shared<const std::vector<Url>>(make());
}

void LinksCheck::run(const scan::Context& ctx, std::vector<Symbol>& out) const {
  const auto shared = urls_of(ctx);
  const auto& urls = *shared;
  if (urls.empty()) return;
  const auto* facts = ctx.env.tenant_facts.get();
  auto file_set = opt_.operator_file ? opt_.operator_file->get() : nullptr;
  DomainSet op_store, tenant_set;
  if (facts) {
    for (auto& e : facts->operator_url_blocklist) op_store.add(e);
    for (auto& e : facts->url_blocklist) tenant_set.add(e);
  }

  bool blocked = false, tblocked = false, shortener = false, userinfo = false, userinfo_dom = false,
       ip_obf = false, obf = false;
  size_t ip_links = 0;
  std::string first_ip;
  std::vector<std::string> domains;  // unique, for DNS lists
  std::set<std::string> seen_domains;
  for (const auto& u : urls) {
    if (!blocked) {
      std::string hit = file_set ? file_set->match(u.host) : "";
      if (hit.empty()) hit = op_store.match(u.host);
      if (!hit.empty()) {
        blocked = true;
        out.push_back({kBlocked.name, kBlocked.score, describe(u) + " (" + hit + " on the operator's block list)", kBlocked.hint});
      }
    }
    if (!tblocked) {
      if (std::string hit = tenant_set.match(u.host); !hit.empty()) {
        tblocked = true;
        out.push_back({kTenantBlocked.name, kTenantBlocked.score,
                       describe(u) + " (" + hit + " on tenant " + facts->name + "'s block list)", kTenantBlocked.hint});
      }
    }
    if (!shortener && u.source != Source::Image) {
      if (std::string hit = opt_.shorteners->match(u.host); !hit.empty()) {
        shortener = true;
        out.push_back({kShortener.name, kShortener.score, describe(u) + " (shortener " + hit + ")", kShortener.hint});
      }
    }
    if ((u.tricks & kUserinfo) && !userinfo_dom) {
      std::string shown = host_in_text(u.userinfo);
      if (!shown.empty() && message::registrable_domain(shown) != u.registrable) {
        userinfo_dom = true;
        out.push_back({kUserinfoDomain.name, kUserinfoDomain.score,
                       describe(u) + " shows " + shown + ", goes to " + u.host, kUserinfoDomain.hint});
      } else if (!userinfo) {
        userinfo = true;
        out.push_back({kUserinfoSym.name, kUserinfoSym.score, describe(u) + " has user info before the host " + u.host,
                       kUserinfoSym.hint});
      }
    }
    if (u.ip && u.source != Source::Image) {
      if (ip_links++ == 0) first_ip = describe(u);
      if ((u.tricks & kNumericIp) && !ip_obf) {
        ip_obf = true;
        out.push_back({kIpObfuscated.name, kIpObfuscated.score, describe(u) + " is the address " + u.host + " in disguise",
                       kIpObfuscated.hint});
      }
    }
    if (!obf && (u.tricks & (kPercentHost | kBackslash | kFullwidthDot | kEntities))) {
      obf = true;
      out.push_back({kObfuscated.name, kObfuscated.score,
                     describe(u) + " (" + tricks_text(u.tricks) + ") goes to " + u.host, kObfuscated.hint});
    }
    if (!u.registrable.empty() && seen_domains.insert(u.registrable).second) domains.push_back(u.registrable);
  }
  if (ip_links)
    out.push_back({kIpLink.name, kIpLink.score, std::to_string(ip_links) + " link(s) to an IP address, e.g. " + first_ip,
                   kIpLink.hint});

  if (opt_.resolver && !opt_.zones.empty() && !domains.empty()) {
    auto deadline = std::chrono::steady_clock::now() + opt_.dns_timeout;
    auto hits = uribl_lookup(*opt_.resolver, opt_.zones, domains, opt_.max_dns_queries, deadline);
    size_t n = 0;
    for (auto& h : hits) {
      if (n++ == 3) break;
      Class hint = h.malware ? Class::Malware : h.phishing ? Class::Phishing : Class::Spam;
      std::string example;
      for (auto& u : urls)
        if (u.registrable == h.domain) {
          example = describe(u);
          break;
        }
      out.push_back({kDnsbl.name, kDnsbl.score,
                     example + " (" + h.domain + " in " + h.zone + ": " + h.lists + ", 127.0.0." + std::to_string(h.code) + ")",
                     hint});
    }
  }
}

}  // namespace mm::links
