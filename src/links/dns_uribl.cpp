#include "links/dns_uribl.h"

#include <arpa/inet.h>

#include <condition_variable>
#include <mutex>

#include "dns/resolver.h"

namespace mm::links {
namespace {

class DnsUriResolver final : public UriDnsResolver {
 public:
  explicit DnsUriResolver(std::shared_ptr<dns::Resolver> r) : r_(std::move(r)) {}

  std::vector<DnsReply> resolve_a(const std::vector<std::string>& names,
                                  std::chrono::steady_clock::time_point deadline) const override {
    // Shared with the callbacks, which may run after this call returned (past the deadline).
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      std::vector<DnsReply> out;
      std::vector<bool> answered;
      size_t left = 0;
    };
    auto st = std::make_shared<State>();
    st->out.resize(names.size());
    st->answered.assign(names.size(), false);
    st->left = names.size();
    for (size_t i = 0; i < names.size(); ++i) {
      r_->query(names[i], dns::Type::A, [st, i](const dns::Answer& a) {
        DnsReply rep;
        if (a.ok()) {
          for (auto& rec : a.records) {
            in_addr addr{};
            if (inet_pton(AF_INET, rec.c_str(), &addr) == 1) rep.a.push_back(ntohl(addr.s_addr));
          }
        } else if (!a.empty()) {
          rep.error = true;  // TempError: unknown
        }
        std::lock_guard lk(st->mu);
        st->out[i] = std::move(rep);
        st->answered[i] = true;
        if (--st->left == 0) st->cv.notify_all();
      });
    }
    std::unique_lock lk(st->mu);
    st->cv.wait_until(lk, deadline, [&] { return st->left == 0; });
    std::vector<DnsReply> out = st->out;
    for (size_t i = 0; i < out.size(); ++i)
      if (!st->answered[i]) out[i] = DnsReply{true, {}};
    return out;
  }

 private:
  std::shared_ptr<dns::Resolver> r_;
};

}  // namespace

std::shared_ptr<const UriDnsResolver> make_dns_uri_resolver(std::shared_ptr<dns::Resolver> resolver) {
  if (!resolver) return nullptr;
  return std::make_shared<DnsUriResolver>(std::move(resolver));
}

}  // namespace mm::links
