// Byte n-grams for the classifier's third learner (TokenizerOptions::extras & kTokByteGrams), in the
// spirit of the TREC 2007 filters over binary character 4-grams (Sculley & Wachman): overlapping
// n-byte windows over the decoded subject, the From display name and address, and the first bytes
// of the decoded body text, ASCII case and whitespace runs folded, each window hashed with the part
// it came from. No collection-path headers (Received and the like). Model feeds them, binary and
// unit-normalised, to an FTRL table of their own whose margin is a stack input (model.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message/message.h"

namespace mm::classifier {

// The splitmix64 finaliser: spreads a token's or a window's raw hash over all 64 bits (the
// tokenizer's hashes and these n-grams).
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Appends s with ASCII letters lower-cased and whitespace runs folded to one space, until `out`
// holds `limit` bytes (the text of the n-gram and PPM learners).
void fold_text(std::string_view s, std::string& out, size_t limit);

// Unique sorted hashes of the message's byte n-grams (n clamped to 2..8; body_bytes of body text).
std::vector<uint64_t> byte_grams(const message::Message& msg, size_t n, size_t body_bytes);

}  // namespace mm::classifier
