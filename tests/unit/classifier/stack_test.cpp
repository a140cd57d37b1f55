// The classifier's second stage (learnt rule weights), the engine's rescoring with it, and online
// learning from feedback (classifier/feedback.h).
#include <gtest/gtest.h>

#include <random>

#include "../store/temp_dir.h"
#include "classifier/bayes_check.h"
#include "classifier/feedback.h"
#include "classifier/model.h"
#include "classifier/stack.h"
#include "scan/engine.h"

namespace mm::classifier {
namespace {

// Spam and ham that the tokens separate only partly (shared vocabulary, a few own words), so that
// a rule symbol carries information the classifier does not have.
message::Message synth(std::mt19937& rng, bool spam) {
  static const char* own_spam[] = {"offer", "cash", "prize", "deal", "bonus"};
  static const char* own_ham[] = {"patch", "review", "agenda", "build", "merge"};
  static const char* common[] = {"the", "and", "you", "today", "please", "this", "with", "your", "that", "from",
                                 "news", "update", "week", "team", "note", "list", "info", "time", "more", "here"};
  message::Message m;
  m.subject = std::string(common[rng() % 20]) + " " + common[rng() % 20];
  m.from = {"Sender", "s@mail.example", "mail.example"};
  for (int i = 0; i < 25; ++i)
    m.text += std::string(rng() % 60 == 0 ? (spam ? own_spam : own_ham)[rng() % 5] : common[rng() % 20]) + " ";
  m.has_plain = true;
  return m;
}

struct Data {
  std::vector<Features> x;
  std::vector<bool> y;
  std::vector<std::vector<SymbolHit>> sym;
};

Data make_data(const Options& opt, int n, unsigned seed) {
  Data d;
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    bool spam = i % 2 == 0;
    d.x.push_back(extract(synth(rng, spam), opt.tokenizer));
    d.y.push_back(spam);
    std::vector<SymbolHit> s;
    // SPAM_SIGN: in 60% of spam, 3% of ham. HAM_SIGN: in 50% of ham, 2% of spam. NOISE: 30% of both.
    if (rng() % 100 < (spam ? 60u : 3u)) s.push_back({"SPAM_SIGN", 0.5});
    if (rng() % 100 < (spam ? 2u : 50u)) s.push_back({"HAM_SIGN", 2.0});
    if (rng() % 100 < 30) s.push_back({"NOISE", 3.0});
    d.sym.push_back(std::move(s));
  }
  return d;
}

Options small_options() {
  Options opt;
  opt.hash_bits = 16;
  opt.min_examples = 20;
  return opt;
}

TEST(Stack, LearnsRuleWeightsFromData) {
  Options opt = small_options();
  Data d = make_data(opt, 400, 1);
  Model model(opt);
  model.train(d.x, d.y, 5);
  EXPECT_FALSE(model.stacked());
  StackOptions so;
  so.min_examples = 20;
  model.fit_stack(d.x, d.y, d.sym, so);
  ASSERT_TRUE(model.stacked());
  // The data, not the hand scores, decide: SPAM_SIGN (hand 0.5) ends up clearly positive, HAM_SIGN
  // (hand +2.0) negative, and NOISE (hand 3.0) well below its hand score.
  EXPECT_GT(*model.stacked_symbol_score("SPAM_SIGN"), 1.0);
  EXPECT_LT(*model.stacked_symbol_score("HAM_SIGN"), -0.5);
  EXPECT_LT(*model.stacked_symbol_score("NOISE"), 1.5);
  EXPECT_FALSE(model.stacked_symbol_score("NEVER_SEEN").has_value());

  // The stacked score ranks better than the classifier alone on fresh data.
  Data t = make_data(opt, 400, 2);
  auto auc = [&](auto score) {
    double pairs = 0, good = 0;
    for (size_t i = 0; i < t.x.size(); ++i)
      for (size_t j = 0; j < t.x.size(); ++j)
        if (t.y[i] && !t.y[j]) {
          double a = score(i), b = score(j);
          pairs += 1;
          good += a > b ? 1.0 : a == b ? 0.5 : 0.0;
        }
    return good / pairs;
  };
  double alone = auc([&](size_t i) { return model.explain(t.x[i]).score; });
  double stacked = auc([&](size_t i) {
    double s = *model.stacked_classifier_score(t.x[i]);
    for (auto& h : t.sym[i]) s += model.stacked_symbol_score(h.name).value_or(h.hand_score);
    return s;
  });
  EXPECT_GT(stacked, alone + 0.01) << "alone " << alone << " stacked " << stacked;

  // Round trip: the stack survives serialization.
  auto back = Model::deserialize(model.serialize());
  ASSERT_TRUE(back) << back.error();
  ASSERT_TRUE(back->stacked());
  EXPECT_DOUBLE_EQ(*back->stacked_symbol_score("SPAM_SIGN"), *model.stacked_symbol_score("SPAM_SIGN"));
  EXPECT_DOUBLE_EQ(*back->stacked_classifier_score(t.x[0]), *model.stacked_classifier_score(t.x[0]));
}

TEST(Stack, TooFewExamplesKeepHandScores) {
  Options opt = small_options();
  Data d = make_data(opt, 40, 3);
  Model model(opt);
  model.train(d.x, d.y, 5);
  model.fit_stack(d.x, d.y, d.sym, StackOptions{});  // min_examples 50 per class
  EXPECT_FALSE(model.stacked());
}

class FixedCheck : public scan::Check {
 public:
  std::string name() const override { return "fixed"; }
  double max_abs_score() const override { return 10; }
  void run(const scan::Context&, std::vector<scan::Symbol>& out) const override {
    out.push_back({"SPAM_SIGN", 0.5, "test", scan::Class::Clean});
    out.push_back({"UNKNOWN_RULE", 1.25, "test", scan::Class::Clean});
  }
};

TEST(Stack, EngineShowsLearntWeightsAsScores) {
  Options opt = small_options();
  Data d = make_data(opt, 400, 4);
  auto model = std::make_shared<Model>(opt);
  model->train(d.x, d.y, 5);
  StackOptions so;
  so.min_examples = 20;
  model->fit_stack(d.x, d.y, d.sym, so);
  ASSERT_TRUE(model->stacked());

  scan::Engine engine;
  engine.add(std::make_unique<FixedCheck>());
  engine.add(std::make_unique<BayesCheck>(model));
  engine.set_rescorer(std::make_shared<StackRescorer>(model));
  ASSERT_TRUE(engine.finalize());
  std::mt19937 rng(9);
  auto msg = synth(rng, true);
  auto v = engine.scan(msg, scan::Envelope{});
  double sum = 0;
  bool saw_learnt = false, saw_unknown = false, saw_bayes = false;
  for (auto& s : v.symbols) {
    sum += s.score;
    if (s.name == "SPAM_SIGN") {
      saw_learnt = true;
      EXPECT_NEAR(s.score, *model->stacked_symbol_score("SPAM_SIGN"), 0.006);
    }
    if (s.name == "UNKNOWN_RULE") {
      saw_unknown = true;
      EXPECT_DOUBLE_EQ(s.score, 1.25);  // never seen in training: the hand score stays
    }
    if (s.name.rfind("BAYES_", 0) == 0) {
      saw_bayes = true;
      EXPECT_NEAR(s.score, *model->stacked_classifier_score(extract(msg, opt.tokenizer)), 0.006);
    }
  }
  EXPECT_TRUE(saw_learnt && saw_unknown && saw_bayes);
  EXPECT_NEAR(v.score, sum, 1e-9);  // the verdict is the sum of what it shows
}

TEST(Feedback, RepeatIsNoOpAndOtherLabelCorrects) {
  Options opt = small_options();
  Model model(opt);
  std::mt19937 rng(5);
  auto f = extract(synth(rng, true), opt.tokenizer);
  EXPECT_EQ(model.learn_feedback(f, true), Feedback::Learned);
  EXPECT_EQ(model.spam_examples(), 1u);
  EXPECT_EQ(model.learn_feedback(f, true), Feedback::AlreadyLearned);
  EXPECT_EQ(model.spam_examples(), 1u);
  EXPECT_EQ(model.learn_feedback(f, false), Feedback::Relearned);
  EXPECT_EQ(model.spam_examples(), 0u);
  EXPECT_EQ(model.ham_examples(), 1u);
  // Remembered across serialization.
  auto back = Model::deserialize(model.serialize());
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->feedback_messages(), 1u);
  EXPECT_EQ(back->learn_feedback(f, false), Feedback::AlreadyLearned);
}

TEST(Feedback, VerdictChangesAfterFeedbackAndModelIsSaved) {
  store::test_util::TempDir tmp;
  auto st = store::open_sqlite(tmp.file("mailmoat.db"));
  ASSERT_TRUE(st) << st.error();
  Options opt = small_options();
  auto model = std::make_shared<Model>(opt);
  Data d = make_data(opt, 200, 6);
  model->train(d.x, d.y, 5);

  scan::Engine engine;
  engine.add(std::make_unique<BayesCheck>(model));
  ASSERT_TRUE(engine.finalize());
  // A message of words the model never saw, plus common ones: the classifier has no opinion.
  message::Message msg;
  msg.subject = "quarterly zylophant report";
  msg.from = {"Vendor", "v@vendor.example", "vendor.example"};
  msg.text = "the and you today please";
  for (int i = 0; i < 40; ++i) msg.text += " unseenword" + std::to_string(i);
  msg.has_plain = true;
  auto before = engine.scan(msg, scan::Envelope{});
  EXPECT_EQ(before.cls, scan::Class::Clean);
  EXPECT_LT(before.score, 5.0);

  auto r = learn_feedback(**st, *model, msg, true);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->what, Feedback::Learned);
  EXPECT_GT(r->after, r->before);
  auto after = engine.scan(msg, scan::Envelope{});
  EXPECT_EQ(after.cls, scan::Class::Spam) << after.to_text();
  EXPECT_GE(after.score, 5.0);

  // Saved: a model loaded from the store judges the message the same way.
  auto loaded = load_model(**st);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_DOUBLE_EQ(loaded->classify(msg), model->classify(msg));
  EXPECT_EQ(loaded->feedback_messages(), 1u);
}

}  // namespace
}  // namespace mm::classifier

namespace mm::classifier {
namespace {

// Models saved before the stack existed (format version 1) still load, without a stack.
TEST(Stack, Version1BlobStillLoads) {
  Options opt = small_options();
  opt.nb_scale = 0.0;  // what a version 1 model means
  opt.tokenizer.extras = 0;
  Data d = make_data(opt, 120, 7);
  Model model(opt);
  model.train(d.x, d.y, 3);
  std::string blob = model.serialize();
  // Version 2 = version 1 + two empty sections (no stack: varint 0; no feedback: varint 0);
  // version 3 inserted the token groups (a varint, here 0) and nb_scale (a double, here 0) after
  // the tokenizer options.
  auto vlen = [](uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, ++n;
    return n;
  };
  const auto& t = model.options().tokenizer;
  size_t at = 4 + 2 + 1 + 3 * 8 + 4 + 4 + 5 * 8 + 4 + vlen(t.max_words) + vlen(t.osb_window) +
              vlen(t.min_word_bytes) + vlen(t.max_word_bytes);
  blob.erase(at, 1 + 8);
  std::string v1 = blob.substr(0, blob.size() - 8 - 2);
  v1[4] = 1;
  v1[5] = 0;
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : v1) h = (h ^ c) * 1099511628211ULL;
  for (int i = 0; i < 8; ++i) v1.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  auto back = Model::deserialize(v1);
  ASSERT_TRUE(back) << back.error();
  EXPECT_FALSE(back->stacked());
  EXPECT_DOUBLE_EQ(back->classify(d.x[0]), model.classify(d.x[0]));
  v1[6] ^= 1;  // still checksummed
  EXPECT_FALSE(Model::deserialize(v1));
}

}  // namespace
}  // namespace mm::classifier
