// Greylisting (for the tenants that enable it): the first attempt of a (client network, sender,
// recipient) triplet is deferred with 450; a retry after `delay_s` and within `window_s` passes
// it, and the triplet then passes for `pass_ttl_s` after its last use. A client network that has
// retried correctly `auto_pass_after` times passes for every triplet (honest MTAs are not delayed
// again). In process, bounded in size; lost at restart (a retry then waits once more).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mm::reputation {

struct GreylistOptions {
  int delay_s = 300;
  int window_s = 4 * 3600;
  int pass_ttl_s = 36 * 86400;
  int auto_pass_after = 3;
  size_t max_entries = 1000000;
};

class Greylist {
 public:
  explicit Greylist(GreylistOptions o = {}) : opt_(o) {}
  // 0: passes; otherwise the seconds the client should still wait before retrying.
  int check(const std::string& client_ip, const std::string& sender, const std::string& recipient, int64_t now);

 private:
  struct Entry {
    int64_t first = 0, last = 0;
    bool passed = false;
  };
  struct Net {
    int passes = 0;
    int64_t last = 0;
  };
  GreylistOptions opt_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> triplets_;
  std::unordered_map<std::string, Net> nets_;
};

}  // namespace mm::reputation
