#include "tenancy/tracking.h"

#include <sodium.h>

namespace mm::tenancy {

std::string sha256_hex(std::string_view data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : h) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string summary_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, 255)) out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
  return out;
}

Result<std::vector<store::MessageSummary>> TrackingSearch::search(const Scope& s, store::SummaryQuery q) {
  auto t = s.tenant_filter(q.tenant);
  if (!t) return t.status();
  q.tenant = *t;
  auto rcpts = s.recipient_filter(q.recipients);  // end users: their own mail only
  if (!rcpts) return std::vector<store::MessageSummary>{};
  q.recipients = *rcpts;
  return st_.tenancy().search_summaries(q);
}

Result<store::MailStats> TrackingSearch::stats(const Scope& s, store::StatsQuery& q) {
  if (s.role == Role::User) return Status::error("permission denied: end users see no statistics");
  auto t = s.tenant_filter(q.tenant);
  if (!t) return t.status();
  q.tenant = *t;
  if (!st_.api()) return Status::error("the store keeps no statistics");
  return st_.api()->mail_stats(q);
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
