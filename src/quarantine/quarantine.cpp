#include "quarantine/quarantine.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "classifier/feedback.h"
#include "message/message.h"
#include "message/received.h"
#include "ops/log.h"
#include "ops/tracker.h"
#include "policy/policy.h"
#include "queue/manager.h"
#include "queue/spool.h"
#include "util/clock.h"

namespace mm::quarantine {
namespace {

namespace fs = std::filesystem;

std::string random_id() {
  unsigned char b[10];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

Status write_durable(const fs::path& path, std::string_view a, std::string_view b) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Status::error("cannot create " + path.parent_path().string() + ": " + ec.message());
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error("cannot write " + tmp.string());
  bool ok = true;
  for (std::string_view part : {a, b}) {
    while (ok && !part.empty()) {
      ssize_t n = ::write(fd, part.data(), part.size());
      if (n <= 0) ok = false;
      else part.remove_prefix(static_cast<size_t>(n));
    }
  }
  ok = ok && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::error("cannot write " + path.string());
  }
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("quarantined message file " + path + " is missing");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Only printable text (and newlines/tabs) in a preview.
std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c == '\n' || c == '\t' || c >= 0x20) out += c == 0x7f ? '?' : static_cast<char>(c);
    else if (c == '\r') continue;
    else out += '?';
  }
  if (s.size() > max) out += "\n[... truncated]";
  return out;
}

bool in_list(const std::string& csv, const std::string& v) {
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t c = csv.find(',', pos);
    if (csv.substr(pos, c == std::string::npos ? std::string::npos : c - pos) == v) return true;
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return false;
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out.empty() ? "_" : out;
}

}  // namespace

Quarantine::Quarantine(store::Store& st, std::string dir) : st_(st), dir_(std::move(dir)) {}

Result<std::vector<std::string>> Quarantine::hold(const HoldRequest& r) {
  int64_t days = 30;
  if (auto i = st_.tenancy().tenant_info(r.tenant)) days = i->quarantine_days;
  fs::path path = fs::path(dir_) / safe_name(r.tenant) / (safe_name(r.queue_id) + ".eml");
  if (auto st = write_durable(path, r.received, r.raw); !st) return st;
  std::vector<store::QuarantineItem> items;
  std::vector<std::string> ids;
  for (auto& rc : r.recipients) {
    store::QuarantineItem q;
    q.id = random_id();
    q.tenant = r.tenant;
    q.queue_id = r.queue_id;
    q.recipient = rc.address;
    q.sender = r.sender;
    q.subject = r.subject.substr(0, 998);
    q.message_id = r.message_id.substr(0, 998);
    q.client_ip = r.client_ip;
    q.verdict = r.verdict;
    q.score = r.score;
    q.reason = rc.reason;
    q.symbols = r.symbols;
    q.path = path.string();
    q.size = static_cast<int64_t>(r.received.size() + r.raw.size());
    q.received_at = r.now;
    q.expires_at = r.now + days * 86400;
    items.push_back(q);
    ids.push_back(q.id);
  }
  if (auto st = st_.tenancy().add_quarantine(items); !st) {
    std::error_code ec;
    fs::remove(path, ec);
    return st;
  }
  return ids;
}

Result<std::vector<store::QuarantineItem>> Quarantine::search(const tenancy::Scope& s, store::QuarantineQuery q) {
  auto t = s.tenant_filter(q.tenant);
  if (!t) return t.status();
  q.tenant = *t;
  auto rcpts = s.recipient_filter(q.recipients);  // end users: their own mailbox only
  if (!rcpts) return std::vector<store::QuarantineItem>{};
  q.recipients = *rcpts;
  return st_.tenancy().search_quarantine(q);
}

Result<store::QuarantineItem> Quarantine::visible(const tenancy::Scope& s, const std::string& id) {
  auto q = st_.tenancy().get_quarantine(id);
  // The same answer for "absent" and "not yours": ids of other tenants are not confirmed.
  if (!q || !s.can_read(q->tenant) || !s.owns_address(q->recipient))
    return Status::error("no quarantined message " + id);
  return *q;
}

Result<store::QuarantineItem> Quarantine::get(const tenancy::Scope& s, const std::string& id) { return visible(s, id); }

Result<std::string> Quarantine::preview(const tenancy::Scope& s, const std::string& id) {
  auto q = visible(s, id);
  if (!q) return q.status();
  if (q->status != "held") return Status::error("quarantined message " + id + " is " + q->status);
  auto data = read_file(q->path);
  if (!data) return data.status();
  size_t off = message::received_field_end(*data);
  auto msg = message::parse(std::make_shared<const std::string>(data->substr(off)));
  std::string out;
  for (auto& h : msg->headers) out += printable(h.name, 200) + ": " + printable(h.value, 2000) + "\n";
  out += "\n";
  out += printable(msg->body_text(), 64 << 10);
  if (!out.empty() && out.back() != '\n') out += '\n';
  size_t attachments = 0;
  for (auto& p : msg->parts)
    if (p.is_attachment) {
      if (attachments++ == 0) out += "\n";
      out += "[attachment: " + printable(p.filename.empty() ? "(no name)" : p.filename, 200) + ", " +
             p.content_type + ", " + std::to_string(p.decoded_size) + " bytes]\n";
    }
  return out;
}

Result<ReleaseResult> Quarantine::release(const tenancy::Scope& s, const std::string& id, bool approve_sender,
                                          Releaser& rel) {
  ReleaseOptions o;
  o.approve_sender = approve_sender;
  return release(s, id, o, rel);
}

Result<ReleaseResult> Quarantine::release(const tenancy::Scope& s, const std::string& id, const ReleaseOptions& opt,
                                          Releaser& rel) {
  const bool approve_sender = opt.approve_sender;
  auto q = visible(s, id);
  if (!q) return q.status();
  if (q->status != "held") return Status::error("quarantined message " + id + " is " + q->status + ", not held");
  if (s.role == tenancy::Role::Auditor) return Status::error("permission denied: auditors cannot release");
  // The classifier model is shared by every tenant: only administrators teach it.
  if (opt.not_spam && s.role != tenancy::Role::Operator && s.role != tenancy::Role::Admin)
    return Status::error("permission denied: only administrators report messages to the classifier");
  if (s.role == tenancy::Role::User) {
    if (q->verdict == "malware" || q->reason == "malware")
      return Status::error("permission denied: malware is never released by end users; ask your administrator");
    auto info = st_.tenancy().tenant_info(q->tenant);
    if (!info || !in_list(info->user_release, q->reason))
      return Status::error("permission denied: your organisation does not let users release " + q->reason +
                           " messages; ask your administrator");
  }
  auto data = read_file(q->path);
  if (!data) return data.status();
  size_t off = message::received_field_end(*data);
  auto raw = std::make_shared<const std::string>(data->substr(off));
  scan::Envelope env{q->client_ip, "", q->sender, {q->recipient}, false, q->tenant, nullptr, {}};
  auto v = rel.rescan(raw, env);
  if (!v) return Status::error("cannot release " + id + " now: " + v.error());
  ReleaseResult out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s score=%.2f", scan::to_string(v->cls), v->score);
  out.verdict = buf;
  if (v->cls == scan::Class::Malware)
    return Status::error("release refused: the current engine finds malware (" + out.verdict + ")");
  // Our Received: field, a note of the release, then the original bytes unchanged.
  std::shared_ptr<const message::Message> original;
  if (opt.not_spam) original = message::parse(raw);  // before `raw` is copied into the body
  std::string body = data->substr(0, off) + "X-Mailmoat-Released: " + id + " by " + s.actor + "; " +
                     rfc5322_date(now_s()) + "\r\n" + *raw;
  auto qid = rel.deliver(*q, std::move(body));
  if (!qid) return Status::error("cannot release " + id + ": " + qid.error());
  out.queue_id = *qid;
  if (auto st = st_.tenancy().set_quarantine_status(id, "released", now_s(), s.actor); !st)
    log::warn("quarantine.release_mark_failed", JsonLine().add("id", id).add("error", st.message()));
  drop_file_if_unused(q->path);
  log::info("quarantine.released", JsonLine().add("id", id).add("tenant", q->tenant).add("recipient", q->recipient)
                                       .add("by", s.actor).add("queue_id", out.queue_id).add("rescan", out.verdict));
  if (approve_sender && !q->sender.empty()) {
    policy::PolicyService ps(st_);
    auto owner = st_.tenancy().find_account(q->recipient);
    auto e = ps.add_sender(s, q->tenant, owner ? owner->address : "", "allow", q->sender, 0);
    out.approved = e.is_ok();
    if (!e) log::warn("quarantine.approve_failed", JsonLine().add("id", id).add("error", e.error()));
  }
  if (original) {
    // The message is already released: a learning failure is reported, not an error.
    auto model = classifier::load_model(st_);
    auto r = model ? classifier::learn_feedback(st_, *model, *original, false)
                   : Result<classifier::FeedbackOutcome>(model.status());
    if (!r) {
      out.learn_note = "not learnt: " + r.error();
      log::warn("quarantine.learn_failed", JsonLine().add("id", id).add("error", r.error()));
    } else {
      out.learnt = true;
      char b[96];
      std::snprintf(b, sizeof b, "spam probability %.4g -> %.4g", r->before, r->after);
      out.learn_note = std::string(r->what == classifier::Feedback::AlreadyLearned ? "already learnt as not spam"
                                   : r->what == classifier::Feedback::Relearned   ? "relearnt as not spam"
                                                                                  : "learnt as not spam") +
                       "; " + b;
      log::info("quarantine.learnt_ham", JsonLine().add("id", id).add("by", s.actor).add("note", out.learn_note));
      if (r->what != classifier::Feedback::AlreadyLearned) rel.model_changed();
    }
  }
  return out;
}

Status Quarantine::remove(const tenancy::Scope& s, const std::string& id) {
  auto q = visible(s, id);
  if (!q) return q.status();
  if (s.role == tenancy::Role::Auditor) return Status::error("permission denied: auditors cannot delete");
  if (auto st = st_.tenancy().set_quarantine_status(id, "deleted", now_s(), s.actor); !st) return st;
  drop_file_if_unused(q->path);
  log::info("quarantine.deleted", JsonLine().add("id", id).add("tenant", q->tenant).add("by", s.actor));
  return Status::ok();
}

size_t Quarantine::expire(int64_t now) {
  size_t n = 0;
  for (auto& q : st_.tenancy().expired_quarantine(now)) {
    if (!st_.tenancy().set_quarantine_status(q.id, "expired", now, "expiry")) continue;
    drop_file_if_unused(q.path);
    ++n;
  }
  if (n) log::info("quarantine.expired", JsonLine().add("items", n));
  return n;
}

void Quarantine::drop_file_if_unused(const std::string& path) {
  if (st_.tenancy().count_held_with_path(path) > 0) return;
  std::error_code ec;
  fs::remove(path, ec);
}

// ---------------------------------------------------------------- SpoolReleaser

SpoolReleaser::SpoolReleaser(queue::Spool& spool, queue::QueueManager* live, std::shared_ptr<const scan::Engine> e,
                             ops::Tracker* tracker, int scan_timeout_ms)
    : spool_(spool), live_(live), engine_(std::move(e)), tracker_(tracker), timeout_ms_(scan_timeout_ms) {}

Result<scan::Verdict> SpoolReleaser::rescan(std::shared_ptr<const std::string> raw, const scan::Envelope& env) {
  if (!engine_) return Status::error("scanning is disabled; a release needs a rescan");
  scan::Verdict v;
  try {
    v = engine_->scan(message::parse(raw), env,
                      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_));
  } catch (const std::exception& e) {
    return Status::error(std::string("rescan failed: ") + e.what());
  }
  if (v.failed) return Status::error("rescan failed: " + v.error);
  return v;
}

Result<std::string> SpoolReleaser::deliver(const store::QuarantineItem& q, std::string body) {
  auto id = submit(q.tenant, q.sender, q.recipient, std::move(body),
                   "released from quarantine " + q.id + " (" + q.queue_id + ")");
  if (id && tracker_)
    tracker_->record({q.queue_id, 0, "released", q.recipient, "quarantine " + q.id + " released as " + *id, q.tenant});
  return id;
}

Result<std::string> SpoolReleaser::submit(const std::string& tenant, const std::string& sender,
                                          const std::string& recipient, std::string body, const std::string& note) {
  queue::MessageMeta m;
  m.id = queue::make_queue_id();
  m.sender = sender;
  m.recipients.push_back({recipient, queue::RcptStatus::Pending, ""});
  m.tenant = tenant;
  m.arrival_s = m.next_attempt_s = now_s();
  for (unsigned char c : body)
    if (c >= 0x80) {
      m.eightbit = true;
      break;
    }
  std::promise<Status> done;
  auto fut = done.get_future();
  spool_.submit(m, std::move(body), [&done](Status st) { done.set_value(st); });
  auto st = fut.get();
  if (!st) return st;
  if (tracker_) tracker_->record({m.id, 0, "received", recipient, note, tenant});
  if (live_) live_->enqueue(m);
  return m.id;
}

}  // namespace mm::quarantine
