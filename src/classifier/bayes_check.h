// The classifier as a scan check: "bayes" emits BAYES_SPAM or BAYES_HAM scaled by the model's
// spam probability, and nothing at all while the model is untrained (too few examples).
// With a fitted stack (stack.h) the symbol's score is the stack's classifier part instead, and
// StackRescorer gives the other checks' symbols their learnt weights (engine's Rescorer).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "classifier/model.h"
#include "scan/check.h"
#include "scan/engine.h"

namespace mm::classifier {

// The symbol for a probability: {"", 0} in the unsure middle. Scale:
//   p >= 0.99    BAYES_SPAM  +6 .. +10 (continuous in log10(1-p); 10 at p >= 1 - 1e-8)
//   0.8 .. 0.99  BAYES_SPAM  +2 .. +6 (log-odds scale; 5.0, the default tag threshold, at p ~= 0.979)
//   0.2 .. 0.8   nothing
//   0.01 .. 0.2  BAYES_HAM   -0.5 .. -3
//   p <= 0.01    BAYES_HAM   -3 .. -6 (continuous in log10(p); -6 at p <= 1e-8)
struct BayesScore {
  std::string name;
  double score = 0;
};
BayesScore bayes_score(double probability);

class BayesCheck : public scan::Check {
 public:
  // The model is shared with whoever trains it (online feedback); Model is internally synchronised.
  explicit BayesCheck(std::shared_ptr<const Model> model) : model_(std::move(model)) {}
  std::string name() const override { return "bayes"; }
  double max_abs_score() const override { return 10.0; }
  void run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const override;

 private:
  std::shared_ptr<const Model> model_;
};

class StackRescorer : public scan::Rescorer {
 public:
  explicit StackRescorer(std::shared_ptr<const Model> model) : model_(std::move(model)) {}
  bool active() const override { return model_ && model_->stacked(); }
  // Every symbol the stack learnt (all but BAYES_*) gets its weight as score, rounded to 0.01.
  void rescore(std::vector<scan::Symbol>& symbols) const override;

 private:
  std::shared_ptr<const Model> model_;
};

}  // namespace mm::classifier
