// The policy on the mail path: after a scan (at DATA, or a rescan of mail accepted while the
// scanner failed) the tenant's policy decides per recipient, and the recipients are split by
// decision into spooled copies (deliver, tag; with content-rule headers), quarantine, delete or
// one reject for the whole transaction.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>

#include "gateway/internal.h"
#include "message/message.h"
#include "tenancy/tracking.h"
#include "ops/log.h"
#include "scan/headers.h"
#include "util/clock.h"

namespace mm::gateway {
namespace {

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
                              const scan::Thresholds& t, const scan::AuthFacts& auth) {
  policy::MessageFacts f;
  f.msg = msg;
  f.size = msg && msg->raw ? msg->raw->size() : 0;
  f.tenant = m.tenant;
  f.envelope_sender = m.sender;
  f.from_address = msg ? msg->from.address : "";
  f.cls = v.cls;
  f.score = v.score;
  f.high = t.reject;
  // An approval applies only to mail authenticated for the approved domain: the domains with an
  // SPF or DKIM pass (auth off: none, so approvals apply only where the tenant allows
  // unauthenticated ones).
  auto add = [&f](std::string d) {
    for (auto& ch : d) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!d.empty() && std::find(f.auth.aligned_pass_domains.begin(), f.auth.aligned_pass_domains.end(), d) ==
                          f.auth.aligned_pass_domains.end())
      f.auth.aligned_pass_domains.push_back(std::move(d));
  };
  if (auth.evaluated) {
    if (auth.spf == "pass") add(auth.spf_domain);
    for (auto& d : auth.dkim)
      if (d.result == "pass") add(d.domain);
    if (auth.dmarc == "pass") add(auth.dmarc_domain);
    // The sender's published policy decides whether a failure is the tenant's business: p=none
    // (or a message outside pct) only reports.
    f.dmarc_fail = auth.dmarc == "fail" && (auth.dmarc_policy == "reject" || auth.dmarc_policy == "quarantine");
  }
  return f;
}

// The delivery recipients of one delivered recipient: the content rules' redirect address instead
// of it, plus their copies (each address once per part); tracked.
void add_delivery(std::vector<queue::Recipient>& out, const queue::Recipient& r, const policy::Decision& d,
                  ops::Tracker& tr, const std::string& qid, const std::string& tenant) {
  auto add = [&](const std::string& address) {
    for (auto& x : out)
      if (x.address == address) return;
    queue::Recipient n;
    n.address = address;
    out.push_back(std::move(n));
  };
  if (d.redirect.empty()) {
    if (std::none_of(out.begin(), out.end(), [&](const queue::Recipient& x) { return x.address == r.address; }))
      out.push_back(r);
  } else {
    add(d.redirect);
    tr.record({qid, 0, "redirected", r.address, "to " + d.redirect + " (" + d.source + ")", tenant});
  }
  for (auto& c : d.copies) {
    add(c);
    tr.record({qid, 0, "copied", r.address, "copy to " + c, tenant});
  }
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
  // Malware, unscannable and phishing verdicts name the part, file or URL that caused them.
  if (v.cls == scan::Class::Malware || v.cls == scan::Class::Unscannable || v.cls == scan::Class::Phishing)
    hr.symbols += "; " + class_reason(v, v.cls, 1000);
  hr.received = received;
  hr.raw = raw;
  hr.now = now;
  for (size_t i : p.quar) hr.recipients.push_back({m.recipients[i].address, p.dec[i].cls});
  return hr;
}

}  // namespace

void Gateway::apply_policy(std::shared_ptr<Accepted> a, std::shared_ptr<const std::string> raw,
                           std::shared_ptr<const message::Message> msg, const scan::Verdict& v,
                           const scan::Thresholds& t, std::function<void(smtp::Reply)> done) {
  auto& m = a->meta;
  int64_t now = now_s();
  std::vector<std::string> rcpts;
  for (auto& r : m.recipients) rcpts.push_back(r.address);
  Plan p = make_plan(*policies(), facts_of(m, msg.get(), v, t, a->env.auth), rcpts, true, quarantine_ != nullptr, now);
  const std::string vd = verdict_detail(v);
  if (tenancy_ && !m.tenant.empty()) {
    // Accounts in use: recipients of mail that is delivered. Spam to made-up addresses (a
    // dictionary attack on a domain without recipient validation) does not count against the
    // licence. Counting raises alerts only; it never drops mail.
    std::vector<std::string> used;
    for (auto* group : {&p.deliver, &p.tag})
      for (size_t i : *group) used.push_back(rcpts[i]);
    if (!used.empty()) tenancy_->note_seen(m.tenant, used, now);
  }
  auto summary = [&](const std::string& action) {
    std::string all;
    for (auto& r : rcpts) all += (all.empty() ? "" : ",") + r;
    store::MessageSummary sum{m.id, m.tenant, now_us(), m.sender, all, msg ? msg->subject : "",
                              msg ? msg->message_id : "", m.client_ip, scan::to_string(v.cls), v.score, action, "", ""};
    // Attachments for tracking search: names and the SHA-256 of the decoded bytes (only when all
    // of them were kept; a part over the parser's limit has no hash).
    if (msg)
      for (auto& part : msg->parts) {
        if (!part.is_attachment) continue;
        sum.attachment_names += tenancy::summary_name(part.filename) + "\n";
        if (part.data.size() == part.decoded_size) sum.attachment_sha256 += tenancy::sha256_hex(part.data) + "\n";
      }
    tracker_.record_summary(std::move(sum));
  };

  if (p.all_reject) {
    // The reply names class, score and a reference; the symbols stay in tracking (no recipe for
    // spammers), where an administrator finds them by the reference.
    char buf[160];
    std::snprintf(buf, sizeof buf, "Message refused as %s (score %.1f, reference %s)",
                  p.dec[0].cls == "blocked" ? "blocked sender" : p.dec[0].cls.c_str(), v.score, m.id.c_str());
    std::string text = buf;
    // Malware (or a blocked attachment) is named with its part and file: the sender must know.
    if (v.cls == scan::Class::Malware && p.dec[0].cls == "malware")
      text = "Message refused as malware: " + class_reason(v, scan::Class::Malware) + " (reference " + m.id + ")";
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
      add_delivery(sub->meta.recipients, m.recipients[i], p.dec[i], tracker_, m.id, m.tenant);
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

void Gateway::requeue_rescanned(const queue::MessageMeta& old, std::shared_ptr<const std::string> raw,
                                std::shared_ptr<const message::Message> msg, const scan::Verdict& v,
                                const scan::Thresholds& t, const scan::AuthFacts& auth) {
  // Accepted already: the policy decides per recipient, but nothing is bounced (no
  // backscatter): a reject becomes a quarantine.
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
  int64_t now = now_s();
  Plan p = make_plan(*policies(), facts_of(view, msg.get(), v, t, auth), rcpts, false, quarantine_ != nullptr, now);
  if (!p.quar.empty()) {
    auto ids = quarantine_->hold(
        hold_request(view, msg.get(), v, p, all.substr(0, first_end), all.substr(first_end), now));
    if (!ids) {
      log::warn("quarantine.write_failed", JsonLine().add("queue_id", old.id).add("error", ids.error()));
      return;  // stays pending; tried again at the next rescan
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
    for (size_t i : group) add_delivery(fresh.recipients, view.recipients[i], p.dec[i], tracker_, old.id, old.tenant);
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

void Gateway::set_services(tenancy::TenancyService* tenancy, quarantine::Quarantine* quarantine) {
  std::lock_guard lk(dir_mu_);
  tenancy_ = tenancy;
  quarantine_ = quarantine;
}

std::shared_ptr<const policy::Snapshot> Gateway::policies() const {
  std::lock_guard lk(dir_mu_);
  return policy_;
}

}  // namespace mm::gateway
