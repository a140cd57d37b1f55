// The "antivirus" check: the raw message goes to clamd in one INSTREAM (clamd decodes MIME,
// base64/quoted-printable/uuencode, and unpacks archives itself). A detection is then pinned to
// the part that carries it by scanning the decoded attachments one by one, so the symbol says
// "part 2 invoice.zip: Eicar-Signature". Symbols:
//   AV_VIRUS        clamd found malware (class hint malware)
//   AV_UNSCANNABLE  clamd hit a limit (its StreamMaxLength included) or an encrypted archive, or the
//                   message exceeds max_scan_size
//   AV_ERROR        clamd failed or was late (unscannable, retry: the message is scanned again later)
// Never a silent pass: no answer from clamd is never "clean".
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "av/clamd_client.h"
#include "scan/check.h"

namespace mm::av {

struct AvOptions {
  uint64_t max_scan_size = 64ull << 20;  // larger messages are not sent: AV_UNSCANNABLE
  int timeout_ms = 15000;                 // per message (also bounded by the engine's deadline)
};

class AvCheck : public scan::Check {
 public:
  // `keep` holds whatever must outlive the check (the managed clamd).
  AvCheck(ClamdClient client, AvOptions opt, std::shared_ptr<void> keep = nullptr)
      : client_(std::move(client)), opt_(opt), keep_(std::move(keep)) {}
  std::string name() const override { return "antivirus"; }
  double max_abs_score() const override { return 20; }
  bool waits() const override { return true; }  // a clamd round trip per message
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;

 private:
  ClamdClient client_;
  AvOptions opt_;
  std::shared_ptr<void> keep_;
};

// Heuristics.Limits.Exceeded.*, Heuristics.Encrypted.*: clamd could not look inside.
bool is_unscannable_signature(const std::string& sig);

}  // namespace mm::av
