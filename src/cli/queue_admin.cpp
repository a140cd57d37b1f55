#include "cli/queue_admin.h"

#include <cstdio>

#include "util/clock.h"
#include "util/json_line.h"

namespace mm::cli {
namespace {

const char* status_name(queue::RcptStatus s) {
  switch (s) {
    case queue::RcptStatus::Pending: return "pending";
    case queue::RcptStatus::Delivered: return "delivered";
    case queue::RcptStatus::Failed: return "failed";
  }
  return "?";
}

std::string meta_json(const queue::MessageMeta& m) {
  std::string rcpts = "[";
  for (size_t i = 0; i < m.recipients.size(); ++i) {
    auto& r = m.recipients[i];
    if (i) rcpts += ',';
    rcpts += JsonLine().add("address", r.address).add("status", status_name(r.status))
                 .add("last_reply", r.last_reply).str();
  }
  rcpts += "]";
  return JsonLine()
      .add("id", m.id)
      .add("sender", m.sender)
      .add("tenant", m.tenant)
      .add("size", m.size)
      .add("arrival", iso8601_us(m.arrival_s * 1000000))
      .add("next_attempt", iso8601_us(m.next_attempt_s * 1000000))
      .add("attempts", static_cast<int64_t>(m.attempts))
      .add("held", m.held)
      .add("scan_pending", m.scan_pending)
      .add("dsn", m.is_dsn)
      .add("client_ip", m.client_ip)
      .add("helo", m.helo)
      .add("last_error", m.last_error)
      .add_raw("recipients", rcpts)
      .str();
}

std::string meta_text(const queue::MessageMeta& m) {
  char head[512];
  std::snprintf(head, sizeof head, "%-18s %9llu  %s  %-8s <%s>%s\n", m.id.c_str(),
                static_cast<unsigned long long>(m.size),
                iso8601_us(m.arrival_s * 1000000).substr(0, 19).c_str(),
                m.held ? "held" : m.scan_pending ? "rescan" : m.attempts > 0 ? "deferred" : "active",
                m.sender.c_str(),
                m.is_dsn ? " (bounce)" : "");
  std::string out = head;
  for (auto& r : m.recipients) {
    out += "    -> <" + r.address + "> " + status_name(r.status);
    if (!r.last_reply.empty()) out += ": " + r.last_reply;
    out += "\n";
  }
  if (m.held && !m.last_error.empty()) out += "    " + m.last_error + "\n";
  if (m.attempts > 0)
    out += "    " + std::to_string(m.attempts) + " attempt(s), next at " +
           iso8601_us(m.next_attempt_s * 1000000).substr(0, 19) + "\n";
  return out;
}

}  // namespace

Result<std::string> queue_command(queue::Spool& spool, const std::vector<std::string>& args,
                                  queue::QueueManager* live) {
  if (args.size() < 2 || args[0] != "queue") return Status::error("unknown request");
  const std::string& op = args[1];
  auto need_id = [&]() -> Result<queue::MessageMeta> {
    if (args.size() < 3) return Status::error("a queue id is required");
    auto m = spool.get(args[2]);
    if (!m) return Status::error("no message " + args[2] + " in the queue");
    return *m;
  };
  if (op == "list") {
    bool json = args.size() > 2 && args[2] == "json";
    std::string out;
    auto all = spool.list();
    for (auto& m : all) out += json ? meta_json(m) + "\n" : meta_text(m);
    if (!json && !all.empty()) out += "-- " + std::to_string(all.size()) + " message(s)\n";
    return out;
  }
  if (op == "show") {
    auto m = need_id();
    if (!m) return m.status();
    bool json = args.size() > 3 && args[3] == "json";
    return json ? meta_json(*m) : meta_text(*m);
  }
  if (op == "flush") {
    if (live) return "flushed: " + std::to_string(live->flush()) + " message(s) are being attempted now\n";
    size_t n = 0;
    for (auto m : spool.list()) {
      if (m.held) continue;
      m.next_attempt_s = now_s();
      spool.update(m);
      ++n;
    }
    spool.flush();
    return "no server is running: " + std::to_string(n) +
           " message(s) will be attempted as soon as it starts\n";
  }
  if (op == "hold" || op == "release" || op == "delete") {
    auto m = need_id();
    if (!m) return m.status();
    const std::string& id = m->id;
    if (live) {
      Status st = op == "hold" ? live->hold(id) : op == "release" ? live->release(id) : live->remove(id);
      if (!st) return st;
    } else if (op == "delete") {
      spool.remove(id, "deleted by operator");
      spool.flush();
    } else {
      bool hold = op == "hold";
      if (m->held == hold) return Status::error("message " + id + (hold ? " is already held" : " is not held"));
      m->held = hold;
      if (!hold) m->next_attempt_s = now_s();
      spool.update(*m);
      spool.flush();
    }
    return std::string(op == "hold" ? "held " : op == "release" ? "released " : "deleted ") + id + "\n";
  }
  return Status::error("unknown queue command '" + op + "'");
}

}  // namespace mm::cli
