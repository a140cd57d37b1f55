// The classifier's second stage ("stack"): a small logistic model over the first stage's outputs
// (Bayes log-odds, FTRL margin, chi-square score; the byte n-gram margin and the PPM score when
// those learners are on, else 0) and the rule and heuristic symbols that fired, fitted on
// out-of-fold first-stage scores (Model::fit_stack), so that each rule's weight is learnt against
// the classifier instead of set by hand. Its log-odds z are the engine's score:
//   score = 5 + (z - tag_logit) = classifier part + sum of the symbols' learnt weights,
// where the classifier part (bias and inputs) is the BAYES_* symbol's score and every symbol's
// score is its weight, so the verdict stays a readable sum. Symbols never seen in training keep
// their hand score. Fitting: Newton's method on log-loss with an L2 pull towards prior_scale times
// the hand score.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mm::classifier {

inline constexpr size_t kStackInputs = 5;  // Bayes log-odds, FTRL margin, chi-square / 10, n-gram margin, PPM score
using StackInputs = std::array<double, kStackInputs>;

struct SymbolHit {
  std::string name;
  double hand_score = 0;
};

struct StackOptions {
  int folds = 5;               // out-of-fold first-stage scores for fitting
  int epochs = 20;             // FTRL epochs of the fold models (as Model::train)
  // Chosen by 5-fold cross-validation on the benchmark's TRAIN half only (bench/accuracy/README.md).
  double l2 = 3.0;             // penalty on every weight but the bias
  double prior_scale = 1.0;    // the L2 pull goes towards prior_scale * hand score
  double tag_logit = 2.2;      // z at the engine's tag threshold (score 5): CV ham FPR <= 0.25%
  double ham_weight = 1.0;     // a ham row's weight in the log-loss
  uint32_t min_examples = 50;  // fewer spam or ham examples: no stack (hand scores stay)
};

struct Stack {
  struct NameHash {  // lookups by string_view without a copy
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  bool fitted = false;
  double bias = 0;
  StackInputs w_in{};
  std::unordered_map<std::string, double, NameHash, std::equal_to<>> w_sym;
  double tag_logit = 0;

  // The BAYES_* symbol's score: 5 + bias + w_in . inputs - tag_logit.
  double classifier_part(const StackInputs& in) const;
  // A symbol's learnt score, or nullopt when training never saw it.
  std::optional<double> symbol(std::string_view name) const;
};

// Fits the stack from first-stage inputs, symbol hits and labels (the rows must be out-of-fold).
Stack fit_stack(const std::vector<StackInputs>& inputs, const std::vector<std::vector<SymbolHit>>& symbols,
                const std::vector<bool>& is_spam, const StackOptions& opt);

}  // namespace mm::classifier
