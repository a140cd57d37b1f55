// Learned IP reputation (connection control). For each client IP and its network (/24 IPv4,
// /64 IPv6) decaying counts of what it sent (clean, spam, phishing, malware, refused recipients);
// counts halve every `half_life_s`, so records recover. A source's bad share (and bad volume)
// against the thresholds of a strictness level gives a graded action: tarpit, tempfail (delay),
// refusal. Counters live behind CounterStore (in process now, Redis later) and are saved to a
// file (save/load) periodically and at shutdown.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace mm::reputation {

enum class Outcome { Clean, Spam, Phishing, Malware, Refused };
enum class Action { None, Tarpit, Tempfail, Refuse };
// Off: look up and log only (the action is computed and logged, never applied).
enum class Strictness { Off, Low, Normal, Strict };

const char* to_string(Action);
const char* to_string(Strictness);
std::optional<Strictness> parse_strictness(const std::string&);

struct Counts {
  double clean = 0, spam = 0, phishing = 0, malware = 0, refused = 0;
  int64_t updated_s = 0;  // when the counts were last decayed to
  double bad(double refused_weight) const { return spam + phishing + malware + refused * refused_weight; }
  double total(double refused_weight) const { return clean + bad(refused_weight); }
  // Decays every count to `now` (half-life in seconds; <= 0: no decay).
  void decay_to(int64_t now, double half_life_s);
};

// The thresholds of one strictness level. A source is judged when its bad volume reaches
// min_bad; then its bad share picks the step. Networks need net_factor times the volume.
struct Thresholds {
  double min_bad = 3;
  double tarpit_share = 0.1, tempfail_share = 0.3, refuse_share = 0.5;
  double refuse_min_bad = 8;  // refusal only for persistent sources
  double net_factor = 3;
};
Thresholds thresholds_for(Strictness);

// The network key of an address: "192.0.2.0/24", "2001:db8:1:2::/64"; "" when malformed.
std::string network_of(const std::string& ip);

// The counters (in process; a Redis implementation later). Thread-safe.
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  virtual void add(const std::string& key, Outcome, double n, int64_t now, double half_life_s) = 0;
  virtual Counts get(const std::string& key, int64_t now, double half_life_s) const = 0;
  // Every record decayed to now; records below `min_total` are dropped (forgotten).
  virtual std::vector<std::pair<std::string, Counts>> all(int64_t now, double half_life_s, double min_total) = 0;
  virtual void put(const std::string& key, const Counts&) = 0;
};
std::unique_ptr<CounterStore> make_memory_counters();

struct Options {
  double half_life_s = 86400;    // counts halve in a day
  double refused_weight = 0.5;   // a refused recipient counts as half a spam
};

struct Assessment {
  Action action = Action::None;
  std::string reason;  // "spam source 192.0.2.7: bad 6.0 of 9.0 (67%), ..." (printable ASCII)
  Counts ip, net;
};

class Reputation {
 public:
  explicit Reputation(Options, std::unique_ptr<CounterStore> = make_memory_counters());
  const Options& options() const { return opt_; }
  // Feedback: counts one outcome for the IP and its network.
  void record(const std::string& ip, Outcome, int64_t now, double n = 1);
  Assessment assess(const std::string& ip, Strictness, int64_t now) const;
  // The worst sources (IPs and networks) by bad volume, at most n.
  std::vector<std::pair<std::string, Counts>> top(size_t n, int64_t now);
  // Writes every record to `path` (atomically: temporary file, rename); load() merges it back.
  Status save(const std::string& path, int64_t now);
  Status load(const std::string& path);

 private:
  Options opt_;
  std::unique_ptr<CounterStore> counters_;
};

// Renders counts for humans: "clean=3.0 spam=2.0 phishing=0.0 malware=0.0 refused=1.0".
std::string describe(const Counts&);

}  // namespace mm::reputation
