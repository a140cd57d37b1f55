// The scan engine: runs the registered checks over a parsed message in dependency order, sums
// their symbols into a verdict, and stops early once the outcome cannot change any more.
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
  explicit Engine(Thresholds t = {}) : thresholds_(t) {}
  // Registers a check; finalize() orders them (an unknown dependency or a cycle is an error).
  void add(std::unique_ptr<Check> check);
  Status finalize();
  const Thresholds& thresholds() const { return thresholds_; }
  std::vector<std::string> check_names() const;
  void set_rescorer(std::shared_ptr<const Rescorer> r) { rescorer_ = std::move(r); }

  // Runs every check (const, thread-safe). A check that throws, or a deadline that passes before
  // all checks ran (unless the outcome was already certain), gives failed=true.
  Verdict scan(const message::Message&, const Envelope&,
               std::chrono::steady_clock::time_point deadline =
                   std::chrono::steady_clock::time_point::max()) const;

  // The class for a score and symbol list under these thresholds.
  Class classify(double score, const std::vector<Symbol>&) const;

 private:
  // classify() with the hint evidence taken from `own` (the checks' scores before rescoring) if given.
  Class classify_with(double score, const std::vector<Symbol>&, const std::vector<double>* own) const;
  Thresholds thresholds_;
  std::vector<std::unique_ptr<Check>> checks_;  // in run order after finalize()
  bool finalized_ = false;
  std::shared_ptr<const Rescorer> rescorer_;
};

}  // namespace mm::scan
