// The byte n-gram learner (classifier/grams.h, kTokByteGrams): what it extracts, that it learns
// what only character n-grams tell apart, its 4th stack input, and the model format (version 4
// with it, version 3 without, older blobs loading).
#include <gtest/gtest.h>

#include "blob_util.h"

#include <algorithm>
#include <random>

#include "classifier/grams.h"
#include "classifier/model.h"
#include "classifier/stack.h"

namespace mm::classifier {
namespace {

// Bodies of random words that never repeat (so word tokens carry nothing); every spam word hides
// "qzxv" and every ham word "jkwy" at a random place. Subject and From are the same for both.
message::Message obfuscated(std::mt19937& rng, bool spam) {
  auto letters = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + rng() % 26));
    return s;
  };
  message::Message m;
  m.subject = "hello there";
  m.from = {"Someone", "someone@mail.example", "mail.example"};
  for (int i = 0; i < 20; ++i) m.text += letters(2 + rng() % 4) + (spam ? "qzxv" : "jkwy") + letters(2 + rng() % 4) + " ";
  m.has_plain = true;
  return m;
}

Options gram_options(bool on) {
  Options opt;
  opt.hash_bits = 16;
  opt.gram_bits = 16;
  opt.min_examples = 20;
  opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokPpm);  // the PPM learner has ppm_test.cpp
  if (!on) opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokByteGrams);
  return opt;
}

struct Data {
  std::vector<Features> x;
  std::vector<bool> y;
  std::vector<std::vector<SymbolHit>> sym;
};

Data make(const Options& opt, int n, unsigned seed) {
  Data d;
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    bool spam = i % 2 == 0;
    d.x.push_back(extract(obfuscated(rng, spam), opt.tokenizer));
    d.y.push_back(spam);
    d.sym.push_back(rng() % 3 == 0 ? std::vector<SymbolHit>{{"NOISE", 1.0}} : std::vector<SymbolHit>{});
  }
  return d;
}

TEST(ByteGrams, WindowsOfSubjectFromAndBodyStart) {
  message::Message m;
  m.subject = "Win  BIG";
  m.from = {"Ann", "a@b.example", "b.example"};
  m.text = std::string(100, 'x') + "tail";
  m.has_plain = true;
  auto g = byte_grams(m, 4, 50);
  EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
  EXPECT_EQ(std::adjacent_find(g.begin(), g.end()), g.end());
  // "Win BIG" (folded): 4 windows; "Ann a@b.example": 12; the body's first 50 bytes: one window.
  EXPECT_EQ(g.size(), 4u + 12u + 1u);
  // The same bytes in another part are another feature ("xxxx" in the subject and in the body).
  message::Message s = m;
  s.subject = "xxxx";
  EXPECT_EQ(byte_grams(s, 4, 50).size(), 1u + 12u + 1u);
  // Bytes past body_bytes are not read.
  s = m;
  s.text = std::string(100, 'x') + "other";
  EXPECT_EQ(byte_grams(s, 4, 50), g);
  EXPECT_NE(byte_grams(s, 4, 200), byte_grams(m, 4, 200));
  EXPECT_EQ(byte_grams(m, 5, 50).size(), 3u + 11u + 1u);
  EXPECT_TRUE(byte_grams(message::Message{}, 4, 3000).empty());
}

TEST(ByteGrams, ExtractFillsThemOnlyWhenAsked) {
  std::mt19937 rng(3);
  auto m = obfuscated(rng, true);
  EXPECT_TRUE(extract(m, gram_options(false).tokenizer).grams.empty());
  Features f = extract(m, gram_options(true).tokenizer);
  EXPECT_GT(f.grams.size(), 50u);
  EXPECT_EQ(f.hashes, extract(m, gram_options(false).tokenizer).hashes);  // the other learners see the same
}

TEST(ByteGrams, LearnerSeparatesWhatOnlyCharacterGramsShow) {
  Data train = make(gram_options(true), 200, 1), test = make(gram_options(true), 40, 2);
  Model with(gram_options(true));
  with.train(train.x, train.y, 10);
  Model without(gram_options(false));
  Data train_off = make(gram_options(false), 200, 1), test_off = make(gram_options(false), 40, 2);
  without.train(train_off.x, train_off.y, 10);
  size_t right = 0, logistic_right = 0;
  for (size_t i = 0; i < test.x.size(); ++i) {
    Explanation e = with.explain(test.x[i]);
    right += (e.gram_margin > 0) == test.y[i];
    logistic_right += (e.margin > 0) == test.y[i];
    EXPECT_EQ(without.explain(test_off.x[i]).gram_margin, 0.0);
    EXPECT_EQ(e.stack_inputs()[3], e.gram_margin);
  }
  EXPECT_EQ(right, test.x.size());                 // every held-out message on the right side
  EXPECT_LE(logistic_right, test.x.size() * 3 / 4);  // while the word learner is near chance
  // Online learning moves it too: one more spam makes a spam's n-gram margin grow.
  double before = with.explain(test.x[0]).gram_margin;
  with.learn(test.x[0], true);
  EXPECT_GT(with.explain(test.x[0]).gram_margin, before);
}

// A model trained and stacked on the toy corpus, with or without the n-gram learner.
Model stacked_model(bool grams) {
  Data d = make(gram_options(grams), 200, 5);
  Model model(gram_options(grams));
  model.train(d.x, d.y, 5);
  StackOptions so;
  so.epochs = 5;
  so.min_examples = 20;
  model.fit_stack(d.x, d.y, d.sym, so);
  return model;
}

TEST(ByteGrams, StackUsesTheFourthInputAndRoundTrips) {
  Model model = stacked_model(true);
  ASSERT_TRUE(model.stacked());
  EXPECT_GT(model.stack().w_in[3], 0.0);  // the only informative input
  std::string blob = model.serialize();
  EXPECT_EQ(static_cast<unsigned char>(blob[4]), 4u);
  auto back = Model::deserialize(blob);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->serialize(), blob);
  EXPECT_EQ(back->options().tokenizer.extras, model.options().tokenizer.extras);
  EXPECT_EQ(back->options().gram_bits, 16u);
  EXPECT_EQ(back->stack().w_in, model.stack().w_in);
  Data t = make(gram_options(true), 10, 6);
  for (const auto& f : t.x) {
    EXPECT_EQ(back->explain(f).gram_margin, model.explain(f).gram_margin);
    EXPECT_EQ(back->stacked_classifier_score(f), model.stacked_classifier_score(f));
  }
  // An impossible n (9) with a valid checksum is refused, not loaded. Version 4 puts the n-gram
  // options right after version 3's nb_scale.
  const auto& tok = model.options().tokenizer;
  size_t at = 4 + 2 + 1 + 3 * 8 + 4 + 4 + 5 * 8 + 4 + test::varint_len(tok.max_words) + test::varint_len(tok.osb_window) +
              test::varint_len(tok.min_word_bytes) + test::varint_len(tok.max_word_bytes) + test::varint_len(tok.extras) + 8;
  ASSERT_EQ(static_cast<unsigned char>(blob[at]), tok.gram_n);
  std::string bad = blob.substr(0, blob.size() - 8);
  bad[at] = 9;
  uint64_t sum = test::blob_checksum(bad);
  for (int i = 0; i < 8; ++i) bad.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  auto refused = Model::deserialize(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("n-gram"), std::string::npos) << refused.error();
}

TEST(ByteGrams, WithoutTheLearnerTheBlobStaysVersion3) {
  Model model = stacked_model(false);
  ASSERT_TRUE(model.stacked());
  EXPECT_EQ(model.stack().w_in[3], 0.0);  // an input that is always 0 gets no weight
  std::string blob = model.serialize();
  EXPECT_EQ(static_cast<unsigned char>(blob[4]), 3u);
  EXPECT_EQ(static_cast<unsigned char>(blob[5]), 0u);
  auto back = Model::deserialize(blob);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->serialize(), blob);
  EXPECT_EQ(back->options().tokenizer.extras & kTokByteGrams, 0u);
  for (const auto& f : make(gram_options(false), 10, 6).x)
    EXPECT_EQ(back->stacked_classifier_score(f), model.stacked_classifier_score(f));
}

TEST(ByteGrams, OnByDefault) {
  Options opt;
  EXPECT_NE(opt.tokenizer.extras & kTokByteGrams, 0u);
  Model model(opt);
  EXPECT_EQ(static_cast<unsigned char>(model.serialize()[4]), Model::kFormatVersion);
}

// As Model.OneHamReportDoesNotFlipOtherSpam for the word learner: one administrator "not spam"
// report of a spam message must not turn the n-gram learner around for all similar spam.
TEST(ByteGrams, OneHamReportDoesNotFlipOtherSpam) {
  Data d = make(gram_options(true), 200, 8);
  Model model(gram_options(true));
  model.train(d.x, d.y, 20);
  EXPECT_EQ(model.learn_feedback(d.x[0], false), Feedback::Learned);  // d.x[0] is spam
  Data t = make(gram_options(true), 20, 9);
  for (size_t i = 0; i < t.x.size(); i += 2) EXPECT_GT(model.explain(t.x[i]).gram_margin, 1.0) << i;
}

}  // namespace
}  // namespace mm::classifier
