// The statistical spam classifier: two learners over the same hashed features, kept side by side,
// and two more over the message's bytes.
//  - Bayes: per-feature spam/ham message counts (unigrams and OSB sparse bigrams), Robinson's
//    f(w) with Fisher's chi-square combining of the strongest clues (SpamBayes-style).
//  - Logistic: logistic regression over the features hashed into 2^bits weights, trained online by
//    FTRL-Proximal (per-coordinate learning rates); each feature's input is scaled by its Bayes
//    log-count ratio (NBSVM-style, Options::nb_scale), which couples the two learners.
//  - Byte n-grams (TokenizerOptions::extras & kTokByteGrams, on by default; grams.h): a third learner,
//    logistic regression by FTRL over binary, unit-normalised hashed byte n-grams in a table of its
//    own (Options::gram_*); only the second stage (stack.h) reads its margin.
//  - PPM (kTokPpm, on by default; ppm.h): a fourth learner, two order-4 byte context models (spam,
//    ham) blended across orders as PPM compressors do; only the stack reads its score.
// Which one classify() uses is Options::method (chosen by measurement: bench/accuracy).
// learn() is for training and online feedback; classify() is const and safe to call from many
// threads at once, also while another thread learns (a shared_mutex guards the tables).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classifier/ppm.h"
#include "classifier/stack.h"
#include "classifier/tokenizer.h"
#include "message/message.h"
#include "util/status.h"

namespace mm::classifier {

enum class Method : uint8_t { Bayes = 0, Logistic = 1, Combined = 2 };
const char* to_string(Method);

struct Options {
  Method method = Method::Combined;
  // Bayes (Robinson / SpamBayes defaults).
  double unknown_strength = 0.45;  // s
  double unknown_prob = 0.5;       // x
  double min_deviation = 0.1;      // clues with |f - 0.5| below this are ignored
  uint32_t max_clues = 150;
  // Logistic regression (FTRL-Proximal).
  uint32_t hash_bits = 21;  // 2^21 weights
  // l2 0.1-0.3 did a little better in CV with nb_scale 1, but then one "not spam" report turns
  // the learner around for all similar spam (bench/accuracy/README.md; Model.OneHamReport...).
  double alpha = 10.0, beta = 1.0, l1 = 0.0, l2 = 1.0;
  // NB-weighted logistic input (as NBSVM): a token's value is scaled by (1 - nb_scale) +
  // nb_scale * r, r = its Bayes log-count ratio ln((spam+1)/(nspam+2)) - ln((ham+1)/(nham+2)),
  // clamped to +-6. 0: plain binary features (the default until format 3).
  double nb_scale = 1.0;
  // Combined: logit(p) = bayes_weight * logit(p_bayes) + (1 - bayes_weight) * margin_logistic.
  double bayes_weight = 0.5;
  // Cost-sensitive batch training: the logistic learner weighs each ham example this many times
  // (a false positive costs more than a missed spam; 32 chosen by CV, bench/accuracy/README.md).
  // Online feedback learns every message at weight 1, so that one report moves the model no more
  // than before. Stored in the model since format 5 (it bounds a spam report's repeats).
  double ham_weight = 32.0;
  // The byte n-gram learner (when tokenizer.extras has kTokByteGrams): its own 2^gram_bits FTRL
  // table, alpha and L2 (beta and l1 as above). l2 0.1 did as well in CV; 1 for the same reason
  // as l2 above (one report should not turn the learner around).
  uint32_t gram_bits = 18;
  double gram_alpha = 10.0, gram_l2 = 1.0;
  // Batch training (train(), fit_stack()) gives it at most this many of the passes (its features
  // are ~10x the tokens: the cost of training). Not stored in the model blob.
  uint32_t gram_epochs = 5;
  double gram_ham_weight = 1.0;  // as ham_weight, for this learner's batch training
  // The PPM learner (when tokenizer.extras has kTokPpm; ppm.h): context order and table sizes
  // (2^21 contexts x 16 bytes + 2^22 pairs x 8 bytes: 64 MB), chosen by CV (order 3 and 5 did
  // worse, 4x larger tables no better). Its stack input is ppm_scale x the mean per-byte
  // log-likelihood ratio, clamped to +-10 (scale 3 and 20 did the same).
  uint32_t ppm_order = 4, ppm_ctx_bits = 21, ppm_sym_bits = 22;
  double ppm_scale = 10.0;
  // Below this many spam or ham examples the model is "untrained": classify() returns 0.5.
  uint32_t min_examples = 50;
  TokenizerOptions tokenizer = default_tokenizer();
  // Sparse bigrams measured worse on the benchmark corpus (bench/accuracy): off by default. Of the
  // optional token groups, the header shapes and the recipient-named tokens measured better, and
  // so did the byte n-gram learner (byte bigrams of 10,000 bytes, format 4) and the PPM learner
  // (order 4 over 10,000 bytes, format 5). The sender-alignment group helped before the n-gram
  // learner, not beside it (bench/accuracy/README.md): off.
  static TokenizerOptions default_tokenizer() {
    TokenizerOptions t;
    t.osb_window = 0;
    t.extras = kTokHeaders | kTokPersonal | kTokByteGrams | kTokPpm;
    return t;
  }
};

struct Explanation {
  double probability = 0.5;
  double bayes = 0.5, logistic = 0.5;
  double score = 0;  // continuous ranking score (log-odds-like; higher = spammier)
  double margin = 0;     // the logistic learner's raw log-odds
  double bayes_chi = 0;  // ln Q(ham) - ln Q(spam) of the chi-square combining
  double gram_margin = 0;  // the byte n-gram learner's log-odds (0 when it is off)
  double ppm = 0;          // the PPM learner's stack input (0 when it is off)
  // The second stage's inputs: clamped Bayes log-odds, the FTRL margin, the chi-square score / 10,
  // the n-gram margin, the PPM score.
  StackInputs stack_inputs() const;
};

// What learn_feedback() did with a message.
enum class Feedback : uint8_t {
  Learned,         // new message: learnt with this label
  Relearned,       // learnt earlier with the other label: that was undone, this one learnt
  AlreadyLearned,  // learnt earlier with this label: nothing changed
};

class Model {
 public:
  Model() : Model(Options{}) {}
  explicit Model(const Options& opt);
  Model(Model&& other) noexcept;
  Model& operator=(Model&& other) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Options& options() const { return opt_; }
  void set_method(Method m);  // the method is a choice of classify(), not of what is learnt

  // Learns one message (both learners). Relearning with the opposite label is the caller's choice
  // (unlearn() first to correct a message learnt with the wrong label).
  void learn(const message::Message& msg, bool is_spam);
  void learn(const Features& f, bool is_spam);
  // Reverses an earlier learn() of the same message with the same label (Bayes counts only; the
  // logistic weights then learn the corrected label as new evidence).
  void unlearn(const Features& f, bool was_spam);
  // Batch training (benchmarks, `mailmoat train`): Bayes counts once, the logistic learner
  // `epochs` passes in a deterministic shuffled order.
  void train(const std::vector<Features>& examples, const std::vector<bool>& is_spam, int epochs = 20);

  // Administrator feedback: learns one message as spam or ham, remembering it (by a digest of its
  // features, so verdict headers added later do not matter) so that reporting it again is a no-op
  // and reporting it with the other label corrects the first report. Remembers the last
  // kFeedbackMemory messages. A spam report is learnt until the logistic learner rates the message
  // spam (at most Options::ham_weight updates, the weight batch training gives a ham example); a
  // not-spam report once, so that it cannot turn similar spam around.
  Feedback learn_feedback(const Features& f, bool is_spam);
  static constexpr size_t kFeedbackMemory = 100000;
  size_t feedback_messages() const;

  // The second stage (stack.h): trains `folds` models on the other folds of the examples, scores
  // each held-out fold with them, and fits the stack on those out-of-fold scores and the symbols.
  // The model's own tables are not touched (train() them on the same examples).
  void fit_stack(const std::vector<Features>& examples, const std::vector<bool>& is_spam,
                 const std::vector<std::vector<SymbolHit>>& symbols, const StackOptions& opt);
  bool stacked() const;  // a fitted stack and a trained model
  // The BAYES_* score under the stack (classifier part); nullopt when not stacked.
  std::optional<double> stacked_classifier_score(const Features& f, Explanation* e = nullptr) const;
  // A symbol's learnt score; nullopt when not stacked or the symbol was never seen in training.
  std::optional<double> stacked_symbol_score(std::string_view name) const;
  Stack stack() const;  // a copy (inspection, benchmarks)
  // Calls fn with the stack under the model's read lock (one lock for a whole symbol list), or
  // with nullptr when not stacked.
  void with_stack(const std::function<void(const Stack*)>& fn) const;

  // Spam probability in [0, 1]; 0.5 when the model is untrained.
  double classify(const message::Message& msg) const;
  double classify(const Features& f) const;
  Explanation explain(const Features& f) const;

  bool trained() const;
  uint64_t spam_examples() const;
  uint64_t ham_examples() const;
  size_t bayes_features() const;

  // Compact binary form: magic "MMCL", format version, options, counts, the Bayes table (sorted
  // keys, delta + varint coded) and the non-zero FTRL state; a checksum at the end.
  std::string serialize() const;
  static Result<Model> deserialize(std::string_view blob);
  // Version 2 adds the stack and the feedback memory, version 3 the tokenizer's optional token
  // groups, version 4 the byte n-gram learner (options, table, 4th stack input), version 5 the PPM
  // learner (options, count tables, 5th stack input) and the ham weight of batch training. Each is
  // written only when its learner is on, else the older version; older blobs still load (no stack;
  // no extra token groups; no n-gram or PPM learner: such a model scores as before until it is
  // retrained).
  static constexpr uint16_t kFormatVersion = 5;

 private:
  struct Counts {
    uint32_t spam = 0, ham = 0;
  };
  // nb (optional): receives the nb_value() of each of f.hashes, from the same lookups.
  double bayes_locked(const Features& f, double* score, std::vector<double>* nb = nullptr) const;
  // nb: the nb_value() of each of f.hashes, when the caller has them (batch training); else looked up.
  double logistic_margin_locked(const Features& f, const double* nb = nullptr) const;
  // example_weight: its weight in the log-loss (batch training gives ham Options::ham_weight).
  void ftrl_update_locked(const Features& f, bool is_spam, const double* nb = nullptr, double example_weight = 1.0);
  bool grams_on() const { return (opt_.tokenizer.extras & kTokByteGrams) != 0; }
  bool ppm_on() const { return (opt_.tokenizer.extras & kTokPpm) != 0; }
  double gram_margin_locked(const Features& f) const;
  void gram_update_locked(const Features& f, bool is_spam, double example_weight = 1.0);
  float gram_weight(size_t i) const;
  void train_locked(const std::vector<Features>& examples, const std::vector<bool>& is_spam,
                    const std::vector<size_t>& which, int epochs);
  void learn_locked(const Features& f, bool is_spam);
  // learn_locked() for an administrator's report; a spam report is learnt until the logistic
  // learner rates the message spam (bounded by ham_weight updates).
  void learn_report_locked(const Features& f, bool is_spam);
  void unlearn_locked(const Features& f, bool was_spam);
  Explanation explain_locked(const Features& f) const;
  bool trained_locked() const;
  float weight(size_t i) const;
  double nb_value(uint64_t h) const;  // the per-token scale of nb_scale
  double nb_from_counts(double spam, double ham) const;

  Options opt_;
  mutable std::shared_mutex mu_;
  uint64_t nspam_ = 0, nham_ = 0;
  std::unordered_map<uint64_t, Counts> bayes_;
  std::vector<float> z_, n_;  // FTRL state, 2^hash_bits + 1 (last: bias)
  std::vector<float> gz_, gn_;  // the n-gram learner's FTRL state, 2^gram_bits + 1 (empty when off)
  Ppm ppm_;                     // the PPM learner (off unless kTokPpm)
  Stack stack_;
  std::unordered_map<uint64_t, bool> feedback_;  // feature digest -> learnt as spam
  std::vector<uint64_t> feedback_order_;          // oldest first
};

}  // namespace mm::classifier
