// Quarantine: held messages, stored intact (var/quarantine/<tenant>/<queue id>.eml: mailmoat's
// Received: field followed by the bytes exactly as the client sent them, fsynced before the
// SMTP reply) with one index row per recipient in the store. Search, safe preview (decoded
// headers and text only), release (rescan with the current engine first, then the original
// bytes go through the normal queue, optionally approving the sender), delete, and expiry after
// the tenant's retention (default 30 days).
//
// A release may also report the message to the classifier as not spam (ReleaseOptions::not_spam):
// the original quarantined bytes (never a tagged copy) are learnt as ham into the stored model,
// and the Releaser's model_changed() lets a running server reload its engine. The model is shared
// by every tenant, so only operators and tenant administrators may report.
//
// Permissions per reason: operators and the tenant's administrators may view, release and delete
// anything of the tenant; auditors only view; end users see, preview, release and delete their
// own mailbox's items, release only the classes the tenant allows (TenantInfo::user_release) and
// never malware. Whoever releases, a rescan that now finds malware refuses the release.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scan/engine.h"
#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::queue {
class Spool;
class QueueManager;
}  // namespace mm::queue
namespace mm::ops {
class Tracker;
}

namespace mm::quarantine {

// What a release needs from the mail path: a scan with the current engine and a durable hand-off
// to the queue. SpoolReleaser below is the real one.
class Releaser {
 public:
  virtual ~Releaser() = default;
  virtual Result<scan::Verdict> rescan(std::shared_ptr<const std::string> raw, const scan::Envelope&) = 0;
  // Queues `body` for one recipient; returns the new queue id once it is on stable storage.
  virtual Result<std::string> deliver(const store::QuarantineItem&, std::string body) = 0;
  // Called after the stored classifier model changed (a release reported as not spam).
  virtual void model_changed() {}
};

struct ReleaseOptions {
  bool approve_sender = false;  // approve the sender for the recipient's mailbox
  bool not_spam = false;        // learn the original message as ham into the classifier
};

struct HoldRecipient {
  std::string address;
  std::string reason;  // effective class: spam, blocked, malware, ...
};

struct HoldRequest {
  std::string tenant, queue_id, sender, subject, message_id, client_ip;
  std::vector<HoldRecipient> recipients;
  std::string verdict;  // scanner class
  double score = 0;
  std::string symbols;
  std::string_view received;  // our Received: field
  std::string_view raw;       // the message as received
  int64_t now = 0;
};

struct ReleaseResult {
  std::string queue_id;  // of the delivered copy
  std::string verdict;   // the rescan's class and score
  bool approved = false;
  bool learnt = false;       // reported as not spam (the model changed or already knew it as ham)
  std::string learn_note;    // what the classifier did, or why it could not learn
};

class Quarantine {
 public:
  Quarantine(store::Store&, std::string dir);

  // Writes the message file (fsynced, with its directory) and the index rows; ids of the rows.
  Result<std::vector<std::string>> hold(const HoldRequest&);

  Result<std::vector<store::QuarantineItem>> search(const tenancy::Scope&, store::QuarantineQuery);
  Result<store::QuarantineItem> get(const tenancy::Scope&, const std::string& id);
  // Decoded headers and the visible text; never raw HTML, scripts or attachments.
  Result<std::string> preview(const tenancy::Scope&, const std::string& id);
  Result<ReleaseResult> release(const tenancy::Scope&, const std::string& id, bool approve_sender, Releaser&);
  Result<ReleaseResult> release(const tenancy::Scope&, const std::string& id, const ReleaseOptions&, Releaser&);
  Status remove(const tenancy::Scope&, const std::string& id);
  // Marks held items past their expiry as expired and deletes their files; returns how many.
  size_t expire(int64_t now);

  const std::string& dir() const { return dir_; }

 private:
  Result<store::QuarantineItem> visible(const tenancy::Scope&, const std::string& id);
  void drop_file_if_unused(const std::string& path);
  store::Store& st_;
  std::string dir_;
};

// Rescans with the given engine and submits to the spool (and the live queue manager, if any).
class SpoolReleaser : public Releaser {
 public:
  SpoolReleaser(queue::Spool&, queue::QueueManager* live, std::shared_ptr<const scan::Engine>, ops::Tracker*,
                int scan_timeout_ms = 20000);
  Result<scan::Verdict> rescan(std::shared_ptr<const std::string> raw, const scan::Envelope&) override;
  Result<std::string> deliver(const store::QuarantineItem&, std::string body) override;
  void model_changed() override {
    if (on_model_changed_) on_model_changed_();
  }
  // What model_changed() does (the server reloads its scan engine).
  void set_on_model_changed(std::function<void()> f) { on_model_changed_ = std::move(f); }
  // Queues any message (e.g. a digest) for one recipient; the new queue id once durable.
  Result<std::string> submit(const std::string& tenant, const std::string& sender, const std::string& recipient,
                             std::string body, const std::string& note);

 private:
  queue::Spool& spool_;
  queue::QueueManager* live_;
  std::shared_ptr<const scan::Engine> engine_;
  ops::Tracker* tracker_;
  int timeout_ms_;
  std::function<void()> on_model_changed_;
};

}  // namespace mm::quarantine
