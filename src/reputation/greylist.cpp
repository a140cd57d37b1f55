#include "reputation/greylist.h"

#include <algorithm>

#include "reputation/allow.h"
#include "reputation/reputation.h"

namespace mm::reputation {

int Greylist::check(const std::string& ip, const std::string& sender, const std::string& rcpt, int64_t now) {
  std::string net = network_of(ip);
  if (net.empty()) return 0;
  std::lock_guard lk(mu_);
  if (triplets_.size() >= opt_.max_entries) {  // bounded: forget the stale, then everything
    for (auto it = triplets_.begin(); it != triplets_.end();)
      it = (now - it->second.last > opt_.window_s && !it->second.passed) ? triplets_.erase(it) : std::next(it);
    if (triplets_.size() >= opt_.max_entries) triplets_.clear();
  }
  if (auto n = nets_.find(net); n != nets_.end()) {
    if (n->second.passes >= opt_.auto_pass_after && now - n->second.last <= opt_.pass_ttl_s) {
      n->second.last = now;
      return 0;
    }
  }
  auto& e = triplets_[net + "|" + ascii_lower(sender) + "|" + ascii_lower(rcpt)];
  if (e.passed && now - e.last <= opt_.pass_ttl_s) {
    e.last = now;
    return 0;
  }
  if (e.first == 0 || e.passed || now - e.first > opt_.window_s) {  // new, expired or retried too late
    e = {now, now, false};
    return opt_.delay_s;
  }
  e.last = now;
  if (now - e.first < opt_.delay_s) return static_cast<int>(opt_.delay_s - (now - e.first));
  e.passed = true;
  auto& n = nets_[net];
  ++n.passes;
  n.last = now;
  if (nets_.size() > opt_.max_entries) nets_.clear();
  return 0;
}

}  // namespace mm::reputation
