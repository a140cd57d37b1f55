// End-user quarantine digests: a periodic mail to each recipient listing the messages newly held
// for them (sender, subject, reason) with signed, expiring, single-purpose links: release,
// release and approve the sender, block the sender. A link is a token
//   base64url("v1|<action>|<item id>|<expires unix s>|<recipient>") "." base64url(HMAC-SHA256)
// under a 32-byte key kept in the store (blob "quarantine_link_key", made on first use). Redeeming
// a link acts as the end user of that mailbox, with the end user's permissions (never malware).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "quarantine/quarantine.h"

namespace mm::quarantine {

enum class LinkAction { Release, ReleaseApprove, Block };
const char* to_string(LinkAction);

struct LinkClaim {
  LinkAction action = LinkAction::Release;
  std::string item_id;
  std::string recipient;
  int64_t expires = 0;  // unix s
};

class LinkSigner {
 public:
  explicit LinkSigner(std::string key);  // 32 bytes
  // The store's key, created (random) when absent.
  static Result<LinkSigner> from_store(store::Store&);
  std::string sign(const LinkClaim&) const;
  // The claim of a genuine, unexpired token; an error for anything else.
  Result<LinkClaim> verify(const std::string& token, int64_t now) const;

 private:
  std::string key_;
};

struct DigestOptions {
  std::string base_url;        // links are <base_url>?t=<token>
  std::string from;            // From: address of the digest
  std::string hostname;        // for Message-ID
  int64_t link_ttl_s = 7 * 86400;
};

struct Digest {
  std::string tenant, recipient;
  size_t items = 0;
  std::string message;  // the complete digest mail (CRLF)
};

// One digest per recipient with items held since `since` (unix s) and still held; only the
// tenant's when `tenant` is given.
std::vector<Digest> build_digests(store::Store&, const LinkSigner&, int64_t since, int64_t now, const DigestOptions&,
                                  const std::string& tenant = "");

// Digests for every tenant of the items held since that tenant's last run (remembered in the
// store's blob "quarantine_digest_runs"; a tenant's first run looks back one day). `queue` puts
// one digest on the queue; a tenant's run is remembered only when all its digests were queued.
// Returns how many digests were queued.
Result<size_t> send_due_digests(store::Store&, const LinkSigner&, int64_t now, const DigestOptions&,
                                const std::function<Status(const Digest&)>& queue);

// Verifies the token and performs its action as the mailbox's end user. Returns what was done.
Result<std::string> redeem(Quarantine&, store::Store&, const LinkSigner&, const std::string& token, Releaser&,
                           int64_t now);

}  // namespace mm::quarantine
