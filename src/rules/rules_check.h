// The "rules" check: runs a RuleSet over the message and emits one symbol per hit rule
// (name, score, describe as detail, class hint). The rule set can be swapped at run time.
#pragma once
#include <atomic>
#include <memory>

#include "rules/rule_set.h"
#include "scan/check.h"

namespace mm::rules {

class RulesCheck : public scan::Check {
 public:
  explicit RulesCheck(std::shared_ptr<const RuleSet> rules);
  std::string name() const override { return "rules"; }
  double max_abs_score() const override;
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;
  // Replaces the rule set (e.g. after a reload); scans in flight finish with the old one.
  void replace(std::shared_ptr<const RuleSet> rules);
  std::shared_ptr<const RuleSet> rule_set() const { return rules_.load(); }

 private:
  std::atomic<std::shared_ptr<const RuleSet>> rules_;
};

}  // namespace mm::rules
