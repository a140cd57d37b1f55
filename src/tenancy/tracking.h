// Scoped message-tracking search: operators search everything, tenant administrators and
// auditors their own tenant's mail, end users only mail to their own addresses. Searches the
// per-message summaries the gateway writes (sender, recipients, subject, Message-ID, queue id,
// client IP, verdict, decisions, attachment names and SHA-256) and returns a message's event history.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::tenancy {

// SHA-256 of `data`, lower-case hex (the attachment hashes of tracking summaries).
std::string sha256_hex(std::string_view data);
// An attachment name as kept in a summary line: control characters become '?', at most 255 bytes.
std::string summary_name(std::string_view name);

class TrackingSearch {
 public:
  explicit TrackingSearch(store::Store& st) : st_(st) {}
  Result<std::vector<store::MessageSummary>> search(const Scope&, store::SummaryQuery);
  // Every event of the message with this queue id that the scope may see, oldest first.
  Result<std::vector<store::TrackingEvent>> history(const Scope&, const std::string& queue_id);
  // The dashboard's counts: operators for every tenant (or the one asked for), administrators and
  // auditors for their own tenant; end users are refused. Narrows q.tenant to the tenant counted.
  Result<store::MailStats> stats(const Scope&, store::StatsQuery& q);

 private:
  store::Store& st_;
};

}  // namespace mm::tenancy
