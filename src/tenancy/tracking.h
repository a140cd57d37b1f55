// Scoped message-tracking search: operators search everything, tenant administrators and
// auditors their own tenant's mail, end users only mail to their own addresses. Searches the
// per-message summaries the gateway writes (sender, recipients, subject, Message-ID, queue id,
// client IP, verdict, decisions) and returns a message's event history.
#pragma once
#include <string>
#include <vector>

#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::tenancy {

class TrackingSearch {
 public:
  explicit TrackingSearch(store::Store& st) : st_(st) {}
  Result<std::vector<store::MessageSummary>> search(const Scope&, store::SummaryQuery);
  // Every event of the message with this queue id that the scope may see, oldest first.
  Result<std::vector<store::TrackingEvent>> history(const Scope&, const std::string& queue_id);

 private:
  store::Store& st_;
};

}  // namespace mm::tenancy
