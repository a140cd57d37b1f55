#include "reputation/reputation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace mm::reputation {

const char* to_string(Action a) {
  switch (a) {
    case Action::None: return "none";
    case Action::Tarpit: return "tarpit";
    case Action::Tempfail: return "tempfail";
    case Action::Refuse: return "refuse";
  }
  return "none";
}

const char* to_string(Strictness s) {
  switch (s) {
    case Strictness::Off: return "off";
    case Strictness::Low: return "low";
    case Strictness::Normal: return "normal";
    case Strictness::Strict: return "strict";
  }
  return "normal";
}

std::optional<Strictness> parse_strictness(const std::string& s) {
  if (s == "off" || s == "log-only" || s == "log") return Strictness::Off;
  if (s == "low") return Strictness::Low;
  if (s == "normal") return Strictness::Normal;
  if (s == "strict") return Strictness::Strict;
  return std::nullopt;
}

void Counts::decay_to(int64_t now, double half_life_s) {
  if (now <= updated_s || half_life_s <= 0) {
    updated_s = std::max(updated_s, now);
    return;
  }
  double f = std::exp2(-static_cast<double>(now - updated_s) / half_life_s);
  clean *= f;
  spam *= f;
  phishing *= f;
  malware *= f;
  refused *= f;
  updated_s = now;
}

Thresholds thresholds_for(Strictness s) {
  switch (s) {
    case Strictness::Low: return {10, 0.3, 0.5, 0.8, 30, 3};
    case Strictness::Strict: return {1, 0.0, 0.01, 0.3, 3, 2};  // listed after a single spam
    case Strictness::Off:                                       // computed for the log only
    case Strictness::Normal: break;
  }
  return {3, 0.1, 0.3, 0.5, 8, 3};
}

std::string network_of(const std::string& ip) {
  unsigned char b[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    b[3] = 0;
    inet_ntop(AF_INET, b, out, sizeof out);
    return std::string(out) + "/24";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    std::fill(b + 8, b + 16, 0);
    inet_ntop(AF_INET6, b, out, sizeof out);
    return std::string(out) + "/64";
  }
  return "";
}

namespace {

class MemoryCounters final : public CounterStore {
 public:
  void add(const std::string& key, Outcome o, double n, int64_t now, double hl) override {
    std::lock_guard lk(mu_);
    auto& c = map_[key];
    c.decay_to(now, hl);
    switch (o) {
      case Outcome::Clean: c.clean += n; break;
      case Outcome::Spam: c.spam += n; break;
      case Outcome::Phishing: c.phishing += n; break;
      case Outcome::Malware: c.malware += n; break;
      case Outcome::Refused: c.refused += n; break;
    }
  }
  Counts get(const std::string& key, int64_t now, double hl) const override {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return {};
    Counts c = it->second;
    c.decay_to(now, hl);
    return c;
  }
  std::vector<std::pair<std::string, Counts>> all(int64_t now, double hl, double min_total) override {
    std::lock_guard lk(mu_);
    std::vector<std::pair<std::string, Counts>> out;
    for (auto it = map_.begin(); it != map_.end();) {
      it->second.decay_to(now, hl);
      if (it->second.total(1) < min_total) {
        it = map_.erase(it);
        continue;
      }
      out.emplace_back(it->first, it->second);
      ++it;
    }
    return out;
  }
  void put(const std::string& key, const Counts& c) override {
    std::lock_guard lk(mu_);
    map_[key] = c;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Counts> map_;
};

// The step for one record against thresholds scaled by `factor` (volume only).
Action judge(const Counts& c, const Thresholds& t, double factor, double rw, double* share) {
  double bad = c.bad(rw), total = c.total(rw);
  *share = total > 0 ? bad / total : 0;
  if (bad + 1e-9 < t.min_bad * factor) return Action::None;
  if (*share >= t.refuse_share && bad + 1e-9 >= t.refuse_min_bad * factor) return Action::Refuse;
  if (*share >= t.tempfail_share) return Action::Tempfail;
  if (*share >= t.tarpit_share) return Action::Tarpit;
  return Action::None;
}

}  // namespace

std::unique_ptr<CounterStore> make_memory_counters() { return std::make_unique<MemoryCounters>(); }

std::string describe(const Counts& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "clean=%.1f spam=%.1f phishing=%.1f malware=%.1f refused=%.1f", c.clean, c.spam,
                c.phishing, c.malware, c.refused);
  return buf;
}

Reputation::Reputation(Options o, std::unique_ptr<CounterStore> c) : opt_(o), counters_(std::move(c)) {}

void Reputation::record(const std::string& ip, Outcome o, int64_t now, double n) {
  std::string net = network_of(ip);
  if (net.empty()) return;
  counters_->add(ip, o, n, now, opt_.half_life_s);
  counters_->add(net, o, n, now, opt_.half_life_s);
}

Assessment Reputation::assess(const std::string& ip, Strictness s, int64_t now) const {
  Assessment a;
  std::string net = network_of(ip);
  if (net.empty()) return a;
  a.ip = counters_->get(ip, now, opt_.half_life_s);
  a.net = counters_->get(net, now, opt_.half_life_s);
  Thresholds t = thresholds_for(s);
  double ip_share = 0, net_share = 0;
  Action ai = judge(a.ip, t, 1, opt_.refused_weight, &ip_share);
  Action an = judge(a.net, t, t.net_factor, opt_.refused_weight, &net_share);
  a.action = std::max(ai, an);
  if (a.action == Action::None) return a;
  bool by_net = an > ai;
  const Counts& c = by_net ? a.net : a.ip;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s %s: bad %.1f of %.1f (%.0f%%), strictness %s", by_net ? "spam network" : "spam source",
                by_net ? net.c_str() : ip.c_str(), c.bad(opt_.refused_weight), c.total(opt_.refused_weight),
                100 * (by_net ? net_share : ip_share), to_string(s));
  a.reason = buf;
  return a;
}

std::vector<std::pair<std::string, Counts>> Reputation::top(size_t n, int64_t now) {
  auto all = counters_->all(now, opt_.half_life_s, 0.01);
  double rw = opt_.refused_weight;
  std::sort(all.begin(), all.end(), [rw](auto& a, auto& b) { return a.second.bad(rw) > b.second.bad(rw); });
  if (all.size() > n) all.resize(n);
  return all;
}

Status Reputation::save(const std::string& path, int64_t now) {
  auto all = counters_->all(now, opt_.half_life_s, 0.01);  // forgotten records are not written
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return Status::error("cannot write " + tmp);
    f << "# mailmoat reputation v1: key updated_s clean spam phishing malware refused\n";
    for (auto& [k, c] : all)
      f << k << ' ' << c.updated_s << ' ' << c.clean << ' ' << c.spam << ' ' << c.phishing << ' ' << c.malware << ' '
        << c.refused << '\n';
    f.flush();
    if (!f) return Status::error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::error("cannot rename " + tmp + " to " + path);
  return Status::ok();
}

Status Reputation::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::ok();  // nothing saved yet
  std::string line;
  size_t bad_lines = 0;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string key;
    Counts c;
    if (!(in >> key >> c.updated_s >> c.clean >> c.spam >> c.phishing >> c.malware >> c.refused) ||
        (network_of(key).empty() && key.find('/') == std::string::npos)) {
      ++bad_lines;
      continue;
    }
    counters_->put(key, c);
  }
  if (bad_lines) return Status::error(path + ": " + std::to_string(bad_lines) + " malformed lines skipped");
  return Status::ok();
}

}  // namespace mm::reputation
