#include "queue/manager.h"

#include <algorithm>

#include "ops/log.h"
#include "queue/dsn.h"
#include "util/clock.h"

namespace mm::queue {

struct QueueManager::Attempt {
  std::shared_ptr<const std::string> body;
  size_t jobs_left = 0;
  std::vector<std::pair<size_t, net::RcptResult>> results;  // recipient index -> result
  std::string peer, tls;
};

struct QueueManager::Job {
  std::string id;
  std::string dest_key;
  net::Destination dest;
  std::vector<size_t> rcpts;  // indexes into the message's recipients
  net::OutboundMessage msg;
  std::shared_ptr<Attempt> attempt;
};

namespace {

std::string domain_of(const std::string& addr) {
  auto at = addr.rfind('@');
  std::string d = at == std::string::npos ? "" : addr.substr(at + 1);
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  return d;
}

std::string enhanced_of(const std::string& reply, int code) {
  // "550 5.1.1 text" -> "5.1.1"; otherwise derive a generic one from the code class.
  auto sp = reply.find(' ');
  if (sp != std::string::npos) {
    auto rest = reply.substr(sp + 1);
    auto sp2 = rest.find(' ');
    auto tok = rest.substr(0, sp2);
    if (tok.size() >= 5 && tok[1] == '.' && (tok[0] == '2' || tok[0] == '4' || tok[0] == '5')) return tok;
  }
  return code / 100 == 5 ? "5.0.0" : "4.0.0";
}

}  // namespace

QueueManager::QueueManager(net::EventLoop& loop, Spool& spool, Router& router,
                           net::SmtpClient& client, ops::Tracker& tracker, ManagerOptions opt)
    : loop_(loop), spool_(spool), router_(router), client_(client), tracker_(tracker),
      opt_(std::move(opt)) {}

QueueManager::~QueueManager() = default;

void QueueManager::start() {
  {
    std::lock_guard lk(mu_);
    int64_t now = now_s();
    for (auto& m : spool_.list()) {
      auto& e = entries_[m.id];
      e.meta = m;
      if (!m.held && !m.scan_pending) schedule_locked(e, std::max(now, m.next_attempt_s));
    }
    if (!entries_.empty())
      log::info("queue.recovered", JsonLine().add("messages", entries_.size()));
  }
  loop_.every(1000, [this] { tick(); });
  loop_.post([this] { tick(); });
}

void QueueManager::schedule_locked(Entry& e, int64_t when) {
  e.due = when;
  due_.emplace(when, e.meta.id);
}

void QueueManager::enqueue(const MessageMeta& meta) {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lk(mu_);
    auto& e = entries_[meta.id];
    e.meta = meta;
    if (meta.held || meta.scan_pending) return;
    if (stopped_) {
      schedule_locked(e, now_s());
      return;
    }
    start_attempt_locked(meta.id, jobs);
  }
  run_jobs(jobs);
}

void QueueManager::tick() {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    int64_t now = now_s();
    while (!due_.empty() && due_.begin()->first <= now) {
      auto [when, id] = *due_.begin();
      due_.erase(due_.begin());
      auto it = entries_.find(id);
      if (it == entries_.end() || it->second.due != when || it->second.in_flight ||
          it->second.meta.held || it->second.meta.scan_pending)
        continue;
      it->second.due = 0;
      start_attempt_locked(id, jobs);
    }
  }
  run_jobs(jobs);
}

void QueueManager::start_attempt_locked(const std::string& id,
                                        std::vector<std::shared_ptr<Job>>& out) {
  auto& e = entries_.at(id);
  e.in_flight = true;
  auto attempt = std::make_shared<Attempt>();
  auto body = spool_.read_body(id);
  std::map<std::string, std::shared_ptr<Job>> by_domain;
  for (size_t i = 0; i < e.meta.recipients.size(); ++i) {
    const auto& r = e.meta.recipients[i];
    if (r.status != RcptStatus::Pending) continue;
    if (!body) {
      attempt->results.push_back({i, {451, "451 4.3.0 cannot read the message from the spool: " + body.error()}});
      continue;
    }
    std::string domain = domain_of(r.address);
    auto& job = by_domain[domain];
    if (!job) {
      auto dest = router_.route(domain);
      if (!dest) {
        attempt->results.push_back(
            {i, {451, "451 4.4.0 no route to " + domain +
                          ": not a protected domain and no smarthost configured"}});
        by_domain.erase(domain);
        continue;
      }
      job = std::make_shared<Job>();
      job->id = id;
      job->dest = std::move(*dest);
      job->dest_key = job->dest.key;
      job->attempt = attempt;
      job->msg.sender = e.meta.sender;
      job->msg.smtputf8 = e.meta.smtputf8;
      job->msg.eightbit = e.meta.eightbit;
    }
    job->rcpts.push_back(i);
    job->msg.recipients.push_back(r.address);
  }
  if (body) attempt->body = std::make_shared<const std::string>(std::move(*body));
  attempt->jobs_left = by_domain.size();
  if (by_domain.empty()) {
    finish_attempt_locked(e, *attempt);
    return;
  }
  std::set<std::string> touched;
  for (auto& [domain, job] : by_domain) {
    (void)domain;
    job->msg.body = attempt->body;
    dests_[job->dest_key].waiting.push_back(job);
    touched.insert(job->dest_key);
  }
  for (auto& key : touched) pump_locked(key, out);
}

void QueueManager::pump_locked(const std::string& key, std::vector<std::shared_ptr<Job>>& out) {
  auto& q = dests_[key];
  while (q.active < opt_.destination_concurrency && !q.waiting.empty()) {
    ++q.active;
    out.push_back(std::move(q.waiting.front()));
    q.waiting.pop_front();
  }
}

void QueueManager::run_jobs(std::vector<std::shared_ptr<Job>>& jobs) {
  for (auto& job : jobs) {
    client_.deliver(job->dest, job->msg, [this, job](net::DeliveryReport rep) {
      job_done(job, std::move(rep));
    });
  }
  jobs.clear();
}

void QueueManager::job_done(std::shared_ptr<Job> job, net::DeliveryReport rep) {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lk(mu_);
    auto& q = dests_[job->dest_key];
    --q.active;
    auto& a = *job->attempt;
    for (size_t k = 0; k < job->rcpts.size(); ++k) {
      net::RcptResult r = k < rep.rcpts.size() ? rep.rcpts[k] : net::RcptResult{451, "451 4.3.0 no result"};
      a.results.push_back({job->rcpts[k], std::move(r)});
    }
    if (!rep.peer.empty()) a.peer = rep.peer;
    if (!rep.tls.empty()) a.tls = rep.tls;
    if (--a.jobs_left == 0) {
      auto it = entries_.find(job->id);
      if (it != entries_.end()) finish_attempt_locked(it->second, a);
    }
    if (!stopped_) pump_locked(job->dest_key, jobs);
    if (q.active == 0 && q.waiting.empty()) dests_.erase(job->dest_key);
  }
  run_jobs(jobs);
}

void QueueManager::finish_attempt_locked(Entry& e, Attempt& a) {
  auto& m = e.meta;
  e.in_flight = false;
  std::vector<Recipient> failed;
  std::string last_error;
  const std::string via = a.peer.empty() ? "" : " via " + a.peer + (a.tls.empty() ? "" : " (" + a.tls + ")");
  for (auto& [idx, res] : a.results) {
    auto& r = m.recipients[idx];
    r.last_reply = res.reply;
    store::TrackingEvent ev{m.id, 0, "", r.address, res.reply + via, m.tenant};
    if (res.code / 100 == 2) {
      r.status = RcptStatus::Delivered;
      ev.event = "delivered";
      ++counters_.delivered;
    } else if (res.code / 100 == 5) {
      r.status = RcptStatus::Failed;
      ev.event = "bounced";
      failed.push_back(r);
      ++counters_.bounced;
    } else {
      ev.event = "deferred";
      last_error = res.reply;
      ++counters_.deferrals;
    }
    tracker_.record(std::move(ev));
  }
  bool pending = std::any_of(m.recipients.begin(), m.recipients.end(),
                             [](const Recipient& r) { return r.status == RcptStatus::Pending; });
  int64_t now = now_s();
  if (pending) {
    ++m.attempts;
    m.last_error = last_error;
    auto next = next_attempt(opt_.retry, m.id, m.attempts, m.arrival_s, now);
    if (!next) {
      for (auto& r : m.recipients) {
        if (r.status != RcptStatus::Pending) continue;
        r.status = RcptStatus::Failed;
        r.last_reply = "message expired after " + std::to_string((now - m.arrival_s) / 3600) +
                       " hours in the queue; last error: " + r.last_reply;
        failed.push_back(r);
        ++counters_.bounced;
        tracker_.record({m.id, 0, "bounced", r.address, r.last_reply, m.tenant});
      }
      pending = false;
    } else {
      m.next_attempt_s = *next;
    }
  }
  if (!failed.empty() && !m.sender.empty() && !m.is_dsn && !e.remove_after) {
    auto body = a.body;
    MessageMeta copy = m;
    loop_.post([this, copy, failed, body] { send_dsn(copy, failed, body ? *body : std::string()); });
  }
  if (!pending || e.remove_after) {
    std::string id = m.id;
    spool_.remove(id, e.remove_after ? "deleted" : failed.empty() ? "delivered" : "finished");
    entries_.erase(id);
    return;
  }
  spool_.update(m);
  if (!m.held) schedule_locked(e, m.next_attempt_s);
}

void QueueManager::send_dsn(const MessageMeta& m, const std::vector<Recipient>& failed,
                            const std::string& body) {
  DsnInput in;
  in.reporting_mta = opt_.hostname;
  in.original_id = m.id;
  in.original_sender = m.sender;
  in.arrival_s = m.arrival_s;
  in.smtputf8 = m.smtputf8;
  in.original_headers = header_section(body);
  for (auto& r : failed) {
    DsnRecipient d;
    d.address = r.address;
    d.action = "failed";
    int code = std::atoi(r.last_reply.c_str());
    // code 0: no SMTP reply, i.e. "message expired ...; last error: 451 ..." (set at expiry)
    d.status = enhanced_of(r.last_reply, code == 0 ? 400 : code);
    if (d.status[0] != '5') d.status = "5.4.7";  // expired after temporary failures
    d.diagnostic = "smtp; " + r.last_reply;
    in.recipients.push_back(std::move(d));
  }
  MessageMeta dsn;
  dsn.id = make_queue_id();
  dsn.sender = "";
  dsn.recipients.push_back({m.sender, RcptStatus::Pending, ""});
  dsn.tenant = m.tenant;
  dsn.is_dsn = true;
  dsn.smtputf8 = m.smtputf8;
  dsn.arrival_s = now_s();
  dsn.next_attempt_s = dsn.arrival_s;
  dsn.client_ip = "127.0.0.1";
  dsn.helo = opt_.hostname;
  std::string text = build_dsn(in, "<" + dsn.id + "@" + opt_.hostname + ">", dsn.arrival_s);
  tracker_.record({m.id, 0, "dsn", m.sender, "delivery status notification queued as " + dsn.id, m.tenant});
  tracker_.record({dsn.id, 0, "queued", m.sender, "DSN for " + m.id, m.tenant});
  spool_.submit(dsn, std::move(text), [this, dsn](Status st) {
    if (!st) {
      log::error("queue.dsn_failed", JsonLine().add("queue_id", dsn.id).add("error", st.message()));
      return;
    }
    loop_.post([this, dsn] { enqueue(dsn); });
  });
}

size_t QueueManager::flush() {
  std::vector<std::shared_ptr<Job>> jobs;
  size_t n = 0;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return 0;
    for (auto& [id, e] : entries_) {
      if (e.in_flight || e.meta.held || e.meta.scan_pending) continue;
      e.due = 0;
      start_attempt_locked(id, jobs);
      ++n;
    }
  }
  run_jobs(jobs);
  return n;
}

Status QueueManager::hold(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::error("no message " + id + " in the queue");
  auto& e = it->second;
  if (e.meta.held) return Status::error("message " + id + " is already held");
  e.meta.held = true;
  e.due = 0;
  spool_.update(e.meta);
  tracker_.record({id, 0, "held", "", "held by operator", e.meta.tenant});
  return {};
}

Status QueueManager::release(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::error("no message " + id + " in the queue");
  auto& e = it->second;
  if (!e.meta.held) return Status::error("message " + id + " is not held");
  e.meta.held = false;
  e.meta.next_attempt_s = now_s();
  spool_.update(e.meta);
  if (!e.in_flight) schedule_locked(e, e.meta.next_attempt_s);
  tracker_.record({id, 0, "released", "", "released by operator", e.meta.tenant});
  return {};
}

Status QueueManager::remove(const std::string& id, const std::string& reason) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::error("no message " + id + " in the queue");
  tracker_.record({id, 0, "deleted", "", reason, it->second.meta.tenant});
  if (it->second.in_flight) {
    it->second.remove_after = true;  // the running attempt finishes, then it goes
    return {};
  }
  spool_.remove(id, "deleted");
  entries_.erase(it);
  return {};
}

void QueueManager::replace(const std::string& old_id, const MessageMeta& fresh) {
  {
    std::lock_guard lk(mu_);
    auto it = entries_.find(old_id);
    if (it != entries_.end() && !it->second.in_flight) entries_.erase(it);
    spool_.remove(old_id, "rescanned as " + fresh.id);
  }
  enqueue(fresh);
}

void QueueManager::stop() {
  std::lock_guard lk(mu_);
  stopped_ = true;
}

bool QueueManager::idle() const {
  std::lock_guard lk(mu_);
  for (auto& [id, e] : entries_) {
    (void)id;
    if (e.in_flight) return false;
  }
  return true;
}

QueueManager::Stats QueueManager::stats() const {
  std::lock_guard lk(mu_);
  Stats s = counters_;
  s.messages = entries_.size();
  for (auto& [id, e] : entries_) {
    (void)id;
    if (e.in_flight) ++s.in_flight;
    else if (e.meta.held) ++s.held;
    else if (e.meta.attempts > 0) ++s.deferred;
  }
  return s;
}

}  // namespace mm::queue
