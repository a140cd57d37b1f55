#include "tenancy/tracking.h"

namespace mm::tenancy {

Result<std::vector<store::MessageSummary>> TrackingSearch::search(const Scope& s, store::SummaryQuery q) {
  auto t = s.tenant_filter(q.tenant);
  if (!t) return t.status();
  q.tenant = *t;
  auto rcpts = s.recipient_filter(q.recipients);  // end users: their own mail only
  if (!rcpts) return std::vector<store::MessageSummary>{};
  q.recipients = *rcpts;
  return st_.tenancy().search_summaries(q);
}

Result<std::vector<store::TrackingEvent>> TrackingSearch::history(const Scope& s, const std::string& queue_id) {
  if (queue_id.empty()) return Status::error("a queue id is required");
  store::TrackingQuery q;
  q.queue_id = queue_id;
  q.limit = 10000;
  if (!s.is_operator()) {
    if (auto st = s.can_read(s.tenant); !st) return st;
    q.tenant = s.tenant;  // events of other tenants never match
  }
  auto events = st_.query_events(q);
  if (s.role == Role::User) {
    bool mine = false;
    for (auto& e : events) mine = mine || (!e.recipient.empty() && s.owns_address(e.recipient));
    if (!mine) return std::vector<store::TrackingEvent>{};
    std::erase_if(events, [&](const store::TrackingEvent& e) {
      return !e.recipient.empty() && !s.owns_address(e.recipient);
    });
  }
  return events;
}

}  // namespace mm::tenancy
