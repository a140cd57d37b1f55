// Message tracking: every event of a message's life (received, queued, attempt, delivered,
// deferred, bounced, ...) goes to the store's tracking table and to the JSON log.
// record() never blocks on the database: events are written in batches by a background thread.
#pragma once
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.h"

namespace mm::ops {

class Tracker {
 public:
  explicit Tracker(store::Store* store);  // store may be null: log only
  ~Tracker();                             // writes what is pending
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Stamps ts_us when 0, logs the event and queues it for the store.
  void record(store::TrackingEvent ev);
  // Queues a per-message summary (tracking search) for the store, written with the events.
  void record_summary(store::MessageSummary summary);
  // Blocks until every event recorded so far is in the store.
  void flush();

 private:
  void run();
  store::Store* store_;
  std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::vector<store::TrackingEvent> pending_;
  std::vector<store::MessageSummary> pending_summaries_;
  uint64_t queued_ = 0, written_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mm::ops
