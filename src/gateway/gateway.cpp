#include "gateway/gateway.h"
#include "gateway/internal.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "auth/message_util.h"
#include "message/message.h"
#include "ops/log.h"
#include "scan/headers.h"
#include "util/clock.h"

namespace mm::gateway {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Counts "Received:" header fields in the header section (loop detection).
int count_received(const std::string& data) {
  int n = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t eol = data.find("\r\n", pos);
    if (eol == std::string::npos) eol = data.size();
    if (eol == pos) break;  // end of header section
    if (eol - pos >= 9 && strncasecmp(data.c_str() + pos, "Received:", 9) == 0) ++n;
    pos = eol + 2;
  }
  return n;
}

// HELO names are client-chosen text: keep what a host name or address literal may contain.
std::string sanitize_helo(const std::string& helo) {
  if (helo.empty()) return "unknown";
  std::string out;
  for (char c : helo.substr(0, 255)) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::strchr(".-_:[]", c) != nullptr;
    out += ok ? c : '?';
  }
  return out;
}

}  // namespace

static std::string refusal_detail(const smtp::Reply& r, const std::string& reason) {
  return std::to_string(r.code) + " " + r.enhanced + " " + r.text + " (" + reason + ")";
}

class InboundSession : public net::SessionHandler {
 public:
  InboundSession(Gateway& gw, net::ConnInfo info) : gw_(gw), info_(std::move(info)) {}

  smtp::Reply on_connect(const net::ConnInfo&) override {
    log::info("smtp.connect", JsonLine()
                                  .add("session", info_.session_id)
                                  .add("ip", info_.client_ip)
                                  .add("port", static_cast<int>(info_.client_port)));
    // Connection control: its DNS lookups start now; the decision waits for the recipients
    // (their tenant's allow list and strictness), so that every refused recipient is logged.
    if (gw_.conn_) check_ = gw_.conn_->begin(info_.client_ip);
    return {220, "", ""};
  }

  void on_pregreet(size_t bytes) override {
    log::info("smtp.pregreet", JsonLine().add("session", info_.session_id).add("ip", info_.client_ip)
                                   .add("bytes", static_cast<int64_t>(bytes)));
    if (check_) check_->set_pregreet();
  }

  smtp::Reply on_helo(const smtp::Envelope& env) override {
    if (check_) check_->set_helo(env.helo);
    return {250, "", ""};
  }

  smtp::Reply on_mail(const smtp::Envelope& env, const smtp::PathArg& p) override {
    tenant_.clear();
    dir_ = gw_.directory();  // one consistent view for the whole transaction
    // SPF's DNS starts now and runs during RCPT and DATA; the verdict is taken after DATA.
    if (gw_.auth_ && gw_.scanner()) gw_.auth_->warm_spf(info_.client_ip, p.null_path ? "" : p.addr.str(), env.helo);
    sender_domain_ = p.null_path ? "" : lower(p.addr.domain);
    conn_domain_.clear();
    conn_refusal_ = {};
    tarpit_ = false;
    if (check_) gw_.conn_->on_mail(*check_, sender_domain_, now_s());
    return {250, "2.1.0", "Ok"};
  }

  smtp::Reply on_rcpt(const smtp::Envelope& env, const smtp::PathArg& p) override {
    std::string tenant_before = tenant_;
    auto r = decide_rcpt(p.addr);
    if (r.code == 550 && r.enhanced == "5.1.1" && gw_.conn_)  // unknown users: a dictionary-attack signal
      gw_.conn_->reputation().record(info_.client_ip, reputation::Outcome::Refused, now_s());
    conn_last_reason_.clear();
    if (r.code / 100 == 2 && check_) {
      r = connection_control(env, p.addr);
      if (r.code / 100 != 2) tenant_ = tenant_before;  // a refused recipient does not fix the tenant
    }
    if (r.code / 100 != 2) {
      log::info("smtp.rcpt_refused", JsonLine()
                                         .add("session", info_.session_id)
                                         .add("ip", info_.client_ip)
                                         .add("helo", env.helo)
                                         .add("sender", env.null_sender ? "<>" : env.sender.str())
                                         .add("recipient", p.addr.str())
                                         .add("reply", std::to_string(r.code) + " " + r.enhanced + " " + r.text));
      gw_.tracker_.record({"", 0, "refused", p.addr.str(),
                           std::to_string(r.code) + " " + r.enhanced + " " + r.text + " (from " +
                               info_.client_ip + ", sender <" + env.sender.str() + ">" +
                               (conn_last_reason_.empty() ? "" : "; " + conn_last_reason_) + ")",
                           r.code == 452 ? "" : tenant_of(p.addr)});
    }
    return r;
  }

  void on_message(const smtp::Envelope& env, std::string data, const net::TlsState& tls,
                  std::function<void(smtp::Reply)> done) override {
    if (count_received(data) >= gw_.opt_.max_hops) {
      done({554, "5.4.6", "Too many hops (mail loop?)"});
      return;
    }
    auto a = std::make_shared<Gateway::Accepted>();
    auto& m = a->meta;
    m.id = queue::make_queue_id();
    int64_t now = now_s();
    a->received = Gateway::received_header(gw_.opt_.hostname, info_, env, tls, m.id, now);
    a->data = std::move(data);
    m.sender = env.null_sender ? "" : env.sender.str();
    for (auto& r : env.recipients) {
      bool postmaster = r.domain.empty();  // only a bare <postmaster> is accepted without a domain
      std::string rcpt = postmaster ? gw_.opt_.postmaster : r.str();
      m.recipients.push_back({rcpt, queue::RcptStatus::Pending, ""});
      a->env.recipients.push_back(rcpt);
    }
    m.client_ip = info_.client_ip;
    m.helo = env.helo;
    a->conn_domain = conn_domain_;
    a->conn_refusal = conn_refusal_;
    a->conn_reason = conn_reason_;
    if (tarpit_ && gw_.loop_ && gw_.conn_) {
      // A tarpitted source: its final reply comes slowly (the message is still taken).
      net::EventLoop* loop = gw_.loop_;
      int ms = tarpit_ms_;
      done = [loop, ms, inner = std::move(done)](smtp::Reply r) mutable {
        loop->after(ms, [inner = std::move(inner), r]() mutable { inner(r); });
      };
    }
    m.tenant = tenant_;
    m.smtputf8 = env.smtputf8;
    m.eightbit = env.body == smtp::BodyType::EightBitMime;
    m.arrival_s = now;
    m.next_attempt_s = now;
    a->env.client_ip = m.client_ip;
    a->env.helo = m.helo;
    a->env.sender = m.sender;
    a->env.tls = tls.active;
    a->env.tenant = m.tenant;
    if (!dir_) dir_ = gw_.directory();
    a->env.tenant_facts = dir_->tenant_facts(m.tenant);
    a->detail = "from " + env.helo + " [" + info_.client_ip + "] size=" +
                std::to_string(a->received.size() + a->data.size()) + (tls.active ? " " + tls.version : "") +
                " sender=<" + m.sender + ">";
    if (auto engine = gw_.scanner()) {
      if (gw_.auth_) {
        // Sender authentication first: all its DNS asynchronously on the loop, then the scan.
        a->raw = std::make_shared<const std::string>(std::move(a->data));
        auth::AuthRequest req{info_.client_ip, env.helo, m.sender, a->raw};
        Gateway* gw = &gw_;
        gw_.auth_->prefetch(std::move(req), [gw, a, engine, done = std::move(done)](std::shared_ptr<auth::Prefetched> p) mutable {
          a->auth = std::move(p);
          gw->scan_and_queue(std::move(engine), std::move(a), std::move(done));
        });
        return;
      }
      gw_.scan_and_queue(std::move(engine), std::move(a), std::move(done));
    } else {
      if (!a->conn_domain.empty()) {  // no authentication to show the sender domain is genuine
        for (auto& r : a->meta.recipients)
          gw_.tracker_.record({"", 0, "refused", r.address, refusal_detail(a->conn_refusal, a->conn_reason), m.tenant});
        done(a->conn_refusal);
        return;
      }
      std::string body = a->received + a->data;
      gw_.spool_and_reply(std::move(a), std::move(body), "", std::move(done));
    }
  }

  void on_close(const std::string& reason) override {
    // Every recipient a refused or delayed session tried, one security event per tenant.
    for (auto& [tenant, ev] : conn_events_) {
      std::string detail = "client=" + info_.client_ip + " helo=" + ev.helo + " sender=<" + ev.sender + "> reply=" +
                           ev.reply + " reason=" + ev.reason + " recipients=" + ev.recipients;
      if (detail.size() > 4000) detail = detail.substr(0, 3997) + "...";
      auto st = gw_.store_.tenancy().add_security_event({0, 0, tenant, ev.kind, detail});
      if (!st) log::warn("security_event.failed", JsonLine().add("error", st.message()));
    }
    log::info("smtp.disconnect",
              JsonLine().add("session", info_.session_id).add("ip", info_.client_ip).add("reason", reason));
  }

 private:
  std::string tenant_of(const smtp::Address& a) {
    if (!dir_) dir_ = gw_.directory();
    auto* d = dir_->find(a.domain);
    return d ? d->tenant : "";
  }

  smtp::Reply decide_rcpt(const smtp::Address& a) {
    const std::string who = "<" + a.str() + ">: ";
    // RFC 5321 §4.5.1: a bare <postmaster> must be accepted; it goes to the operator's address.
    if (a.domain.empty() && strcasecmp(a.local.c_str(), "postmaster") == 0 && !a.quoted_local) {
      if (gw_.opt_.postmaster.empty()) return {550, "5.1.1", who + "No postmaster address is configured here"};
      return {250, "2.1.5", "Ok"};
    }
    if (smtp::has_routing_tricks(a) || a.domain.empty() || a.domain[0] == '[')
      return {550, "5.7.1", who + "Relay access denied"};
    if (!dir_) dir_ = gw_.directory();
    const DomainEntry* d = dir_->find(a.domain);
    if (!d) return {550, "5.7.1", who + "Relay access denied"};
    if (!d->tenant_active)
      return {450, "4.7.1", who + "Recipient's organisation is temporarily not accepting mail"};
    if (d->destination.hops.empty())
      return {451, "4.3.0", who + "No delivery route configured for " + a.domain + ", try again later"};
    if (!tenant_.empty() && tenant_ != d->tenant)
      return {452, "4.5.3", who + "Recipient belongs to another organisation; send it in a separate transaction"};
    if (d->recipient_validation && !d->recipients.count(lower(a.str())))
      return {550, "5.1.1", who + "Recipient address rejected: User unknown"};
    tenant_ = d->tenant;
    return {250, "2.1.5", "Ok"};
  }

  // Connection control for a recipient the directory accepted (its tenant is known).
  smtp::Reply connection_control(const smtp::Envelope& env, const smtp::Address& a) {
    const DomainEntry* d = dir_ ? dir_->find(a.domain) : nullptr;
    std::string tenant = d ? d->tenant : "";
    auto dec = gw_.conn_->decide(*check_, tenant, sender_domain_, now_s());
    if (dec.action != reputation::Action::None || !dec.reason.empty())
      log::info("connection.decision", JsonLine()
                                           .add("session", info_.session_id)
                                           .add("ip", info_.client_ip)
                                           .add("tenant", tenant)
                                           .add("recipient", a.str())
                                           .add("action", reputation::to_string(dec.action))
                                           .add("applied", !dec.logged_only)
                                           .add("reply", dec.code)
                                           .add("reason", dec.reason));
    if (dec.tarpit) {
      tarpit_ = true;
      tarpit_ms_ = gw_.conn_->options().tarpit_ms;
    }
    if (dec.accepted()) {
      if (dec.allowed || dec.logged_only) return {250, "2.1.5", "Ok"};
      // Greylisting, where the tenant enables it: a first attempt waits for a correct retry.
      int wait = gw_.conn_->greylist(*check_, tenant, env.null_sender ? "" : env.sender.str(), a.str(), now_s());
      if (wait > 0) {
        conn_last_reason_ = "greylisted";
        return {450, "4.7.1", "<" + a.str() + ">: Greylisted, please try again in " + std::to_string(wait) + " seconds"};
      }
      return {250, "2.1.5", "Ok"};
    }
    if (!dec.pending_domain.empty()) {
      // A sender-domain allow entry: accepted now, decided after DATA by SPF/DKIM for that domain.
      conn_domain_ = dec.pending_domain;
      conn_refusal_ = {dec.code >= 500 ? 550 : 451, dec.enhanced, dec.text};
      conn_reason_ = dec.reason;
      return {250, "2.1.5", "Ok"};
    }
    auto& ev = conn_events_[tenant];
    ev.kind = dec.code >= 500 ? "connection_refused" : "connection_delayed";
    ev.reply = std::to_string(dec.code) + " " + dec.enhanced;
    ev.reason = dec.reason;
    ev.helo = env.helo;
    ev.sender = env.null_sender ? "" : env.sender.str();
    if (ev.count++ < 200) ev.recipients += (ev.recipients.empty() ? "" : ",") + a.str();
    gw_.conn_->reputation().record(info_.client_ip, reputation::Outcome::Refused, now_s());
    conn_last_reason_ = dec.reason;
    std::string who = "<" + a.str() + ">: ";
    return {dec.code, dec.enhanced, who + dec.text};
  }

  Gateway& gw_;
  net::ConnInfo info_;
  std::string tenant_;
  std::shared_ptr<const Directory> dir_;
  std::shared_ptr<reputation::ClientCheck> check_;
  std::string sender_domain_;
  std::string conn_domain_, conn_reason_, conn_last_reason_;
  smtp::Reply conn_refusal_;
  bool tarpit_ = false;
  int tarpit_ms_ = 0;
  struct ConnEvent {
    std::string kind, reply, reason, helo, sender, recipients;
    size_t count = 0;
  };
  std::map<std::string, ConnEvent> conn_events_;
};

void Gateway::set_scanner(std::shared_ptr<const scan::Engine> engine, ThreadPool* pool) {
  std::lock_guard lk(dir_mu_);
  engine_ = std::move(engine);
  pool_ = pool;
}

void Gateway::spool_and_reply(std::shared_ptr<Accepted> a, std::string body, std::string verdict,
                              std::function<void(smtp::Reply)> done) {
  const queue::MessageMeta& m = a->meta;
  spool_.submit(m, std::move(body), [this, a, verdict = std::move(verdict), done = std::move(done)](Status st) {
    const queue::MessageMeta& meta = a->meta;
    if (!st) {
      log::error("queue.write_failed", JsonLine().add("queue_id", meta.id).add("error", st.message()));
      done({451, "4.3.0", "Error: queue file write error, try again later"});
      return;
    }
    for (auto& r : meta.recipients) tracker_.record({meta.id, 0, "received", r.address, a->detail, meta.tenant});
    if (!verdict.empty()) tracker_.record({meta.id, 0, "scanned", "", verdict, meta.tenant});
    if (queue_) queue_->enqueue(meta);
    done({250, "2.0.0", "Ok: queued as " + meta.id});
  });
}

// The details of the symbols hinting at class `c`, joined; printable ASCII only (file names are
// the sender's text and may end up in an SMTP reply).
std::string class_reason(const scan::Verdict& v, scan::Class c, size_t max) {
  std::string out;
  for (auto& s : v.symbols) {
    if (s.hint != c) continue;
    if (!out.empty()) out += "; ";
    out += s.name + " " + s.detail;
  }
  std::string clean;
  for (unsigned char ch : out) clean += (ch < 0x20 || ch >= 0x7f) ? '?' : static_cast<char>(ch);
  if (clean.size() > max) clean = clean.substr(0, max - 3) + "...";
  return clean;
}

bool needs_retry(const scan::Verdict& v) {
  return std::any_of(v.symbols.begin(), v.symbols.end(), [](const scan::Symbol& s) { return s.retry; });
}

std::string verdict_detail(const scan::Verdict& v) {
  char head[64];
  std::snprintf(head, sizeof head, "%s score=%.2f ", scan::to_string(v.cls), v.score);
  return head + v.symbol_list() + (v.failed ? " FAILED: " + v.error : "");
}

std::shared_ptr<const scan::Engine> Gateway::scanner() const {
  std::lock_guard lk(dir_mu_);
  return pool_ ? engine_ : nullptr;
}

void Gateway::scan_and_queue(std::shared_ptr<const scan::Engine> engine, std::shared_ptr<Accepted> a,
                             std::function<void(smtp::Reply)> done) {
  pool_->submit([this, a, engine, done = std::move(done)]() mutable {
    auto raw = a->raw ? a->raw : std::make_shared<const std::string>(std::move(a->data));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.scan_timeout_ms);
    // Sender authentication: DKIM (CPU) with the prefetched keys, DMARC; one A-R header of ours,
    // forged ones claiming our authserv-id removed.
    std::string ar;
    std::shared_ptr<const std::string> delivered = raw;
    if (a->auth && auth_) {
      a->env.auth = auth_->finish(*a->auth);
      if (!a->env.auth.tempfail.empty()) {
        // A DNS failure leaves the outcome undecidable: the client keeps the message and retries.
        std::string text = "Temporary DNS failure authenticating the sender (" + a->env.auth.tempfail + "), try again later";
        if (text.size() > 400) text = text.substr(0, 400);
        for (char& c : text)
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
        log::warn("auth.tempfail", JsonLine().add("queue_id", a->meta.id).add("reason", a->env.auth.tempfail));
        for (auto& r : a->meta.recipients)
          tracker_.record({"", 0, "refused", r.address, "451 4.4.3 " + text + "; " + a->detail, a->meta.tenant});
        done({451, "4.4.3", text});
        return;
      }
      ar = auth_->header(a->env.auth, *a->auth);
      if (!a->conn_domain.empty()) {
        reputation::AuthView view{a->env.auth.spf, a->env.auth.spf_domain, {}};
        for (auto& d : a->env.auth.dkim) view.dkim.emplace_back(d.domain, d.result);
        if (!reputation::authenticated_for(view, a->conn_domain)) {
          // The allow entry names a sender domain this message is not authenticated for.
          for (auto& r : a->meta.recipients)
            tracker_.record({"", 0, "refused", r.address,
                             refusal_detail(a->conn_refusal, a->conn_reason + "; not authenticated for " + a->conn_domain),
                             a->meta.tenant});
          done(a->conn_refusal);
          return;
        }
        log::info("connection.allowed_sender", JsonLine().add("queue_id", a->meta.id).add("domain", a->conn_domain));
      }
      delivered = auth::without_our_authentication_results(raw, auth_->options().authserv_id);
    } else if (!a->conn_domain.empty()) {
      // No authentication to show that the allow-listed sender domain is genuine.
      for (auto& r : a->meta.recipients)
        tracker_.record({"", 0, "refused", r.address, refusal_detail(a->conn_refusal, a->conn_reason), a->meta.tenant});
      done(a->conn_refusal);
      return;
    }
    scan::Verdict v;
    std::shared_ptr<const message::Message> msg;
    try {
      msg = message::parse(raw);
      v = engine->scan(msg, a->env, deadline);
    } catch (const std::exception& e) {
      v.failed = true;
      v.error = std::string("parse failed: ") + e.what();
    }
    const auto& t = engine->thresholds();
    auto& m = a->meta;
    if (!v.failed && needs_retry(v) && v.cls != scan::Class::Malware) {
      v.failed = true;  // a scanner was down or late: held for a rescan like a failed scan
      v.error = class_reason(v, scan::Class::Unscannable);
    }
    if (v.failed) {
      // Never lost, never delivered unscanned: held in the queue until a rescan succeeds.
      log::warn("scan.failed", JsonLine().add("queue_id", m.id).add("error", v.error));
      m.scan_pending = true;
      spool_and_reply(a, a->received + ar + *delivered, verdict_detail(v), std::move(done));
      return;
    }
    feed_reputation(a->meta.client_ip, v);
    // Our Authentication-Results goes right below our Received: in every copy (spooled or quarantined).
    a->received += ar;
    apply_policy(a, delivered, msg, v, t, std::move(done));
  });
}

void Gateway::rescan_pending() {
  auto engine = scanner();
  if (!engine || rescanning_.exchange(true)) return;
  std::vector<queue::MessageMeta> todo;
  for (auto& m : spool_.list())
    if (m.scan_pending) todo.push_back(std::move(m));
  if (todo.empty()) {
    rescanning_ = false;
    return;
  }
  pool_->submit([this, engine, todo = std::move(todo)] {
    for (auto& old : todo) {
      auto body = spool_.read_body(old.id);
      if (!body) continue;
      auto raw = std::make_shared<const std::string>(std::move(*body));
      scan::Envelope env{old.client_ip, old.helo, old.sender, {}, false, old.tenant, nullptr, {}};
      for (auto& r : old.recipients) env.recipients.push_back(r.address);
      if (auto dir = directory()) env.tenant_facts = dir->tenant_facts(old.tenant);
      if (auth_) {
        // The auth results of the first scan attempt: our Authentication-Results field, trusted
        // only in its place right below our Received: (forged copies were removed at DATA).
        std::string_view rest = std::string_view(*raw).substr(received_field_end(*raw));
        if (rest.size() > 23 && strncasecmp(rest.data(), "Authentication-Results:", 23) == 0)
          env.auth = auth::facts_from_authentication_results(rest.substr(0, auth::field_end(rest, 0)),
                                                             auth_->options().authserv_id);
      }
      scan::Verdict v;
      std::shared_ptr<const message::Message> msg;
      try {
        msg = message::parse(raw);
        v = engine->scan(msg, env, std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.scan_timeout_ms));
      } catch (const std::exception& e) {
        v.failed = true;
        v.error = e.what();
      }
      if (!v.failed && needs_retry(v) && v.cls != scan::Class::Malware) {
        v.failed = true;
        v.error = class_reason(v, scan::Class::Unscannable);
      }
      if (v.failed) {
        log::warn("scan.rescan_failed", JsonLine().add("queue_id", old.id).add("error", v.error));
        continue;
      }
      requeue_rescanned(old, raw, std::move(msg), v, engine->thresholds(), env.auth);
    }
    rescanning_ = false;
  });
}

Gateway::Gateway(GatewayOptions opt, store::Store& st, queue::Spool& spool, ops::Tracker& tr)
    : opt_(std::move(opt)), store_(st), spool_(spool), tracker_(tr) {
  refresh(true);
}

void Gateway::refresh(bool force) {
  if (!force) {
    auto cur = directory();
    if (cur && cur->generation() == store_.config_generation()) return;
  }
  auto d = Directory::load(store_);
  auto p = policy::Snapshot::load(store_);
  log::info("gateway.directory_loaded",
            JsonLine().add("domains", d->size()).add("generation", d->generation()));
  load_connection_lists();
  std::lock_guard lk(dir_mu_);
  dir_ = std::move(d);
  policy_ = std::move(p);
}

void Gateway::feed_reputation(const std::string& ip, const scan::Verdict& v) {
  if (!conn_) return;
  using reputation::Outcome;
  Outcome o = Outcome::Clean;
  switch (v.cls) {
    case scan::Class::Spam: o = Outcome::Spam; break;
    case scan::Class::Phishing: o = Outcome::Phishing; break;
    case scan::Class::Malware: o = Outcome::Malware; break;
    case scan::Class::Unscannable: return;  // says nothing about the sender
    default: break;                         // clean, bulk
  }
  conn_->reputation().record(ip, o, now_s());
}

void Gateway::load_connection_lists() {
  if (!conn_) return;
  std::vector<reputation::AllowEntry> allow;
  for (auto& r : store_.reputation().allow_entries()) allow.push_back({r.tenant, r.pattern, r.expires_at});
  std::map<std::string, reputation::Strictness> strict;
  for (auto& [t, l] : store_.reputation().strictness())
    if (auto s = reputation::parse_strictness(l)) strict[t] = *s;
  conn_->set_lists(std::move(allow), std::move(strict));
  auto grey = store_.reputation().greylisting();
  conn_->set_greylisting(std::set<std::string>(grey.begin(), grey.end()));
}

std::shared_ptr<const Directory> Gateway::directory() const {
  std::lock_guard lk(dir_mu_);
  return dir_;
}

std::unique_ptr<net::SessionHandler> Gateway::new_session(const net::ConnInfo& info) {
  return std::make_unique<InboundSession>(*this, info);
}

std::optional<net::Destination> Gateway::route(const std::string& domain) {
  auto dir = directory();
  if (auto* d = dir->find(domain); d && !d->destination.hops.empty()) return d->destination;
  if (!opt_.smarthost.empty()) {
    net::Destination dest;
    dest.key = "smarthost";
    auto colon = opt_.smarthost.rfind(':');
    std::string host = opt_.smarthost.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    dest.hops.push_back({host, static_cast<uint16_t>(std::stoi(opt_.smarthost.substr(colon + 1)))});
    return dest;
  }
  return std::nullopt;
}

std::string Gateway::received_header(const std::string& hostname, const net::ConnInfo& c,
                                     const smtp::Envelope& env, const net::TlsState& tls,
                                     const std::string& queue_id, int64_t now) {
  // RFC 3848 / RFC 6531 protocol names.
  std::string proto = env.smtputf8 ? "UTF8SMTP" : env.esmtp ? "ESMTP" : "SMTP";
  if (tls.active) proto += "S";
  std::string h = "Received: from " + sanitize_helo(env.helo) + " ([" +
                  c.client_ip + "])\r\n\tby " + hostname + " (mailmoat) with " + proto;
  if (tls.active) h += " (" + tls.version + " " + tls.cipher + ")";
  h += "\r\n\tid " + queue_id;
  // Name the recipient only when there is exactly one (as Postfix does): never leak a list.
  if (env.recipients.size() == 1) h += "\r\n\tfor <" + env.recipients[0].str() + ">";
  h += "; " + rfc5322_date(now) + "\r\n";
  return h;
}

}  // namespace mm::gateway
