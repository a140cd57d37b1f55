// How the auth evaluators see DNS. SPF, DMARC policy discovery and DKIM key lookup are written as
// plain synchronous functions over a Lookup: an answer not known yet throws NeedDns after the
// need is recorded. Drive() fetches every recorded need asynchronously and in parallel, then runs
// the evaluation again with the answers kept (so each run gets further), until it completes.
// The same evaluators run offline in tests against an in-memory zone.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dns/resolver.h"

namespace mm::auth {

struct NeedDns {};

class Lookup {
 public:
  virtual ~Lookup() = default;
  // The answer, or throws NeedDns (after recording the need).
  virtual const dns::Answer& get(const std::string& name, dns::Type) = 0;
  // Records a need without throwing (to fetch several names at once); true when already known.
  virtual bool want(const std::string& name, dns::Type) = 0;
};

// Answers gathered for one evaluation (consistent across its runs).
class AnswerSet : public Lookup {
 public:
  const dns::Answer& get(const std::string& name, dns::Type) override;
  bool want(const std::string& name, dns::Type) override;
  void put(const std::string& name, dns::Type, dns::Answer);
  std::vector<std::pair<std::string, dns::Type>> take_needs();
  const dns::Answer* find(const std::string& name, dns::Type) const;
  // A resolver asked first for a missing answer: when it answers at once (its cache, a static
  // zone), the evaluation goes on without a round trip through drive(). Set by drive().
  void set_source(dns::Resolver* r) { source_ = r; }

 private:
  const dns::Answer* lookup(const std::pair<std::string, dns::Type>& key);
  dns::Resolver* source_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, dns::Type>, dns::Answer> answers_;
  std::vector<std::pair<std::string, dns::Type>> needs_;
};

// Runs `step` (which returns normally when complete, or throws NeedDns) until it completes,
// fetching the needs through `resolver`. Needs left after `deadline` are answered TempError
// ("deadline") without asking. `done` runs once, on the thread of the last answer (or the
// caller's). `answers` outlives the drive.
void drive(dns::Resolver& resolver, std::shared_ptr<AnswerSet> answers, std::function<void(Lookup&)> step,
           std::chrono::steady_clock::time_point deadline, std::function<void()> done);

// A resolver over fixed records, answering synchronously (tests, benchmarks, the oracle runs).
class StaticZone : public dns::Resolver {
 public:
  void add(const std::string& name, dns::Type, const std::string& value, uint16_t mx_pref = 0);
  void fail(const std::string& name, dns::Type);  // this question gives TempError
  void query(const std::string& name, dns::Type, dns::Callback) override;
  size_t queries() const { return queries_; }

 private:
  std::map<std::pair<std::string, dns::Type>, dns::Answer> rr_;
  std::map<std::string, bool> names_;
  std::map<std::pair<std::string, dns::Type>, bool> fail_;
  size_t queries_ = 0;
};

std::string lower(std::string s);

}  // namespace mm::auth
