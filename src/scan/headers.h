// Writing a verdict into the delivered message: mailmoat's own headers, SpamAssassin-compatible
// X-Spam-* headers that common client filters understand, and an optional subject tag.
#pragma once
#include <string>
#include <string_view>

#include "scan/engine.h"

namespace mm::scan {

// Returns `raw` with the verdict headers at the top (the caller puts its Received: above them), any X-Mailmoat-* / X-Spam-* headers the
// sender supplied removed (a forged "X-Spam-Flag: NO" must not reach a client filter), and, when
// subject_tag is not empty, the Subject prefixed with it (once).
std::string apply_verdict(std::string_view raw, const Verdict&, const Thresholds&,
                          const std::string& hostname, const std::string& subject_tag);

}  // namespace mm::scan
