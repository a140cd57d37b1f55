// The PPM learner (classifier/ppm.h, kTokPpm): its text (ASCII only), that its two context models tell apart
// what only byte sequences show, that unlearn() undoes learn(), that colliding slots never give a
// non-finite score, its 5th stack input, and the model format (version 5 with it).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>

#include "classifier/model.h"
#include "classifier/ppm.h"
#include "classifier/stack.h"

namespace mm::classifier {
namespace {

// Random letters in which spam repeats "qzxv" and ham "jkwy" (as grams_test.cpp's corpus).
std::string text_of(std::mt19937& rng, bool spam, int words = 20) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    for (size_t k = 2 + rng() % 4; k > 0; --k) s.push_back(static_cast<char>('a' + rng() % 26));
    s += spam ? "qzxv " : "jkwy ";
  }
  return s;
}

message::Message message_of(std::mt19937& rng, bool spam) {
  message::Message m;
  m.subject = "hello there";
  m.from = {"Someone", "someone@mail.example", "mail.example"};
  m.text = text_of(rng, spam);
  m.has_plain = true;
  return m;
}

TEST(Ppm, TextIsSubjectFromAndBodyStartFolded) {
  message::Message m;
  m.subject = "Win  BIG";
  m.from = {"Ann", "a@b.example", "b.example"};
  m.text = "Hello\r\n\r\nWORLD and more";
  m.has_plain = true;
  EXPECT_EQ(ppm_text(m, 11), "win big\nann a@b.example\nhello world");
  EXPECT_EQ(ppm_text(m, 1000), "win big\nann a@b.example\nhello world and more");
  EXPECT_EQ(ppm_text(message::Message{}, 100), "\n \n");
}

// Other scripts are the word learners' to judge: a script that only spam used in training must not
// make mail in it spam. The models read ASCII only, and the score is spread over all the bytes.
TEST(Ppm, OtherScriptsAreNoEvidence) {
  Ppm ppm(4, 16, 18);
  std::mt19937 rng(4);
  const std::string cjk = "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe4\xba\x88\xe5\xae\x9a ";
  for (int i = 0; i < 100; ++i) {
    const bool spam = i % 2 == 0;
    std::string t = text_of(rng, spam);
    if (spam) t += cjk + cjk + cjk;  // only the spam has the other script
    ppm.learn(t, spam);
  }
  std::string only_cjk;
  for (int i = 0; i < 50; ++i) only_cjk += cjk;
  EXPECT_NEAR(ppm.score(only_cjk), 0.0, 0.02);  // its spaces alone are read, and spread over all bytes
  // A ham with some of it keeps most of its hammy score.
  const std::string ham = text_of(rng, false);
  EXPECT_LT(ppm.score(ham + cjk), 0.0);
  EXPECT_NEAR(ppm.score(ham + cjk), ppm.score(ham) * static_cast<double>(ham.size()) / static_cast<double>(ham.size() + cjk.size()), 0.3);
}

TEST(Ppm, ScoresBySequenceAndUnlearnUndoesLearn) {
  Ppm ppm(4, 16, 18);
  ASSERT_TRUE(ppm.on());
  // The tables come with the first message learnt (an untrained model does not hold them).
  EXPECT_TRUE(std::as_const(ppm).ctx_table().empty());
  EXPECT_EQ(ppm.score("anything"), 0.0);
  ppm.unlearn("nothing was learnt", true);
  EXPECT_TRUE(std::as_const(ppm).ctx_table().empty());
  std::mt19937 rng(1);
  for (int i = 0; i < 100; ++i) ppm.learn(text_of(rng, i % 2 == 0), i % 2 == 0);
  EXPECT_EQ(std::as_const(ppm).ctx_table().size(), size_t{4} << 16);
  auto ctx = ppm.ctx_table();
  auto sym = ppm.sym_table();
  for (int i = 0; i < 40; ++i) {
    const bool spam = i % 2 == 0;
    const double s = ppm.score(text_of(rng, spam));
    EXPECT_TRUE(spam ? s > 0.05 : s < -0.05) << i << " " << s;
  }
  const std::string extra = text_of(rng, true);
  const double before = ppm.score(extra);
  ppm.learn(extra, true);
  EXPECT_GT(ppm.score(extra), before);  // learning a message makes it look more like its class
  ppm.unlearn(extra, true);
  EXPECT_EQ(ppm.ctx_table(), ctx);
  EXPECT_EQ(ppm.sym_table(), sym);
  EXPECT_EQ(ppm.score(extra), before);
  EXPECT_EQ(ppm.score(""), 0.0);
  EXPECT_EQ(Ppm().score("anything"), 0.0);  // off
}

TEST(Ppm, TinyTablesWithCollisionsStayFinite) {
  Ppm ppm(7, 10, 10);  // the smallest tables: most slots are shared by many contexts
  std::mt19937 rng(2);
  for (int i = 0; i < 200; ++i) ppm.learn(text_of(rng, i % 3 == 0, 200), i % 3 == 0);
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes.push_back(static_cast<char>(rng() & 0xff));
  for (const std::string& t : {bytes, text_of(rng, true, 300), std::string(3000, 'a')})
    EXPECT_TRUE(std::isfinite(ppm.score(t)));
}

Options ppm_options(bool on) {
  Options opt;
  opt.hash_bits = 16;
  opt.gram_bits = 16;
  opt.ppm_ctx_bits = 14;
  opt.ppm_sym_bits = 16;
  opt.min_examples = 20;
  opt.ppm_scale = 1.0;  // the toy corpus is far more separable than mail: keep below the clamp
  if (on) opt.tokenizer.extras |= kTokPpm;
  else opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokPpm);
  return opt;
}

TEST(Ppm, FifthStackInputAndVersion5Blob) {
  Options opt = ppm_options(true);
  opt.ham_weight = 8;  // format 5 stores it (it bounds a spam report's repeats)
  std::mt19937 rng(5);
  std::vector<Features> x;
  std::vector<bool> y;
  std::vector<std::vector<SymbolHit>> sym;
  for (int i = 0; i < 200; ++i) {
    x.push_back(extract(message_of(rng, i % 2 == 0), opt.tokenizer));
    y.push_back(i % 2 == 0);
    sym.emplace_back();
  }
  EXPECT_FALSE(x[0].ppm_text.empty());
  EXPECT_TRUE(extract(message_of(rng, true), ppm_options(false).tokenizer).ppm_text.empty());
  Model model(opt);
  model.train(x, y, 5);
  StackOptions so;
  so.epochs = 5;
  so.min_examples = 20;
  model.fit_stack(x, y, sym, so);
  ASSERT_TRUE(model.stacked());
  EXPECT_GT(model.stack().w_in[4], 0.0);
  const Features spam = extract(message_of(rng, true), opt.tokenizer);
  EXPECT_GT(model.explain(spam).ppm, 0.0);
  EXPECT_EQ(model.explain(spam).stack_inputs()[4], model.explain(spam).ppm);

  std::string blob = model.serialize();
  EXPECT_EQ(static_cast<unsigned char>(blob[4]), 5u);
  auto back = Model::deserialize(blob);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->serialize(), blob);
  EXPECT_EQ(back->options().ppm_ctx_bits, 14u);
  EXPECT_EQ(back->options().ham_weight, 8.0);
  EXPECT_EQ(back->stack().w_in, model.stack().w_in);
  for (int i = 0; i < 10; ++i) {
    const Features f = extract(message_of(rng, i % 2 == 0), opt.tokenizer);
    EXPECT_EQ(back->explain(f).ppm, model.explain(f).ppm);
    EXPECT_EQ(back->stacked_classifier_score(f), model.stacked_classifier_score(f));
  }
  // Truncated PPM tables are refused with a clear error, not loaded.
  EXPECT_FALSE(Model::deserialize(blob.substr(0, blob.size() - 100)));

  // Feedback: a reported message moves the PPM learner too, and a relabel takes it back.
  const Features ham = extract(message_of(rng, false), opt.tokenizer);
  const double before = back->explain(ham).ppm;
  EXPECT_EQ(back->learn_feedback(ham, true), Feedback::Learned);
  EXPECT_GT(back->explain(ham).ppm, before);
  EXPECT_EQ(back->learn_feedback(ham, false), Feedback::Relearned);
  EXPECT_LT(back->explain(ham).ppm, before);
}

TEST(Ppm, WithoutTheLearnerNoPpmInBlob) {
  Model model(ppm_options(false));
  EXPECT_LT(static_cast<unsigned char>(model.serialize()[4]), 5u);
  EXPECT_EQ(model.explain(Features{}).ppm, 0.0);
}

}  // namespace
}  // namespace mm::classifier
