// The scan engine: runs the registered checks over a parsed message in dependency order, sums
// their symbols into a verdict, and stops early once the outcome cannot change any more.
// Parallel checks (set_parallel_checks): a check that waits() on I/O starts on an engine thread as
// soon as its dependencies are done while the other checks run on the calling thread; results are
// merged in run order, so the verdict is the one of a serial run.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "scan/check.h"
#include "util/status.h"

namespace mm::scan {

struct Thresholds {
  double tag = 5.0;      // score >= tag: spam (delivered with headers and a subject tag)
  double reject = 15.0;  // score >= reject: refused at DATA (550 5.7.1)
  double bulk = 1.0;     // bulk-hinted symbols summing to >= this, below `tag`: bulk
};

struct Verdict {
  double score = 0;
  Class cls = Class::Clean;
  std::vector<Symbol> symbols;   // in the order the checks ran
  bool complete = true;          // false: stopped early because the outcome was certain
  bool failed = false;           // deadline passed or a check failed: the message must be rescanned
  std::string error;             // why it failed
  int64_t elapsed_us = 0;

  // "BAYES_SPAM(6.50),HTML_ONLY(0.80)" ordered by |score| descending.
  std::string symbol_list() const;
  // One-line JSON object with score, class, symbols (name, score, detail).
  std::string to_json() const;
  // Multi-line human explanation for `mailmoat scan`.
  std::string to_text() const;
};

// Optional last step of a scan: replaces the scores of the checks' symbols, e.g. with weights
// learnt by the classifier's second stage (classifier::StackRescorer). While active() the engine
// runs every check (no early stop: the checks' max_abs_score() bound hand scores), and the class
// hints (bulk, phishing evidence) still weigh the checks' own scores.
class Rescorer {
 public:
  virtual ~Rescorer() = default;
  virtual bool active() const = 0;
  virtual void rescore(std::vector<Symbol>& symbols) const = 0;
};

class Engine {
 public:
  explicit Engine(Thresholds t = {});
  ~Engine();  // waits for checks still running on the engine's threads (abandoned scans)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  // Registers a check; finalize() orders them (an unknown dependency or a cycle is an error).
  void add(std::unique_ptr<Check> check);
  Status finalize();
  const Thresholds& thresholds() const { return thresholds_; }
  std::vector<std::string> check_names() const;
  void set_rescorer(std::shared_ptr<const Rescorer> r) { rescorer_ = std::move(r); }
  // threads > 0: checks that waits() run on up to that many engine threads, started as soon as
  // their dependencies are done; 0 (the default): every check on the calling thread, one after
  // another. Call before finalize().
  void set_parallel_checks(size_t threads) { parallel_threads_ = threads; }

  // Runs every check (const, thread-safe). A check that throws, or a deadline that passes before
  // all checks ran (unless the outcome was already certain), gives failed=true.
  // With the message shared, the scan returns at the deadline (or as soon as the outcome is
  // certain) even while a check on an engine thread still runs: that check keeps what it reads
  // alive and its result is dropped. With a plain reference, scan() waits for such checks before
  // it returns (each waiting check gives up by the deadline itself).
  Verdict scan(const message::Message&, const Envelope&,
               std::chrono::steady_clock::time_point deadline =
                   std::chrono::steady_clock::time_point::max()) const;
  Verdict scan(std::shared_ptr<const message::Message>, const Envelope&,
               std::chrono::steady_clock::time_point deadline =
                   std::chrono::steady_clock::time_point::max()) const;

  // The class for a score and symbol list under these thresholds.
  Class classify(double score, const std::vector<Symbol>&) const;

 private:
  // classify() with the hint evidence taken from `own` (the checks' scores before rescoring) if given.
  Class classify_with(double score, const std::vector<Symbol>&, const std::vector<double>* own) const;
  Verdict run(std::shared_ptr<const message::Message>, const Envelope&, std::chrono::steady_clock::time_point,
              bool may_abandon) const;
  Thresholds thresholds_;
  std::vector<std::unique_ptr<Check>> checks_;  // in run order after finalize()
  std::vector<std::vector<size_t>> deps_;       // per check: its dependencies' indexes, ascending
  std::vector<bool> async_;                     // per check: starts on the pool
  bool finalized_ = false;
  std::shared_ptr<const Rescorer> rescorer_;
  size_t parallel_threads_ = 0;
  struct Workers;
  std::unique_ptr<Workers> pool_;  // after checks_: joined before the checks are destroyed
};

}  // namespace mm::scan
