#include "auth/lookup.h"

#include <algorithm>
#include <atomic>

namespace mm::auth {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

namespace {
std::string norm(const std::string& n) {
  std::string s = lower(n);
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}
}  // namespace

const dns::Answer* AnswerSet::lookup(const std::pair<std::string, dns::Type>& key) {
  {
    std::lock_guard lk(mu_);
    auto it = answers_.find(key);
    if (it != answers_.end()) return &it->second;
  }
  if (!source_) return nullptr;
  // The callback may run now (cached) or later (then it only fills a slot nobody reads; the
  // query drive() sends for the same name shares the one in flight).
  struct Slot {
    std::mutex mu;
    bool done = false;
    dns::Answer a;
  };
  auto slot = std::make_shared<Slot>();
  source_->query(key.first, key.second, [slot](const dns::Answer& a) {
    std::lock_guard lk(slot->mu);
    slot->a = a;
    slot->done = true;
  });
  std::lock_guard sl(slot->mu);
  if (!slot->done) return nullptr;
  std::lock_guard lk(mu_);
  // std::map nodes are stable: the pointer stays valid while the set lives.
  return &answers_.emplace(key, std::move(slot->a)).first->second;
}

const dns::Answer& AnswerSet::get(const std::string& name, dns::Type t) {
  if (const dns::Answer* a = lookup({norm(name), t})) return *a;
  want(name, t);
  throw NeedDns{};
}

bool AnswerSet::want(const std::string& name, dns::Type t) {
  auto key = std::make_pair(norm(name), t);
  if (lookup(key)) return true;
  std::lock_guard lk(mu_);
  if (answers_.count(key)) return true;
  if (std::find(needs_.begin(), needs_.end(), key) == needs_.end()) needs_.push_back(key);
  return false;
}

void AnswerSet::put(const std::string& name, dns::Type t, dns::Answer a) {
  std::lock_guard lk(mu_);
  answers_[{norm(name), t}] = std::move(a);
}

std::vector<std::pair<std::string, dns::Type>> AnswerSet::take_needs() {
  std::lock_guard lk(mu_);
  return std::exchange(needs_, {});
}

const dns::Answer* AnswerSet::find(const std::string& name, dns::Type t) const {
  std::lock_guard lk(mu_);
  auto it = answers_.find({norm(name), t});
  return it == answers_.end() ? nullptr : &it->second;
}

namespace {

struct Drive : std::enable_shared_from_this<Drive> {
  dns::Resolver& resolver;
  std::shared_ptr<AnswerSet> answers;
  std::function<void(Lookup&)> step;
  std::chrono::steady_clock::time_point deadline;
  std::function<void()> done;
  std::atomic<int> pending{0};
  int rounds = 0;

  Drive(dns::Resolver& r, std::shared_ptr<AnswerSet> a, std::function<void(Lookup&)> s,
        std::chrono::steady_clock::time_point d, std::function<void()> f)
      : resolver(r), answers(std::move(a)), step(std::move(s)), deadline(d), done(std::move(f)) {}

  void run() {
    for (;;) {
      bool complete = true;
      try {
        step(*answers);
      } catch (const NeedDns&) {
        complete = false;
      }
      auto needs = answers->take_needs();
      if (complete || needs.empty()) {
        // (Empty needs after NeedDns cannot happen with a correct step; finish rather than spin.)
        done();
        return;
      }
      if (++rounds > 64 || std::chrono::steady_clock::now() >= deadline) {
        for (auto& [n, t] : needs) {
          dns::Answer a;
          a.error = rounds > 64 ? "too many lookup rounds" : "deadline";
          answers->put(n, t, a);
        }
        continue;  // runs again synchronously: every missing answer is now a TempError
      }
      pending = static_cast<int>(needs.size()) + 1;  // +1: ours, released below
      auto self = shared_from_this();
      for (auto& [n, t] : needs) {
        resolver.query(n, t, [self, n = n, t = t](const dns::Answer& a) {
          self->answers->put(n, t, a);
          if (--self->pending == 0) self->run();
        });
      }
      if (--pending != 0) return;  // the last answer runs the next round
    }
  }
};

}  // namespace

void drive(dns::Resolver& resolver, std::shared_ptr<AnswerSet> answers, std::function<void(Lookup&)> step,
           std::chrono::steady_clock::time_point deadline, std::function<void()> done) {
  answers->set_source(&resolver);
  auto d = std::make_shared<Drive>(resolver, std::move(answers), std::move(step), deadline, std::move(done));
  d->run();
}

void StaticZone::add(const std::string& name, dns::Type t, const std::string& value, uint16_t pref) {
  auto& a = rr_[{norm(name), t}];
  a.rcode = dns::Rcode::Ok;
  a.ttl = 300;
  if (t == dns::Type::MX) {
    // Keep preference order.
    size_t i = 0;
    while (i < a.mx_pref.size() && a.mx_pref[i] <= pref) ++i;
    a.mx_pref.insert(a.mx_pref.begin() + long(i), pref);
    a.records.insert(a.records.begin() + long(i), norm(value));
  } else {
    a.records.push_back(t == dns::Type::TXT ? value : norm(value));
  }
  names_[norm(name)] = true;
}

void StaticZone::fail(const std::string& name, dns::Type t) { fail_[{norm(name), t}] = true; }

void StaticZone::query(const std::string& name, dns::Type t, dns::Callback cb) {
  ++queries_;
  auto key = std::make_pair(norm(name), t);
  dns::Answer a;
  if (fail_.count(key)) {
    a.error = "SERVFAIL";
  } else if (auto it = rr_.find(key); it != rr_.end()) {
    a = it->second;
  } else {
    a.rcode = names_.count(key.first) ? dns::Rcode::NoData : dns::Rcode::NxDomain;
    a.ttl = 300;
  }
  cb(a);
}

}  // namespace mm::auth
