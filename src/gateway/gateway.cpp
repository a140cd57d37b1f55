#include "gateway/gateway.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

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

struct Gateway::Accepted {
  queue::MessageMeta meta;
  std::string received;  // our Received: header
  std::string data;      // the message as the client sent it
  scan::Envelope env;
  std::string detail;    // for the tracking record
};

class InboundSession : public net::SessionHandler {
 public:
  InboundSession(Gateway& gw, net::ConnInfo info) : gw_(gw), info_(std::move(info)) {}

  smtp::Reply on_connect(const net::ConnInfo&) override {
    log::info("smtp.connect", JsonLine()
                                  .add("session", info_.session_id)
                                  .add("ip", info_.client_ip)
                                  .add("port", static_cast<int>(info_.client_port)));
    return {220, "", ""};
  }

  smtp::Reply on_helo(const smtp::Envelope&) override { return {250, "", ""}; }

  smtp::Reply on_mail(const smtp::Envelope&, const smtp::PathArg&) override {
    tenant_.clear();
    dir_ = gw_.directory();  // one consistent view for the whole transaction
    return {250, "2.1.0", "Ok"};
  }

  smtp::Reply on_rcpt(const smtp::Envelope& env, const smtp::PathArg& p) override {
    auto r = decide_rcpt(p.addr);
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
                               info_.client_ip + ", sender <" + env.sender.str() + ">)",
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
    a->detail = "from " + env.helo + " [" + info_.client_ip + "] size=" +
                std::to_string(a->received.size() + a->data.size()) + (tls.active ? " " + tls.version : "") +
                " sender=<" + m.sender + ">";
    if (auto engine = gw_.scanner()) {
      gw_.scan_and_queue(std::move(engine), std::move(a), std::move(done));
    } else {
      std::string body = a->received + a->data;
      gw_.spool_and_reply(std::move(a), std::move(body), "", std::move(done));
    }
  }

  void on_close(const std::string& reason) override {
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

  Gateway& gw_;
  net::ConnInfo info_;
  std::string tenant_;
  std::shared_ptr<const Directory> dir_;
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

namespace {

// End of the first header field (our Received:, with its continuation lines), 0 if none.
size_t received_field_end(std::string_view msg) {
  if (msg.substr(0, 9) != "Received:") return 0;
  size_t end = 0;
  do {
    size_t nl = msg.find("\r\n", end);
    if (nl == std::string_view::npos) return 0;
    end = nl + 2;
  } while (end < msg.size() && (msg[end] == ' ' || msg[end] == '\t'));
  return end;
}

std::string verdict_detail(const scan::Verdict& v) {
  char head[64];
  std::snprintf(head, sizeof head, "%s score=%.2f ", scan::to_string(v.cls), v.score);
  return head + v.symbol_list() + (v.failed ? " FAILED: " + v.error : "");
}

// The policy's decision for each recipient, grouped. A reject that cannot be said any more (after
// acceptance, or for only some recipients of a transaction) becomes a quarantine: never dropped.
struct Plan {
  std::vector<policy::Decision> dec;
  std::vector<size_t> deliver, tag, quar, del;
  // The copies to spool: (tagged?, headers added by content rules) -> recipients.
  std::map<std::pair<bool, std::string>, std::vector<size_t>> send;
  bool all_reject = false;
  std::string why(size_t i) const {
    return dec[i].cls + " (policy " + dec[i].source + (dec[i].note.empty() ? "" : "; " + dec[i].note) + ")";
  }
  std::string action() const {
    std::string out;
    for (auto [name, n] : {std::pair{"deliver", deliver.size()}, {"tag", tag.size()}, {"quarantine", quar.size()},
                           {"delete", del.size()}})
      if (n) out += (out.empty() ? "" : " ") + std::string(name) + ":" + std::to_string(n);
    return out;
  }
};

Plan make_plan(const policy::Snapshot& pol, const policy::MessageFacts& f, const std::vector<std::string>& rcpts,
               bool can_reject, bool can_quarantine, int64_t now) {
  Plan p;
  for (auto& r : rcpts) p.dec.push_back(pol.decide(f, r, now));
  p.all_reject = can_reject && !p.dec.empty() && std::all_of(p.dec.begin(), p.dec.end(), [](const policy::Decision& d) {
    return d.action == policy::Action::Reject;
  });
  if (p.all_reject) return p;
  for (size_t i = 0; i < p.dec.size(); ++i) {
    switch (p.dec[i].action) {
      case policy::Action::Deliver: p.deliver.push_back(i); break;
      case policy::Action::Tag: p.tag.push_back(i); break;
      case policy::Action::Delete: p.del.push_back(i); break;
      case policy::Action::Reject:
        p.dec[i].note += (p.dec[i].note.empty() ? "" : "; ") +
                         std::string(can_reject ? "reject in a mixed transaction" : "reject after acceptance") +
                         ": quarantined";
        p.quar.push_back(i);
        break;
      case policy::Action::Quarantine: p.quar.push_back(i); break;
    }
  }
  if (!can_quarantine && !p.quar.empty()) {
    log::warn("quarantine.unavailable", JsonLine().add("recipients", p.quar.size()));
    p.tag.insert(p.tag.end(), p.quar.begin(), p.quar.end());
    p.quar.clear();
  }
  for (auto* group : {&p.deliver, &p.tag})
    for (size_t i : *group) {
      std::string headers;
      for (auto& h : p.dec[i].add_headers) headers += h + "\r\n";
      p.send[{group == &p.tag, headers}].push_back(i);
    }
  return p;
}

policy::MessageFacts facts_of(const queue::MessageMeta& m, const message::Message* msg, const scan::Verdict& v,
                              const scan::Thresholds& t) {
  policy::MessageFacts f;
  f.msg = msg;
  f.size = msg && msg->raw ? msg->raw->size() : 0;
  f.tenant = m.tenant;
  f.envelope_sender = m.sender;
  f.from_address = msg ? msg->from.address : "";
  f.cls = v.cls;
  f.score = v.score;
  f.high = t.reject;
  // f.auth and f.dmarc_fail come from the authentication results once the auth module provides
  // them; until then approvals are not applied (unless the tenant allows unauthenticated ones).
  return f;
}

quarantine::HoldRequest hold_request(const queue::MessageMeta& m, const message::Message* msg, const scan::Verdict& v,
                                     const Plan& p, std::string_view received, std::string_view raw, int64_t now) {
  quarantine::HoldRequest hr;
  hr.tenant = m.tenant;
  hr.queue_id = m.id;
  hr.sender = m.sender;
  hr.subject = msg ? msg->subject : "";
  hr.message_id = msg ? msg->message_id : "";
  hr.client_ip = m.client_ip;
  hr.verdict = scan::to_string(v.cls);
  hr.score = v.score;
  hr.symbols = v.symbol_list();
  hr.received = received;
  hr.raw = raw;
  hr.now = now;
  for (size_t i : p.quar) hr.recipients.push_back({m.recipients[i].address, p.dec[i].cls});
  return hr;
}

}  // namespace

std::shared_ptr<const scan::Engine> Gateway::scanner() const {
  std::lock_guard lk(dir_mu_);
  return pool_ ? engine_ : nullptr;
}

void Gateway::scan_and_queue(std::shared_ptr<const scan::Engine> engine, std::shared_ptr<Accepted> a,
                             std::function<void(smtp::Reply)> done) {
  pool_->submit([this, a, engine, done = std::move(done)]() mutable {
    auto raw = std::make_shared<const std::string>(std::move(a->data));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.scan_timeout_ms);
    scan::Verdict v;
    std::shared_ptr<const message::Message> msg;
    try {
      msg = message::parse(raw);
      v = engine->scan(*msg, a->env, deadline);
    } catch (const std::exception& e) {
      v.failed = true;
      v.error = std::string("parse failed: ") + e.what();
    }
    const auto& t = engine->thresholds();
    auto& m = a->meta;
    if (v.failed) {
      // Never lost, never delivered unscanned: held in the queue until a rescan succeeds.
      log::warn("scan.failed", JsonLine().add("queue_id", m.id).add("error", v.error));
      m.scan_pending = true;
      spool_and_reply(a, a->received + *raw, verdict_detail(v), std::move(done));
      return;
    }
    apply_policy(a, raw, msg, v, t, std::move(done));
  });
}

void Gateway::apply_policy(std::shared_ptr<Accepted> a, std::shared_ptr<const std::string> raw,
                           std::shared_ptr<const message::Message> msg, const scan::Verdict& v,
                           const scan::Thresholds& t, std::function<void(smtp::Reply)> done) {
  auto& m = a->meta;
  int64_t now = now_s();
  std::vector<std::string> rcpts;
  for (auto& r : m.recipients) rcpts.push_back(r.address);
  Plan p = make_plan(*policies(), facts_of(m, msg.get(), v, t), rcpts, true, quarantine_ != nullptr, now);
  const std::string vd = verdict_detail(v);
  if (tenancy_ && !m.tenant.empty()) tenancy_->note_seen(m.tenant, rcpts, now);  // counts and alerts; never drops mail
  auto summary = [&](const std::string& action) {
    std::string all;
    for (auto& r : rcpts) all += (all.empty() ? "" : ",") + r;
    tracker_.record_summary({m.id, m.tenant, now_us(), m.sender, all, msg ? msg->subject : "",
                             msg ? msg->message_id : "", m.client_ip, scan::to_string(v.cls), v.score, action});
  };

  if (p.all_reject) {
    // The reply names class, score and a reference; the symbols stay in tracking (no recipe for
    // spammers), where an administrator finds them by the reference.
    char text[160];
    std::snprintf(text, sizeof text, "Message refused as %s (score %.1f, reference %s)",
                  p.dec[0].cls == "blocked" ? "blocked sender" : p.dec[0].cls.c_str(), v.score, m.id.c_str());
    for (size_t i = 0; i < rcpts.size(); ++i)
      tracker_.record({m.id, 0, "rejected", rcpts[i], vd + "; " + p.why(i) + "; " + a->detail, m.tenant});
    summary("reject:" + std::to_string(rcpts.size()));
    done({550, "5.7.1", text});
    return;
  }
  if (!p.quar.empty()) {
    auto ids = quarantine_->hold(hold_request(m, msg.get(), v, p, a->received, *raw, now));
    if (!ids) {
      // Not stored, so not acknowledged: the client keeps the message and retries.
      log::error("quarantine.write_failed", JsonLine().add("queue_id", m.id).add("error", ids.error()));
      done({451, "4.3.0", "Error: quarantine write error, try again later"});
      return;
    }
    for (size_t k = 0; k < p.quar.size(); ++k) {
      tracker_.record({m.id, 0, "received", rcpts[p.quar[k]], a->detail, m.tenant});
      tracker_.record({m.id, 0, "quarantined", rcpts[p.quar[k]],
                       "quarantine " + (*ids)[k] + ": " + p.why(p.quar[k]) + "; " + vd, m.tenant});
    }
    log::info("quarantine.held", JsonLine().add("queue_id", m.id).add("tenant", m.tenant)
                                     .add("recipients", p.quar.size()).add("verdict", vd));
  }
  for (size_t i : p.del) {
    tracker_.record({m.id, 0, "received", rcpts[i], a->detail, m.tenant});
    tracker_.record({m.id, 0, "deleted", rcpts[i], "by policy: " + p.why(i) + "; " + vd, m.tenant});
  }

  struct Part {
    std::shared_ptr<Accepted> acc;
    std::string body;
  };
  std::vector<Part> parts;
  for (auto& [key, group] : p.send) {
    auto sub = std::make_shared<Accepted>(*a);
    sub->data.clear();
    sub->meta.id = parts.empty() ? m.id : queue::make_queue_id();
    sub->meta.recipients.clear();
    for (size_t i : group) {
      sub->meta.recipients.push_back(m.recipients[i]);
      if (sub->meta.id != m.id)
        tracker_.record({m.id, 0, "split", rcpts[i], "queued as " + sub->meta.id + ": " + p.why(i), m.tenant});
    }
    std::string stag = key.first ? opt_.subject_tag : "";
    // Our Received: stays the first field (trace fields on top, RFC 5321 §4.4); headers added by
    // content rules go below the verdict.
    parts.push_back({sub, a->received + (key.second.empty()
                                             ? scan::apply_verdict(*raw, v, t, opt_.hostname, stag)
                                             : scan::apply_verdict(key.second + *raw, v, t, opt_.hostname, stag))});
  }
  summary(p.action());
  if (parts.empty()) {
    done({250, "2.0.0", "Ok: queued as " + m.id});
    return;
  }
  // One reply once every part is on stable storage.
  struct Join {
    std::mutex mu;
    size_t left;
    bool failed = false;
    std::function<void(smtp::Reply)> done;
    std::string id;
  };
  auto join = std::make_shared<Join>();
  join->left = parts.size();
  join->done = std::move(done);
  join->id = m.id;
  for (auto& part : parts) {
    spool_and_reply(part.acc, std::move(part.body), vd, [join](smtp::Reply r) {
      std::unique_lock lk(join->mu);
      if (r.code != 250) join->failed = true;
      if (--join->left > 0) return;
      bool failed = join->failed;
      lk.unlock();
      if (failed) join->done({451, "4.3.0", "Error: queue file write error, try again later"});
      else join->done({250, "2.0.0", "Ok: queued as " + join->id});
    });
  }
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
      scan::Envelope env{old.client_ip, old.helo, old.sender, {}, false, old.tenant};
      for (auto& r : old.recipients) env.recipients.push_back(r.address);
      scan::Verdict v;
      try {
        v = engine->scan(*message::parse(raw), env,
                         std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.scan_timeout_ms));
      } catch (const std::exception& e) {
        v.failed = true;
        v.error = e.what();
      }
      if (v.failed) {
        log::warn("scan.rescan_failed", JsonLine().add("queue_id", old.id).add("error", v.error));
        continue;
      }
      // Accepted already: the policy decides per recipient, but nothing is bounced (no
      // backscatter): a reject becomes a quarantine.
      const auto& t = engine->thresholds();
      std::string detail = verdict_detail(v);
      std::string_view all(*raw);
      size_t first_end = received_field_end(all);
      std::vector<size_t> pending;  // recipients still to deliver
      std::vector<std::string> rcpts;
      for (size_t i = 0; i < old.recipients.size(); ++i)
        if (old.recipients[i].status == queue::RcptStatus::Pending) {
          pending.push_back(i);
          rcpts.push_back(old.recipients[i].address);
        }
      queue::MessageMeta view = old;  // the pending recipients, in plan order
      view.recipients.clear();
      for (size_t i : pending) view.recipients.push_back(old.recipients[i]);
      std::shared_ptr<const message::Message> msg;
      try {
        msg = message::parse(raw);
      } catch (const std::exception&) {
      }
      int64_t now = now_s();
      Plan p = make_plan(*policies(), facts_of(view, msg.get(), v, t), rcpts, false, quarantine_ != nullptr, now);
      if (!p.quar.empty()) {
        auto ids = quarantine_->hold(
            hold_request(view, msg.get(), v, p, all.substr(0, first_end), all.substr(first_end), now));
        if (!ids) {
          log::warn("quarantine.write_failed", JsonLine().add("queue_id", old.id).add("error", ids.error()));
          continue;  // stays pending; tried again at the next rescan
        }
        for (size_t k = 0; k < p.quar.size(); ++k)
          tracker_.record({old.id, 0, "quarantined", rcpts[p.quar[k]],
                           "quarantine " + (*ids)[k] + ": " + p.why(p.quar[k]) + "; " + detail, old.tenant});
      }
      for (size_t i : p.del)
        tracker_.record({old.id, 0, "deleted", rcpts[i], "by policy: " + p.why(i) + "; " + detail, old.tenant});
      tracker_.record({old.id, 0, "scanned", "", "rescanned: " + detail + "; " + p.action(), old.tenant});
      // The old copy goes only once every new part is on stable storage.
      struct Join {
        std::mutex mu;
        size_t left = 0;
        bool failed = false;
        std::vector<queue::MessageMeta> parts;
      };
      auto join = std::make_shared<Join>();
      join->left = p.send.size();
      for (auto& [key, group] : p.send) {
        queue::MessageMeta fresh = old;
        fresh.id = queue::make_queue_id();
        fresh.scan_pending = false;
        fresh.recipients.clear();
        for (size_t i : group) fresh.recipients.push_back(view.recipients[i]);
        tracker_.record({old.id, 0, "scanned", "", "rescanned as " + fresh.id + ": " + detail, old.tenant});
        std::string tag = key.first ? opt_.subject_tag : "";
        // The spooled copy starts with our Received: field; the verdict goes right below it.
        std::string scanned = std::string(all.substr(0, first_end)) +
                              scan::apply_verdict(key.second + std::string(all.substr(first_end)), v, t,
                                                  opt_.hostname, tag);
        spool_.submit(fresh, std::move(scanned), [this, join, old_id = old.id, fresh, detail](Status st) {
          std::unique_lock lk(join->mu);
          if (st) {
            join->parts.push_back(fresh);
            tracker_.record({fresh.id, 0, "scanned", "", "rescan of " + old_id + ": " + detail, fresh.tenant});
          } else {
            join->failed = true;
          }
          if (--join->left > 0) return;
          if (join->failed) {
            // Keep the old copy for the next rescan; drop the new parts that did get written.
            for (auto& part : join->parts) spool_.remove(part.id, "rescan incomplete");
            return;
          }
          lk.unlock();
          if (!queue_) return;
          queue_->replace(old_id, join->parts[0]);
          for (size_t k = 1; k < join->parts.size(); ++k) queue_->enqueue(join->parts[k]);
        });
      }
      if (p.send.empty()) {
        // Nothing left to deliver: every pending recipient was quarantined or deleted.
        if (queue_) (void)queue_->remove(old.id, "rescanned: " + p.action());
        else spool_.remove(old.id, "rescanned: " + p.action());
      }
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
  std::lock_guard lk(dir_mu_);
  dir_ = std::move(d);
  policy_ = std::move(p);
}

void Gateway::set_services(tenancy::TenancyService* tenancy, quarantine::Quarantine* quarantine) {
  std::lock_guard lk(dir_mu_);
  tenancy_ = tenancy;
  quarantine_ = quarantine;
}

std::shared_ptr<const policy::Snapshot> Gateway::policies() const {
  std::lock_guard lk(dir_mu_);
  return policy_;
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
