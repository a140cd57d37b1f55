// A URI DNS resolver for tests: answers from a table and records what it was asked.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "links/uribl.h"

namespace mm::links {

class FakeResolver : public UriDnsResolver {
 public:
  std::map<std::string, DnsReply> answers;
  mutable std::vector<std::string> asked;
  std::vector<DnsReply> resolve_a(const std::vector<std::string>& names,
                                  std::chrono::steady_clock::time_point) const override {
    std::vector<DnsReply> out;
    for (auto& n : names) {
      asked.push_back(n);
      auto it = answers.find(n);
      out.push_back(it == answers.end() ? DnsReply{} : it->second);
    }
    return out;
  }
};

}  // namespace mm::links
