#include "reputation/connection.h"

#include <cstdio>

#include "dns/resolver.h"

namespace mm::reputation {
namespace {

Decision refusal(int code, std::string enhanced, std::string text, std::string reason, Action a) {
  Decision d;
  d.code = code;
  d.enhanced = std::move(enhanced);
  d.text = std::move(text);
  d.reason = std::move(reason);
  d.action = a;
  return d;
}

}  // namespace

ClientCheck::~ClientCheck() {
  if (cc_ && !net_.empty()) {
    std::lock_guard lk(cc_->mu_);
    auto it = cc_->sessions_per_net_.find(net_);
    if (it != cc_->sessions_per_net_.end() && --it->second <= 0) cc_->sessions_per_net_.erase(it);
  }
}

double ClientCheck::score(std::string* reasons) {
  std::unique_lock lk(mu_);
  if (pending_ > 0 && cc_)
    cv_.wait_for(lk, std::chrono::milliseconds(cc_->opt_.dns_wait_ms), [this] { return pending_ == 0; });
  double s = dns_score_;
  std::string r = dns_reasons_;
  if (cc_) {
    if (ptr_missing_ && cc_->opt_.no_ptr_weight != 0) {
      s += cc_->opt_.no_ptr_weight;
      r += (r.empty() ? "" : ", ") + std::string("no reverse DNS");
    }
    if (cc_->opt_.bad_helo_weight != 0 && !helo_.empty() && bad_helo(helo_, cc_->opt_.our_hostname)) {
      s += cc_->opt_.bad_helo_weight;
      r += (r.empty() ? "" : ", ") + std::string("bad HELO");
    }
    if (pregreet_ && cc_->opt_.pregreet_weight != 0) {
      s += cc_->opt_.pregreet_weight;
      r += (r.empty() ? "" : ", ") + std::string("talked before the greeting");
    }
  }
  if (reasons) *reasons = r;
  return s;
}

std::string ClientCheck::ptr() {
  std::lock_guard lk(mu_);
  return ptr_;
}

ConnectionControl::ConnectionControl(ConnectionOptions o, Reputation& r, dns::Resolver* res)
    : opt_(std::move(o)), rep_(r), resolver_(res), greylist_(opt_.greylist) {}

void ConnectionControl::set_greylisting(std::set<std::string> tenants) {
  std::lock_guard lk(mu_);
  greylist_tenants_ = std::move(tenants);
}

int ConnectionControl::greylist(const ClientCheck& c, const std::string& tenant, const std::string& sender,
                                const std::string& rcpt, int64_t now) {
  {
    std::lock_guard lk(mu_);
    if (!greylist_tenants_.count(tenant)) return 0;
  }
  return greylist_.check(c.ip_, sender, rcpt, now);
}

void ConnectionControl::set_lists(std::vector<AllowEntry> a, std::map<std::string, Strictness> s) {
  std::lock_guard lk(mu_);
  bool hosts = false;
  for (auto& e : a)
    if (auto k = parse_allow(e.pattern); k && k->first == AllowKind::Host) hosts = true;
  host_entries_ = hosts;
  allow_ = std::move(a);
  strictness_ = std::move(s);
}

Strictness ConnectionControl::strictness(const std::string& tenant) const {
  std::lock_guard lk(mu_);
  auto it = strictness_.find(tenant);
  return it == strictness_.end() ? opt_.default_strictness : it->second;
}

std::shared_ptr<ClientCheck> ConnectionControl::begin(const std::string& ip) {
  auto c = std::make_shared<ClientCheck>();
  c->cc_ = this;
  c->ip_ = ip;
  c->net_ = network_of(ip);
  if (!c->net_.empty()) {
    std::lock_guard lk(mu_);
    int n = ++sessions_per_net_[c->net_];
    c->over_concurrency_ = opt_.max_per_network && n > static_cast<int>(opt_.max_per_network);
  }
  if (!resolver_ || c->net_.empty()) return c;
  // The PTR name serves the no-PTR penalty and host-name allow entries.
  bool want_ptr = opt_.no_ptr_weight != 0 || host_entries_.load();
  c->pending_ = static_cast<int>(opt_.dns_lists.size()) + (want_ptr ? 1 : 0);
  std::weak_ptr<ClientCheck> weak = c;
  for (auto& list : opt_.dns_lists) {
    std::string name = dns::list_query_name(ip, list.zone);
    if (name.empty()) {
      std::lock_guard lk(c->mu_);  // callbacks may already run (cache hits, loop threads)
      --c->pending_;
      continue;
    }
    resolver_->query(name, dns::Type::A, [weak, list](const dns::Answer& a) {
      auto cc = weak.lock();
      if (!cc) return;
      std::lock_guard lk(cc->mu_);
      if (a.ok()) {  // failure (TempError) and NXDOMAIN: no listing
        double w = list_weight(list, a.records);
        if (w != 0) {
          cc->dns_score_ += w;
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.1f", w);
          cc->dns_reasons_ += (cc->dns_reasons_.empty() ? "" : ", ") + list.zone + "=" +
                             (a.records.empty() ? "" : a.records[0]) + " (" + buf + ")";
        }
      }
      if (--cc->pending_ == 0) cc->cv_.notify_all();
    });
  }
  if (want_ptr) {
    resolver_->query(dns::reverse_name(ip), dns::Type::PTR, [weak](const dns::Answer& a) {
      auto cc = weak.lock();
      if (!cc) return;
      std::lock_guard lk(cc->mu_);
      if (a.ok() && !a.records.empty()) cc->ptr_ = a.records[0];
      cc->ptr_missing_ = a.empty();
      if (--cc->pending_ == 0) cc->cv_.notify_all();
    });
  }
  return c;
}

bool ConnectionControl::over_rate(const std::string& key, uint32_t limit, int64_t now) {
  // Two one-minute buckets, the previous one weighted by what is left of it (sliding window).
  int64_t minute = now / 60;
  auto& w = rates_[key];
  if (w.minute != minute) {
    w.previous = w.minute == minute - 1 ? w.count : 0;
    w.count = 0;
    w.minute = minute;
  }
  ++w.count;
  double frac = 1.0 - static_cast<double>(now % 60) / 60.0;
  return w.count + w.previous * frac > limit;
}

void ConnectionControl::on_mail(ClientCheck& c, const std::string& sender_domain, int64_t now) {
  std::lock_guard lk(mu_);
  if (rates_.size() > 200000) rates_.clear();  // bounded memory under a flood of sources
  c.rate_reason_.clear();
  if (opt_.rate_per_ip && over_rate("ip:" + c.ip_, opt_.rate_per_ip, now))
    c.rate_reason_ = "too many messages from " + c.ip_;
  else if (opt_.rate_per_network && !c.net_.empty() && over_rate("net:" + c.net_, opt_.rate_per_network, now))
    c.rate_reason_ = "too many messages from network " + c.net_;
  else if (opt_.rate_per_sender_domain && !sender_domain.empty() &&
           over_rate("dom:" + sender_domain, opt_.rate_per_sender_domain, now))
    c.rate_reason_ = "too many messages from sender domain " + sender_domain;
}

Decision ConnectionControl::decide(ClientCheck& c, const std::string& tenant, const std::string& sender_domain,
                                   int64_t now) {
  Decision d;
  std::vector<AllowEntry> allow;
  {
    std::lock_guard lk(mu_);
    allow = allow_;  // small; copied so that the lock is not held across the DNS wait
  }
  std::string dns_reasons;
  double score = c.score(&dns_reasons);
  AllowMatch m = match_allow(allow, tenant, c.ip_, c.ptr(), sender_domain, now);
  if (m.matched) {
    d.reason = "allowed by " + m.entry;
    d.allowed = true;
    return d;
  }
  Strictness st = strictness(tenant);
  Assessment a = rep_.assess(c.ip_, st, now);
  // The worst of: limits, DNS lists, learned reputation.
  if (c.over_concurrency_) {
    d = refusal(450, "4.7.0", "Too many connections from your network, try again later", "concurrency limit for " + c.net_,
         Action::Tempfail);
  } else if (!c.rate_reason_.empty()) {
    d = refusal(450, "4.7.1", "Rate limit exceeded (" + c.rate_reason_ + "), try again later", "rate limit: " + c.rate_reason_,
         Action::Tempfail);
  } else if (!opt_.dns_lists.empty() || opt_.no_ptr_weight != 0 || opt_.bad_helo_weight != 0 ||
             opt_.pregreet_weight != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", score);
    if (score >= opt_.dns_refuse_score)
      d = refusal(554, "5.7.1", "Service unavailable; client [" + c.ip_ + "] blocked (" + dns_reasons + ")",
           "connection score " + std::string(buf) + ": " + dns_reasons, Action::Refuse);
    else if (score >= opt_.dns_tempfail_score)
      d = refusal(450, "4.7.1", "Delayed delivery: client [" + c.ip_ + "] is listed (" + dns_reasons + "), try again later",
           "connection score " + std::string(buf) + ": " + dns_reasons, Action::Tempfail);
  }
  if (a.action > d.action) {
    if (a.action == Action::Refuse)
      d = refusal(550, "5.7.1", "Service refused: client [" + c.ip_ + "] has a poor reputation (spam source)", a.reason,
           Action::Refuse);
    else if (a.action == Action::Tempfail)
      d = refusal(450, "4.7.1", "Delayed delivery: client [" + c.ip_ + "] has sent spam recently, try again later", a.reason,
           Action::Tempfail);
    else if (a.action == Action::Tarpit) {
      d = {};
      d.action = Action::Tarpit;
      d.tarpit = true;
      d.reason = a.reason;
    }
  }
  if (d.action == Action::None) return d;
  if (st == Strictness::Off && !c.over_concurrency_ && c.rate_reason_.empty()) {
    // Look up and log only: the tenant accepts the mail.
    Decision ok;
    ok.reason = d.reason;
    ok.action = d.action;
    ok.logged_only = true;
    return ok;
  }
  if (!d.accepted() && !m.sender_domain.empty()) {
    d.pending_domain = m.sender_domain;  // decided after DATA by SPF/DKIM for that domain
  }
  return d;
}

}  // namespace mm::reputation
