// The "attachments" check: every attachment (and every file inside an archive attachment) is typed
// by content and held against the attachment policy. Findings are symbols naming the part and file,
// e.g. ATTACH_EXECUTABLE "part 2 invoice.zip -> payload.exe: PE32 executable ...":
//   ATTACH_EXECUTABLE, ATTACH_BLOCKED_EXT, ATTACH_DOUBLE_EXT, ATTACH_TYPE_MISMATCH, ATTACH_MACRO,
//   ATTACH_BIDI_NAME   (class hint malware: refused at DATA by default)
//   ATTACH_ENCRYPTED, ATTACH_LIMIT, ATTACH_UNREADABLE   (class hint unscannable: held)
// The policy is the configuration's ([attachments]); a tenant's own policy plugs in through the
// lookup hook, and a tenant's extension overrides (scan::TenantFacts::attachment_allow/_block,
// from the tenant's policy via the gateway's directory snapshot) adjust whichever applies: an
// allowed extension is no longer blocked by name, and a file of that extension whose content is
// of the kind the extension names (a script named .js, a macro format named .docm) is not blocked
// as executable or macro either.
#pragma once
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "attachments/archive.h"
#include "scan/check.h"

namespace mm::attachments {

struct Policy {
  std::set<std::string> blocked_extensions;  // lower case, without the dot
  bool block_executables = true;             // executables, scripts, shortcuts, disk images by content
  bool block_macros = true;                  // Office documents with VBA, macro-enabled formats
  bool block_double_extensions = true;       // "invoice.pdf.exe"
  bool block_type_mismatch = true;           // name or declared type says document, content is a program/archive
  bool block_bidi_names = true;              // right-to-left override and other bidi controls in names
  ArchiveLimits limits;
  std::set<std::string> allowed_extensions;  // a tenant's explicit allowances (see above)
};

// `base` with a tenant's extension overrides applied (allow: unblocked and allowed; block: added).
std::shared_ptr<const Policy> with_overrides(const Policy& base, const std::vector<std::string>& allow,
                                             const std::vector<std::string>& block);

// exe scr com pif cpl js jse vbs vbe wsf wsh hta ps1 bat cmd lnk iso img vhd ... (docs/CONFIGURATION.md)
std::set<std::string> default_blocked_extensions();

// The policy for a tenant; null = the global one. (Tenant policies arrive with the policy issue.)
using PolicyLookup = std::function<std::shared_ptr<const Policy>(const std::string& tenant)>;

class AttachmentCheck : public scan::Check {
 public:
  explicit AttachmentCheck(std::shared_ptr<const Policy> global, PolicyLookup tenant = {})
      : global_(std::move(global)), tenant_(std::move(tenant)) {}
  std::string name() const override { return "attachments"; }
  double max_abs_score() const override { return 60; }
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;

 private:
  std::shared_ptr<const Policy> global_;
  PolicyLookup tenant_;
};

// A file name made safe to show: control and bidi characters appear as <U+202E>.
std::string display_name(std::string_view name);

}  // namespace mm::attachments
