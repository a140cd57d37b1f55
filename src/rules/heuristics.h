// The "heuristics" check: structural signs of unwanted mail computed in C++ (no regex): HTML-only
// mail (link text vs href, forms and IP-literal links moved to src/links and src/phish),
// link-heavy mail with little text, hidden text, Date and Message-ID anomalies, an address in
// the From display name that is not the sender, shouting capitals, non-ASCII or mixed-script
// subjects, zero-width characters, an empty body with an attachment, image-only HTML.
// Each finding is one symbol with a small score and a detail.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "message/domain.h"
#include "scan/check.h"

namespace mm::rules {

using message::is_ip_literal;        // message/domain.h
using message::registrable_domain;

struct HeuristicsOptions {
  std::function<int64_t()> now;          // Unix seconds; default: the system clock
  int64_t future_slack_s = 12 * 3600;    // Date later than now + this: DATE_IN_FUTURE
  int64_t past_limit_s = 30 * 86400;     // Date earlier than now - this: DATE_IN_PAST
  bool check_dates = true;               // false: no DATE_IN_PAST/FUTURE (replaying old mail)
};

class HeuristicsCheck : public scan::Check {
 public:
  explicit HeuristicsCheck(HeuristicsOptions opt = {});
  std::string name() const override { return "heuristics"; }
  double max_abs_score() const override;
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;

 private:
  HeuristicsOptions opt_;
};

}  // namespace mm::rules
