// The queue manager: schedules every message in the spool for delivery to its recipients'
// destinations, limits concurrency per destination, records per-recipient results, retries with
// backoff, and returns delivery status notifications (RFC 3464) for what finally fails.
// Every method is thread-safe.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/smtp_client.h"
#include "ops/tracker.h"
#include "queue/retry.h"
#include "queue/spool.h"

namespace mm::queue {

// Where mail for a domain goes. Implemented by the gateway (tenant routes, smarthost).
class Router {
 public:
  virtual ~Router() = default;
  virtual std::optional<net::Destination> route(const std::string& domain) = 0;
};

struct ManagerOptions {
  RetryPolicy retry;
  uint32_t destination_concurrency = 20;
  std::string hostname;  // reporting MTA in DSNs
};

class QueueManager {
 public:
  QueueManager(net::EventLoop&, Spool&, Router&, net::SmtpClient&, ops::Tracker&, ManagerOptions);
  ~QueueManager();
  // Schedules every message already in the spool (after a restart) and starts the scheduler tick.
  void start();
  // A freshly accepted message: attempt delivery now.
  void enqueue(const MessageMeta&);
  // Makes every deferred message due now; returns how many.
  size_t flush();
  Status hold(const std::string& id);
  Status release(const std::string& id);
  // Deletes a message without delivery (no DSN).
  Status remove(const std::string& id, const std::string& reason = "deleted by operator");
  // A message held for a rescan was scanned again and re-spooled as `fresh` (already durable):
  // the old copy goes, the new one is delivered.
  void replace(const std::string& old_id, const MessageMeta& fresh);
  // Stops starting new deliveries; running ones finish. idle() tells when none run.
  void stop();
  bool idle() const;
  struct Stats { size_t messages = 0, in_flight = 0, deferred = 0, held = 0; uint64_t delivered = 0, bounced = 0, deferrals = 0; };
  Stats stats() const;

 private:
  struct Job;
  struct Attempt;
  struct Entry {
    MessageMeta meta;
    bool in_flight = false, remove_after = false;
    int64_t due = 0;  // 0 = not scheduled
  };
  void schedule_locked(Entry&, int64_t when);
  void tick();
  void start_attempt_locked(const std::string& id, std::vector<std::shared_ptr<Job>>& out);
  void pump_locked(const std::string& dest, std::vector<std::shared_ptr<Job>>& out);
  void run_jobs(std::vector<std::shared_ptr<Job>>& jobs);
  void job_done(std::shared_ptr<Job>, net::DeliveryReport);
  void finish_attempt_locked(Entry&, Attempt&);
  void send_dsn(const MessageMeta&, const std::vector<Recipient>& failed, const std::string& body);

  net::EventLoop& loop_;
  Spool& spool_;
  Router& router_;
  net::SmtpClient& client_;
  ops::Tracker& tracker_;
  ManagerOptions opt_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::multimap<int64_t, std::string> due_;
  struct DestQueue { uint32_t active = 0; std::deque<std::shared_ptr<Job>> waiting; };
  std::map<std::string, DestQueue> dests_;
  bool stopped_ = false;
  Stats counters_;
};

}  // namespace mm::queue
