#include "ops/tracker.h"

#include <chrono>

#include "ops/log.h"
#include "util/clock.h"

namespace mm::ops {

Tracker::Tracker(store::Store* store) : store_(store), thread_([this] { run(); }) {}

Tracker::~Tracker() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Tracker::record(store::TrackingEvent ev) {
  if (ev.ts_us == 0) ev.ts_us = now_us();
  JsonLine f;
  f.add("queue_id", ev.queue_id);
  if (!ev.tenant.empty()) f.add("tenant", ev.tenant);
  if (!ev.recipient.empty()) f.add("recipient", ev.recipient);
  if (!ev.detail.empty()) f.add("detail", ev.detail);
  std::string name = "track." + ev.event;
  log::write(ev.event == "bounced" || ev.event == "refused" ? log::Level::Warn : log::Level::Info,
             name.c_str(), f);
  if (!store_) return;
  {
    std::lock_guard lk(mu_);
    pending_.push_back(std::move(ev));
    ++queued_;
  }
  cv_.notify_one();
}

void Tracker::record_summary(store::MessageSummary summary) {
  if (!store_) return;
  if (summary.ts_us == 0) summary.ts_us = now_us();
  {
    std::lock_guard lk(mu_);
    pending_summaries_.push_back(std::move(summary));
    ++queued_;
  }
  cv_.notify_one();
}

void Tracker::flush() {
  if (!store_) return;
  std::unique_lock lk(mu_);
  uint64_t target = queued_;
  cv_.notify_one();
  flushed_.wait(lk, [&] { return written_ >= target; });
}

void Tracker::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !pending_.empty() || !pending_summaries_.empty(); });
    if (pending_.empty() && pending_summaries_.empty() && stop_) return;
    // Let a burst accumulate into one transaction.
    if (!stop_) cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return stop_; });
    std::vector<store::TrackingEvent> batch;
    batch.swap(pending_);
    std::vector<store::MessageSummary> summaries;
    summaries.swap(pending_summaries_);
    lk.unlock();
    auto st = store_->add_events(batch);
    if (!st) log::error("track.store_failed", JsonLine().add("error", st.message()).add("events", batch.size()));
    if (!summaries.empty()) {
      auto ss = store_->tenancy().add_summaries(summaries);
      if (!ss) log::error("track.store_failed", JsonLine().add("error", ss.message()).add("summaries", summaries.size()));
    }
    lk.lock();
    written_ += batch.size() + summaries.size();
    flushed_.notify_all();
  }
}

}  // namespace mm::ops
