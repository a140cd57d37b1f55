// The asynchronous DNS resolver: c-ares driven by the Asio event loop, with a cache that honours
// record TTLs (and negative answers for the SOA minimum), timeouts, retries and in-flight
// coalescing (one query on the wire for any number of identical callers). Used by auth (SPF, DKIM
// keys, DMARC), later by connection control (DNSBLs, PTR) and delivery (MX).
// A DNS failure (timeout, SERVFAIL, refused, no server) is Rcode::TempError: never "not found".
// Callbacks run on a loop thread and must not block; scan worker threads use resolve_blocking().
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mm::net {
class EventLoop;
}

namespace mm::dns {

enum class Type : uint16_t { A = 1, CNAME = 5, PTR = 12, MX = 15, TXT = 16, AAAA = 28 };
enum class Rcode { Ok, NxDomain, NoData, TempError };
const char* to_string(Type);
const char* to_string(Rcode);

struct Answer {
  Rcode rcode = Rcode::TempError;
  // A/AAAA: textual addresses; MX: exchange host names (sorted by preference, see mx_pref);
  // TXT: one string per record, its character-strings joined; PTR/CNAME: names without final dot.
  std::vector<std::string> records;
  std::vector<uint16_t> mx_pref;  // MX only, parallel to records
  uint32_t ttl = 0;               // seconds the answer may be reused
  std::string error;              // TempError: why ("timeout", "SERVFAIL", ...)
  bool from_cache = false;

  bool ok() const { return rcode == Rcode::Ok; }
  // NXDOMAIN or NODATA: the name has no such record (a "void lookup" in SPF terms).
  bool empty() const { return rcode == Rcode::NxDomain || rcode == Rcode::NoData; }
};

using Callback = std::function<void(const Answer&)>;

// The interface auth and the others depend on (tests plug in an in-memory zone).
class Resolver {
 public:
  virtual ~Resolver() = default;
  // Calls cb exactly once, possibly before returning (cache hit), otherwise on a loop thread.
  virtual void query(const std::string& name, Type type, Callback cb) = 0;
};

struct ResolverOptions {
  // "127.0.0.1:5353,[::1]:53"; empty: the system's /etc/resolv.conf.
  std::string servers;
  int timeout_ms = 2000;      // per try (c-ares doubles it on each retry round)
  int tries = 2;
  size_t cache_entries = 100000;  // 0: no cache
  uint32_t max_ttl_s = 86400;
  uint32_t negative_ttl_s = 300;  // cap for NXDOMAIN/NODATA (and the value when no SOA came)
};

struct ResolverStats {
  uint64_t queries = 0, cache_hits = 0, coalesced = 0, sent = 0, temp_errors = 0;
};

// The c-ares implementation. Lives on the event loop; query() may be called from any thread.
class AresResolver : public Resolver {
 public:
  // Fails (nullptr and *error set) when c-ares cannot be initialised or the servers are invalid.
  static std::shared_ptr<AresResolver> create(net::EventLoop&, ResolverOptions, std::string* error);
  ~AresResolver() override;
  void query(const std::string& name, Type type, Callback cb) override;
  ResolverStats stats() const;
  void clear_cache();
  // Cancels every query in flight (they complete with TempError "cancelled"); call before the
  // loop stops.
  void shutdown();

  struct Impl;
  explicit AresResolver(std::shared_ptr<Impl>);

 private:
  std::shared_ptr<Impl> impl_;
};

// For threads that may block (scan workers): waits for the answer until `deadline`, after which
// the answer is TempError "deadline". Never call it from a loop thread.
Answer resolve_blocking(Resolver&, const std::string& name, Type type,
                        std::chrono::steady_clock::time_point deadline);

// "1.2.3.4" -> "4.3.2.1.in-addr.arpa", IPv6 -> nibble form; "" for a malformed address.
std::string reverse_name(const std::string& ip);
// The name to ask a DNS block/allow list: ("1.2.3.4", "bl.example") -> "4.3.2.1.bl.example"
// (IPv6: nibbles); "" for a malformed address. For connection control.
std::string list_query_name(const std::string& ip, const std::string& zone);

}  // namespace mm::dns
