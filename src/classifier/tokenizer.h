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

// Optional token groups (TokenizerOptions::extras), each chosen by measurement (bench/accuracy).
enum TokenGroup : uint32_t {
  kTokHtml = 1u << 0,      // HTML tags, tag:attribute pairs and a few attribute values ("html:tag:font")
  kTokHeaders = 1u << 1,   // Date format shape, RFC 2047 charsets, Received count, To shape ("h:date:shape:")
  kTokUrl = 1u << 2,       // URL TLD, port, userinfo, query, path depth and file extension ("url:tld:biz")
  kTokCharGrams = 1u << 3, // character 4-grams of body words of 6+ letters ("cg:mort"); logistic learner only
  kTokOsbLogistic = 1u << 4,  // OSB pairs for the logistic learner only (Bayes keeps unigrams)
  kTokPersonal = 1u << 5,  // the first recipient's address / local part in the body or subject ("b:to-addr")
  kTokExtrasLogistic = 1u << 6,  // the tokens of the html/headers/url/personal groups: logistic learner only
  kTokByteGrams = 1u << 7,  // hashed byte n-grams of subject, From and body start (Features::grams, grams.h)
  kTokAlign = 1u << 8,      // whether Return-Path, Message-ID, Sender and relay hosts share the From domain ("h:al:rp:same")
  kTokPpm = 1u << 9,        // folded subject, From and body start for the PPM learner (Features::ppm_text, ppm.h)
};

struct TokenizerOptions {
  size_t max_words = 3000;   // words of body text considered (bounds CPU on huge mail)
  size_t osb_window = 4;     // sparse bigrams: pairs up to this distance; 0 disables
  size_t min_word_bytes = 2;
  size_t max_word_bytes = 40;  // longer runs become a "skip:" token
  uint32_t extras = 0;         // TokenGroup bits
  // kTokByteGrams: n-gram length and how many bytes of the decoded body text are read (grams.h;
  // chosen by CV, bench/accuracy/README.md "A third learner").
  size_t gram_n = 2;
  size_t gram_body_bytes = 10000;
  // kTokPpm: bytes of decoded body text in the PPM learner's text (ppm.h; chosen by CV,
  // bench/accuracy/README.md "A fourth learner").
  size_t ppm_body_bytes = 10000;
};

struct Features {
  std::vector<std::string> tokens;  // readable unigram and structure tokens (duplicates kept)
  std::vector<uint64_t> hashes;     // unique hashes of every token and OSB pair, sorted (both learners)
  std::vector<uint64_t> logistic_only;  // unique sorted hashes only the logistic learner sees
  std::vector<uint64_t> grams;  // kTokByteGrams: unique sorted byte n-gram hashes (the n-gram learner's only)
  std::string ppm_text;         // kTokPpm: the PPM learner's text (ppm_text(), ppm.h)
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
