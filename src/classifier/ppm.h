// A fourth learner for the classifier (TokenizerOptions::extras & kTokPpm): two character-level
// context models, one trained on spam and one on ham, in the spirit of the compression-based
// filters of Bratko et al. (JMLR 2006): a message is scored by how much better the spam model
// predicts its bytes than the ham model. The models are order-k Markov models of bytes blended
// across orders 0..k with Witten-Bell (PPM method C) escape estimates, their counts kept in two
// hashed tables (contexts, and context + next byte), so memory is fixed and training is counting.
// The text: subject, From, the first bytes of the body text, ASCII case and whitespace folded (as
// the n-gram learner's, grams.h); no collection-path headers. The models read its ASCII bytes only,
// and the score is averaged over all its bytes (other scripts are the word learners' to judge).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message/message.h"

namespace mm::classifier {

// The learner's input text (at most body_bytes of body text).
std::string ppm_text(const message::Message& msg, size_t body_bytes);

class Ppm {
 public:
  Ppm() = default;  // off: score() is 0, learn() does nothing
  // order clamped to 1..7, table sizes 2^ctx_bits contexts and 2^sym_bits (context, byte) pairs.
  // The tables (64 MB at the defaults) are allocated by the first learn(), so that an untrained
  // model (a gateway before `mailmoat train`) does not hold them.
  Ppm(unsigned order, unsigned ctx_bits, unsigned sym_bits);
  bool on() const { return on_; }
  unsigned order() const { return order_; }
  unsigned ctx_bits() const { return ctx_bits_; }
  unsigned sym_bits() const { return sym_bits_; }

  void learn(std::string_view text, bool is_spam);
  void unlearn(std::string_view text, bool was_spam);  // reverses an earlier learn() of the same text
  // Sum over the text's ASCII bytes of log P_spam(byte) - log P_ham(byte), divided by the number
  // of all its bytes, in nats (0 for empty text).
  double score(std::string_view text) const;

  // Raw tables for the model blob (ctx: 4 counters per slot, sym: 2 per slot). The const ones are
  // empty until the first learn(); the others allocate them (to be filled from a blob).
  const std::vector<uint32_t>& ctx_table() const { return ctx_; }
  const std::vector<uint32_t>& sym_table() const { return sym_; }
  std::vector<uint32_t>& ctx_table() { return allocate(), ctx_; }
  std::vector<uint32_t>& sym_table() { return allocate(), sym_; }

 private:
  template <class Fn>
  void walk(std::string_view text, Fn&& fn) const;
  void count(std::string_view text, bool is_spam, int delta);
  void allocate();

  bool on_ = false;
  unsigned order_ = 0, ctx_bits_ = 0, sym_bits_ = 0;
  // Per context slot: spam total, spam distinct, ham total, ham distinct.
  std::vector<uint32_t> ctx_;
  // Per (context, byte) slot: spam count, ham count (saturating; 32 bits: 16 saturated at orders 0-1).
  std::vector<uint32_t> sym_;
};

}  // namespace mm::classifier
