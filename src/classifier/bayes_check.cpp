#include "classifier/bayes_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mm::classifier {

BayesScore bayes_score(double p) {
  if (!(p >= 0.0 && p <= 1.0)) return {};
  if (p >= 0.8) {
    double l = -std::log10(std::max(1.0 - p, 1e-12));  // 0.7 at p=0.8, 2 at 0.99, 5 at 0.99999
    double s = l < 2.0 ? 2.0 + (l - std::log10(5.0)) * 4.0 / (2.0 - std::log10(5.0))
                       : 6.0 + (std::min(l, 8.0) - 2.0) * 4.0 / 6.0;
    return {"BAYES_SPAM", std::clamp(s, 2.0, 10.0)};
  }
  if (p <= 0.2) {
    double l = -std::log10(std::max(p, 1e-12));  // 0.7 at p=0.2, 2 at p=0.01
    double s = l < 2.0 ? -0.5 - (l - std::log10(5.0)) * 2.5 / (2.0 - std::log10(5.0))
                       : -3.0 - (std::min(l, 8.0) - 2.0) * 0.5;
    return {"BAYES_HAM", std::clamp(s, -6.0, -0.5)};
  }
  return {};
}

void BayesCheck::run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const {
  if (!model_ || !model_->trained()) return;
  double p;
  try {
    Features f = extract(ctx.msg, model_->options().tokenizer);
    Explanation e;
    if (auto stacked = model_->stacked_classifier_score(f, &e)) {
      char detail[96];
      std::snprintf(detail, sizeof detail, "probability %.3f (bayes %.3f, logistic %.3f), learnt weight", e.probability,
                    e.bayes, e.logistic);
      scan::Symbol s;
      s.score = std::round(*stacked * 100.0) / 100.0;
      s.name = s.score > 0 ? "BAYES_SPAM" : "BAYES_HAM";
      s.detail = detail;
      s.hint = s.score > 0 ? scan::Class::Spam : scan::Class::Clean;
      out.push_back(std::move(s));
      return;
    }
    p = model_->classify(f);
  } catch (...) {
    return;  // must not throw; an allocation failure just means no opinion
  }
  BayesScore b = bayes_score(p);
  if (b.name.empty()) return;
  char detail[48];
  std::snprintf(detail, sizeof detail, "probability %.3f", p);
  scan::Symbol s;
  s.name = std::move(b.name);
  s.score = std::round(b.score * 100.0) / 100.0;
  s.detail = detail;
  s.hint = s.score > 0 ? scan::Class::Spam : scan::Class::Clean;
  out.push_back(std::move(s));
}

}  // namespace mm::classifier

namespace mm::classifier {

void StackRescorer::rescore(std::vector<scan::Symbol>& symbols) const {
  if (!model_) return;
  model_->with_stack([&](const Stack* st) {
    if (!st) return;
    for (auto& s : symbols) {
      if (s.name.rfind("BAYES_", 0) == 0) continue;
      if (auto w = st->symbol(s.name)) s.score = std::round(*w * 100.0) / 100.0;
    }
  });
}

}  // namespace mm::classifier
