// Turns a parsed message into the features the spam classifier learns from: prefixed tokens from
// selected headers, the decoded (Unicode-aware, case-folded) text, URLs, and the MIME structure.
// Free text is also paired into sparse bigrams (OSB: word i with word i+d, d = 1..4).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message/domain.h"
#include "message/message.h"

namespace mm::classifier {

struct TokenizerOptions {
  size_t max_words = 3000;   // words of body text considered (bounds CPU on huge mail)
  size_t osb_window = 4;     // sparse bigrams: pairs up to this distance; 0 disables
  size_t min_word_bytes = 2;
  size_t max_word_bytes = 40;  // longer runs become a "skip:" token
};

struct Features {
  std::vector<std::string> tokens;  // readable unigram and structure tokens (duplicates kept)
  std::vector<uint64_t> hashes;     // unique hashes of every token and OSB pair, sorted
};

// Readable tokens, e.g. "s:free", "h:from:dom:example.com", "url:dom:example.com", "ct:text/html".
// Body words have no prefix; CJK text becomes character bigrams.
std::vector<std::string> tokenize(const message::Message& msg, const TokenizerOptions& opt = {});

// Tokens plus sparse bigrams, hashed and de-duplicated: what the models consume.
Features extract(const message::Message& msg, const TokenizerOptions& opt = {});

// Splits UTF-8 text into lower-cased words (ICU case folding; invalid bytes are skipped); runs of
// CJK ideographs / kana / hangul become overlapping character bigrams. Appends to `out`.
void split_words(std::string_view text, std::vector<std::string>& out, const TokenizerOptions& opt = {});

using message::registrable_domain;  // message/domain.h

uint64_t hash_token(std::string_view s);

}  // namespace mm::classifier
