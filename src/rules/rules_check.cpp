#include "rules/rules_check.h"

#include <cmath>

namespace mm::rules {

RulesCheck::RulesCheck(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {}

void RulesCheck::replace(std::shared_ptr<const RuleSet> rules) { rules_.store(std::move(rules)); }

double RulesCheck::max_abs_score() const {
  auto rs = rules_.load();
  double total = 0;
  if (rs)
    for (const auto& r : rs->rules())
      if (!r.internal()) total += std::abs(r.score);
  return total;
}

void RulesCheck::run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const {
  auto rs = rules_.load();
  if (!rs) return;
  std::string error;
  for (size_t i : rs->hits(ctx.msg, &error)) {
    const auto& r = rs->rules()[i];
    out.push_back({r.name, r.score, r.describe, r.hint});
  }
  if (!error.empty()) out.push_back({"RULES_INCOMPLETE", 0, error, scan::Class::Clean});
}

}  // namespace mm::rules
