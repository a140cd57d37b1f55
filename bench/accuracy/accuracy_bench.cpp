// Accuracy benchmark of the spam classifier (see run.sh, which prepares the corpus and the split).
//
//   accuracy_bench --manifest FILE [--cv K] [--epochs N] [--method bayes|logistic|combined|all]
//                  [--max-clues N] [--osb N] [--extras BITS] [--bits N] [--alpha X] [--l1 X] [--l2 X] [--worst N]
//                  [--rules DIR [--stack-l2 X] [--stack-prior X] [--stack-folds K] [--tag-logit X]]
//                  [--grams N [--gram-bytes B] [--gram-bits N] [--gram-alpha X] [--gram-l2 X] [--gram-epochs N]]
//                  [--ppm ORDER [--ppm-bytes B] [--ppm-ctx-bits N] [--ppm-sym-bits N] [--ppm-scale X]]
//
// The manifest has one line per message: "train|test <TAB> spam|ham <TAB> group <TAB> path".
// Default mode: train on the train lines, score the test lines, print a Markdown table per method.
// --cv K: K-fold cross-validation inside the train lines only (for choosing methods and settings
// without looking at the test half); --cv-seeds N repeats it over N fold partitions and prints
// the mean figures ("CVMEAN" lines). --extras: TokenizerOptions::extras (classifier/tokenizer.h).
// --rules DIR: also runs the rules and heuristics (date checks off) and scores the engine's sum two
// ways: with the hand scores, and with the second stage (Model::fit_stack) fitted on the training
// part; in --cv mode the stack is fitted inside each training fold (nested out-of-fold scores).
// --grams N: the byte n-gram learner (kTokByteGrams, classifier/grams.h) with n = N, its margin a
// 4th stack input; --grams 0 turns it off. --ppm ORDER: the PPM learner (kTokPpm, classifier/ppm.h)
// with that context order, its score the 5th stack input; --ppm 0 turns it off.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "classifier/bayes_check.h"
#include "classifier/model.h"
#include "classifier/tokenizer.h"
#include "message/message.h"
#ifdef MM_HAVE_RULES
#include "rules/heuristics.h"
#include "rules/rule_set.h"
#include "rules/rules_check.h"
#endif
#ifdef MM_HAVE_LINKS
#include "links/links_check.h"
#include "links/lists.h"
#include "phish/phish_check.h"
#endif

using namespace mm;
using namespace mm::classifier;
using Clock = std::chrono::steady_clock;

namespace {

struct Item {
  bool train = false, spam = false;
  std::string group, path;
  std::shared_ptr<const std::string> raw;
  Features features;
  std::vector<SymbolHit> symbols;  // rules + heuristics (--rules), date checks off
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = std::move(ss).str();
  if (s.rfind("From ", 0) == 0) {  // the mbox separator line is not part of the message
    auto nl = s.find('\n');
    s.erase(0, nl == std::string::npos ? s.size() : nl + 1);
  }
  return s;
}

struct Scored {
  double score, p;
  bool spam;
  const Item* item;
};

struct Metrics {
  size_t ham = 0, spam = 0;
  size_t fp_half = 0, tp_half = 0;  // p >= 0.5
  size_t fp_tag = 0, tp_tag = 0;    // BayesCheck score >= 5 (the engine's default tag threshold)
  double recall_fpr_01 = 0, recall_fpr_001 = 0, auc = 0;
};

// Recall when at most `allowed` ham are above the threshold (threshold strictly above the next ham).
double recall_at(const std::vector<Scored>& s, size_t allowed) {
  std::vector<double> hams, spams;
  for (const auto& x : s) (x.spam ? spams : hams).push_back(x.score);
  std::sort(hams.rbegin(), hams.rend());
  if (spams.empty()) return 0;
  double thr = allowed < hams.size() ? hams[allowed] : -INFINITY;
  size_t tp = 0;
  for (double v : spams) tp += v > thr;
  return static_cast<double>(tp) / static_cast<double>(spams.size());
}

double auc(std::vector<Scored> s) {  // Mann-Whitney U, ties count half
  std::sort(s.begin(), s.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
  double rank_sum = 0;
  size_t nspam = 0, nham = 0;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j].score == s[i].score) ++j;
    double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1.0) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (s[k].spam) rank_sum += avg_rank;
    i = j;
  }
  for (const auto& x : s) (x.spam ? nspam : nham)++;
  if (!nspam || !nham) return 0;
  return (rank_sum - static_cast<double>(nspam) * (static_cast<double>(nspam) + 1) / 2.0) /
         (static_cast<double>(nspam) * static_cast<double>(nham));
}

Metrics measure(const std::vector<Scored>& s) {
  Metrics m;
  for (const auto& x : s) {
    (x.spam ? m.spam : m.ham)++;
    bool half = x.p >= 0.5, tag = bayes_score(x.p).score >= 5.0;
    if (x.spam) m.tp_half += half, m.tp_tag += tag;
    else m.fp_half += half, m.fp_tag += tag;
  }
  m.recall_fpr_01 = recall_at(s, static_cast<size_t>(std::floor(0.001 * static_cast<double>(m.ham))));
  m.recall_fpr_001 = recall_at(s, static_cast<size_t>(std::floor(0.0001 * static_cast<double>(m.ham))));
  m.auc = auc(s);
  return m;
}

std::string pct(size_t a, size_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%% (%zu)", b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0, a);
  return buf;
}
std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * x);
  return buf;
}

std::vector<Scored> score_all(Model& model, Method method, const std::vector<const Item*>& items) {
  model.set_method(method);
  std::vector<Scored> out;
  out.reserve(items.size());
  for (const Item* it : items) {
    Explanation e = model.explain(it->features);
    out.push_back({e.score, e.probability, it->spam, it});
  }
  return out;
}

double round2(double x) { return std::round(x * 100.0) / 100.0; }

// The engine's score as `mailmoat scan` sums it: hand scores, or the stack's learnt ones.
double engine_score(const Model& model, const Item& it, bool stacked, double* p_out) {
  Explanation e;
  double total = 0;
  if (stacked) {
    auto c = model.stacked_classifier_score(it.features, &e);
    total = round2(c.value_or(0));
    for (const auto& s : it.symbols) total += round2(model.stacked_symbol_score(s.name).value_or(s.hand_score));
  } else {
    e = model.explain(it.features);
    total = round2(bayes_score(e.probability).score);
    for (const auto& s : it.symbols) total += s.hand_score;
  }
  if (p_out) *p_out = e.probability;
  return total;
}

std::vector<Scored> score_engine(const Model& model, const std::vector<const Item*>& items, bool stacked) {
  std::vector<Scored> out;
  for (const Item* it : items) {
    double p = 0;
    double sc = engine_score(model, *it, stacked, &p);
    out.push_back({sc, sc >= 5.0 ? 1.0 : 0.0, it->spam, it});  // p: 1 at or above the tag threshold
  }
  return out;
}

void print_engine_rows(const char* title, const std::vector<std::pair<std::string, std::vector<Scored>>>& rows) {
  std::printf("\n| %s | ham FPR at score >= 5 | recall at score >= 5 | recall @FPR<=0.1%% | recall @FPR<=0.01%% | AUC |\n|---|---|---|---|---|---|\n", title);
  for (const auto& [name, s] : rows) {
    Metrics m = measure(s);
    std::printf("| %s | %s | %s | %s | %s | %.5f |\n", name.c_str(), pct(m.fp_half, m.ham).c_str(),
                pct(static_cast<double>(m.tp_half) / static_cast<double>(m.spam)).c_str(), pct(m.recall_fpr_01).c_str(),
                pct(m.recall_fpr_001).c_str(), m.auc);
  }
}

std::string symbol_list(const Model& model, const Item& it, bool stacked) {
  std::string out;
  for (const auto& s : it.symbols) {
    char buf[96];
    double v = stacked ? model.stacked_symbol_score(s.name).value_or(s.hand_score) : s.hand_score;
    std::snprintf(buf, sizeof buf, "%s%s(%.2f)", out.empty() ? "" : ",", s.name.c_str(), v);
    out += buf;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string manifest;
  int cv = 0, epochs = 20, cv_seeds = 1;
  size_t worst = 10;
  std::string method_arg = "all";
  std::string rules_dir;
  bool with_links = true;  // with --rules: also the links and phishing checks (when built)
  StackOptions so;
  Options opt;
  opt.min_examples = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--manifest") manifest = next();
    else if (a == "--cv") cv = std::stoi(next());
    else if (a == "--cv-seeds") cv_seeds = std::max(1, std::stoi(next()));
    else if (a == "--epochs") epochs = std::stoi(next());
    else if (a == "--method") method_arg = next();
    else if (a == "--max-clues") opt.max_clues = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--min-dev") opt.min_deviation = std::stod(next());
    else if (a == "--osb") opt.tokenizer.osb_window = std::stoul(next());
    else if (a == "--extras") opt.tokenizer.extras = static_cast<uint32_t>(std::stoul(next(), nullptr, 0));
    else if (a == "--bits") opt.hash_bits = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--alpha") opt.alpha = std::stod(next());
    else if (a == "--l1") opt.l1 = std::stod(next());
    else if (a == "--l2") opt.l2 = std::stod(next());
    else if (a == "--nb-scale") opt.nb_scale = std::stod(next());
    else if (a == "--gram-ham-weight") opt.gram_ham_weight = std::stod(next());
    else if (a == "--ham-weight") opt.ham_weight = std::stod(next());
    else if (a == "--stack-ham-weight") so.ham_weight = std::stod(next());
    else if (a == "--bayes-weight") opt.bayes_weight = std::stod(next());
    else if (a == "--worst") worst = std::stoul(next());
    else if (a == "--rules") rules_dir = next();
    else if (a == "--no-links") with_links = false;
    else if (a == "--stack-l2") so.l2 = std::stod(next());
    else if (a == "--stack-prior") so.prior_scale = std::stod(next());
    else if (a == "--stack-folds") so.folds = std::stoi(next());
    else if (a == "--tag-logit") so.tag_logit = std::stod(next());
    else if (a == "--grams") {
      opt.tokenizer.gram_n = std::stoul(next());
      if (opt.tokenizer.gram_n > 0) opt.tokenizer.extras |= kTokByteGrams;
      else opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokByteGrams);
    }
    else if (a == "--gram-bytes") opt.tokenizer.gram_body_bytes = std::stoul(next());
    else if (a == "--gram-bits") opt.gram_bits = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--gram-alpha") opt.gram_alpha = std::stod(next());
    else if (a == "--gram-l2") opt.gram_l2 = std::stod(next());
    else if (a == "--gram-epochs") opt.gram_epochs = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--ppm") {  // the PPM learner's order (0: off)
      opt.ppm_order = static_cast<uint32_t>(std::stoul(next()));
      if (opt.ppm_order > 0) opt.tokenizer.extras |= kTokPpm;
      else opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokPpm);
    }
    else if (a == "--ppm-bytes") opt.tokenizer.ppm_body_bytes = std::stoul(next());
    else if (a == "--ppm-ctx-bits") opt.ppm_ctx_bits = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--ppm-sym-bits") opt.ppm_sym_bits = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--ppm-scale") opt.ppm_scale = std::stod(next());
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  if (manifest.empty()) {
    std::cerr << "usage: accuracy_bench --manifest FILE [--cv K] ...\n";
    return 2;
  }
  std::vector<Method> methods;
  if (method_arg == "all") methods = {Method::Bayes, Method::Logistic, Method::Combined};
  else if (method_arg == "bayes") methods = {Method::Bayes};
  else if (method_arg == "logistic") methods = {Method::Logistic};
  else if (method_arg == "combined") methods = {Method::Combined};
  else {
    std::cerr << "unknown method " << method_arg << "\n";
    return 2;
  }

  // Load, parse, tokenize.
  std::vector<Item> items;
  {
    std::ifstream in(manifest);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string split, label, group, path;
      if (!std::getline(ls, split, '\t') || !std::getline(ls, label, '\t') || !std::getline(ls, group, '\t') ||
          !std::getline(ls, path))
        continue;
      Item it;
      it.train = split == "train";
      it.spam = label == "spam";
      it.group = group;
      it.path = path;
      items.push_back(std::move(it));
    }
  }
  if (items.empty()) {
    std::cerr << "no messages in " << manifest << "\n";
    return 1;
  }
  message::init();
  for (auto& it : items) it.raw = std::make_shared<const std::string>(read_file(it.path));
  auto t0 = Clock::now();
  std::vector<std::shared_ptr<const message::Message>> parsed;
  parsed.reserve(items.size());
  for (auto& it : items) parsed.push_back(message::parse(it.raw));
  double parse_s = seconds_since(t0);
  t0 = Clock::now();
  for (size_t i = 0; i < items.size(); ++i) items[i].features = extract(*parsed[i], opt.tokenizer);
  double extract_s = seconds_since(t0);
  if (!rules_dir.empty()) {
#ifdef MM_HAVE_RULES
    auto rs = rules::RuleSet::load_dir(rules_dir);
    if (!rs) {
      std::cerr << "rules: " << rs.error() << "\n";
      return 1;
    }
    rules::RulesCheck rc(*rs);
    rules::HeuristicsOptions hopt;
    hopt.check_dates = false;
    rules::HeuristicsCheck hc(hopt);
    // The engine's other content checks, links and phishing (no DNS), as `mailmoat train` runs
    // them (src/cli/engine.cpp symbol_source), unless --no-links.
    std::vector<std::unique_ptr<scan::Check>> more;
#ifdef MM_HAVE_LINKS
    if (with_links) {
      const std::filesystem::path data = std::filesystem::path(rules_dir) / "links";
      auto shorteners = links::read_list_file(data / "shorteners.txt");
      auto pdata = phish::load_data(data);
      if (!shorteners || !pdata) {
        std::cerr << "links data in " << data << ": " << (shorteners ? pdata.error() : shorteners.error()) << "\n";
        return 1;
      }
      links::LinksOptions lopt;
      lopt.shorteners = std::make_shared<links::DomainSet>(*shorteners);
      more.push_back(std::make_unique<links::LinksCheck>(std::move(lopt)));
      phish::PhishOptions popt;
      popt.data = *pdata;
      more.push_back(std::make_unique<phish::PhishCheck>(std::move(popt)));
    }
#endif
    double rules_s = 0, heur_s = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      scan::Envelope env;
      std::vector<scan::Symbol> prior, out;
      scan::Context ctx{*parsed[i], env, prior};
      auto t1 = Clock::now();
      rc.run(ctx, out);
      auto t2 = Clock::now();
      hc.run(ctx, out);
      rules_s += std::chrono::duration<double>(t2 - t1).count();
      heur_s += seconds_since(t2);
      for (const auto& check : more) {  // each sees the symbols before it, as in the engine
        std::vector<scan::Symbol> before = out;
        scan::Context c2{*parsed[i], env, before};
        check->run(c2, out);
      }
      for (auto& sym : out) items[i].symbols.push_back({sym.name, sym.score});
    }
    // Per-check cost (one thread): what running the checks in parallel could save per message.
    double n = static_cast<double>(items.size());
    std::printf("per message (1 thread, %zu messages): rules %.0f us, heuristics %.0f us, tokenize %.0f us, parse %.0f us\n\n",
                items.size(), 1e6 * rules_s / n, 1e6 * heur_s / n, 1e6 * extract_s / n, 1e6 * parse_s / n);
#else
    std::cerr << "--rules: built without the rules module\n";
    return 2;
#endif
  }
  so.epochs = epochs;
  parsed.clear();

  std::vector<const Item*> train, test;
  for (const auto& it : items) (it.train ? train : test).push_back(&it);

  auto build = [&](const std::vector<const Item*>& set) {
    Model model(opt);
    std::vector<Features> xs;
    std::vector<bool> ys;
    for (const Item* it : set) {
      xs.push_back(it->features);
      ys.push_back(it->spam);
    }
    model.train(xs, ys, epochs);
    return model;
  };

  if (cv > 1) {
    // Cross-validation on the train half only. --cv-seeds N repeats it over N different fold
    // partitions (shuffle seeds 7, 8, ...) and also prints the mean of each figure: the figures at
    // FPR <= 0.1% / 0.01% hinge on 2 / 0 ham, so one partition alone is a noisy guide.
    std::vector<std::vector<Metrics>> per_seed_methods(methods.size());
    std::vector<Metrics> per_seed_hand, per_seed_stack, per_seed_grams, per_seed_ppm;
    const bool grams = (opt.tokenizer.extras & kTokByteGrams) != 0;
    const bool ppm = (opt.tokenizer.extras & kTokPpm) != 0;
    double cv_score_s = 0, cv_train_s = 0;
    size_t cv_scored = 0;
    for (int rep = 0; rep < cv_seeds; ++rep) {
    std::vector<const Item*> shuffled = train;
    std::mt19937_64 rng(7 + static_cast<uint64_t>(rep));
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    std::vector<std::vector<Scored>> pooled(methods.size());
    std::vector<Scored> hand_pool, stack_pool, gram_pool, ppm_pool;
    for (int f = 0; f < cv; ++f) {
      std::vector<const Item*> tr, va;
      for (size_t i = 0; i < shuffled.size(); ++i) (static_cast<int>(i % static_cast<size_t>(cv)) == f ? va : tr).push_back(shuffled[i]);
      auto tt = Clock::now();
      Model model = build(tr);
      cv_train_s += seconds_since(tt);
      for (size_t k = 0; k < methods.size(); ++k) {
        auto s = score_all(model, methods[k], va);
        pooled[k].insert(pooled[k].end(), s.begin(), s.end());
      }
      if (grams || ppm)  // the n-gram and PPM learners alone (their stack inputs)
        for (const Item* it : va) {
          const Explanation e = model.explain(it->features);
          for (auto [on, g, pool] : {std::tuple{grams, e.gram_margin, &gram_pool}, std::tuple{ppm, e.ppm, &ppm_pool}})
            if (on) pool->push_back({g, 1.0 / (1.0 + std::exp(-g)), it->spam, it});
        }
      if (!rules_dir.empty()) {
        model.set_method(Method::Combined);
        auto s = score_engine(model, va, false);
        hand_pool.insert(hand_pool.end(), s.begin(), s.end());
        std::vector<Features> xs;
        std::vector<bool> ys;
        std::vector<std::vector<SymbolHit>> syms;
        for (const Item* it : tr) xs.push_back(it->features), ys.push_back(it->spam), syms.push_back(it->symbols);
        model.fit_stack(xs, ys, syms, so);
        auto tc = Clock::now();
        s = score_engine(model, va, true);
        cv_score_s += seconds_since(tc);
        cv_scored += va.size();
        stack_pool.insert(stack_pool.end(), s.begin(), s.end());
      }
    }
    for (size_t k = 0; k < methods.size(); ++k) per_seed_methods[k].push_back(measure(pooled[k]));
    if (grams) per_seed_grams.push_back(measure(gram_pool));
    if (ppm) per_seed_ppm.push_back(measure(ppm_pool));
    if (!rules_dir.empty()) {
      per_seed_hand.push_back(measure(hand_pool));
      per_seed_stack.push_back(measure(stack_pool));
      // For the choice of StackOptions::tag_logit: the stack log-odds of the 6th-highest CV ham
      // (a tag threshold just above it lets at most 5 of the ~2,056 ham, 0.25%, through).
      std::vector<double> hs;
      for (const auto& x : stack_pool)
        if (!x.spam) hs.push_back(x.score - 5.0 + so.tag_logit);
      std::sort(hs.rbegin(), hs.rend());
      if (hs.size() > 5) std::printf("CVTAG partition %d: stack log-odds of CV ham #6 %.3f\n", rep, hs[5]);
    }
    if (rep + 1 < cv_seeds) continue;  // the details below: the last partition only
    if (!rules_dir.empty()) {
      print_engine_rows("engine (CV on train)", {{"hand scores", hand_pool}, {"stacked", stack_pool}});
      // Where the stacked threshold would sit for a given CV ham FPR.
      std::vector<double> hs;
      for (const auto& x : stack_pool)
        if (!x.spam) hs.push_back(x.score);
      std::sort(hs.rbegin(), hs.rend());
      for (size_t k : {0, 1, 2, 3, 4, 5, 6, 8, 10})
        if (k < hs.size()) {
          size_t tp = 0, ns = 0;
          for (const auto& x : stack_pool)
            if (x.spam) ns++, tp += x.score > hs[k];
          std::printf("  above ham #%zu (score %.2f): recall %.2f%%\n", k + 1, hs[k], 100.0 * tp / ns);
        }
      std::vector<Scored> hams, spams;
      for (const auto& x : stack_pool) (x.spam ? spams : hams).push_back(x);
      std::sort(hams.begin(), hams.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
      std::sort(spams.begin(), spams.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
      std::printf("\nstacked, CV worst ham / worst spam:\n");
      for (size_t i = 0; i < std::min(worst, hams.size()); ++i)
        std::printf("  ham  %-12s %s %.2f\n", hams[i].item->group.c_str(),
                    hams[i].item->path.substr(hams[i].item->path.rfind('/') + 1).c_str(), hams[i].score);
      for (size_t i = 0; i < std::min(worst, spams.size()); ++i)
        std::printf("  spam %-12s %s %.2f\n", spams[i].item->group.c_str(),
                    spams[i].item->path.substr(spams[i].item->path.rfind('/') + 1).c_str(), spams[i].score);
    } else {
    std::cout << "| method (" << cv << "-fold CV on train) | ham FPR p>=0.5 | recall p>=0.5 | recall @FPR<=0.1% | recall @FPR<=0.01% | AUC |\n|---|---|---|---|---|---|\n";
    for (size_t k = 0; k < methods.size(); ++k) {
      Metrics m = measure(pooled[k]);
      std::printf("| %s | %s | %s | %s | %s | %.5f |\n", to_string(methods[k]), pct(m.fp_half, m.ham).c_str(),
                  pct(static_cast<double>(m.tp_half) / static_cast<double>(m.spam)).c_str(),
                  pct(m.recall_fpr_01).c_str(), pct(m.recall_fpr_001).c_str(), m.auc);
    }
    for (size_t k = 0; k < methods.size(); ++k) {
      std::vector<Scored> hams, spams;
      for (const auto& x : pooled[k]) (x.spam ? spams : hams).push_back(x);
      std::sort(hams.begin(), hams.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
      std::sort(spams.begin(), spams.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
      std::printf("\n%s, CV worst ham / worst spam:\n", to_string(methods[k]));
      for (size_t i = 0; i < std::min(worst, hams.size()); ++i)
        std::printf("  ham  %-14s %s p=%.4f score=%.2f\n", hams[i].item->group.c_str(),
                    hams[i].item->path.substr(hams[i].item->path.rfind('/') + 1).c_str(), hams[i].p, hams[i].score);
      for (size_t i = 0; i < std::min(worst, spams.size()); ++i)
        std::printf("  spam %-14s %s p=%.4f score=%.2f\n", spams[i].item->group.c_str(),
                    spams[i].item->path.substr(spams[i].item->path.rfind('/') + 1).c_str(), spams[i].p, spams[i].score);
    }
    }
    }
    // Mean over the partitions (one line per row; "CVMEAN" to grep).
    auto mean_row = [&](const std::string& name, const std::vector<Metrics>& ms) {
      double fp = 0, r01 = 0, r001 = 0, a = 0, tp = 0;
      std::string r01s, r001s;
      for (const auto& m : ms) {
        fp += static_cast<double>(m.fp_half), tp += static_cast<double>(m.tp_half) / static_cast<double>(m.spam);
        r01 += m.recall_fpr_01, r001 += m.recall_fpr_001, a += m.auc;
        r01s += (r01s.empty() ? "" : "/") + pct(m.recall_fpr_01);
        r001s += (r001s.empty() ? "" : "/") + pct(m.recall_fpr_001);
      }
      double n = static_cast<double>(ms.size());
      std::printf("CVMEAN %-12s x%zu: ham FP %.1f, recall@default %.2f%%, recall@0.1%% %.2f%% (%s), recall@0.01%% %.2f%% (%s), AUC %.5f\n",
                  name.c_str(), ms.size(), fp / n, 100 * tp / n, 100 * r01 / n, r01s.c_str(), 100 * r001 / n, r001s.c_str(), a / n);
    };
    std::printf("\n");
    for (size_t k = 0; k < methods.size(); ++k) mean_row(to_string(methods[k]), per_seed_methods[k]);
    if (grams) mean_row("ngram", per_seed_grams);
    if (ppm) mean_row("ppm", per_seed_ppm);
    if (!rules_dir.empty()) {
      mean_row("hand", per_seed_hand);
      mean_row("stacked", per_seed_stack);
      std::printf("CVCOST stacked classify %.1f us/message (pre-tokenized, %zu scored), first-stage training %.2f s per fold model\n",
                  cv_scored ? 1e6 * cv_score_s / static_cast<double>(cv_scored) : 0.0, cv_scored,
                  cv_train_s / static_cast<double>(cv * cv_seeds));
    }
    return 0;
  }

  t0 = Clock::now();
  Model model = build(train);
  double train_s = seconds_since(t0);
  size_t ntrain_spam = 0;
  for (const Item* it : train) ntrain_spam += it->spam;
  size_t ntest_spam = 0;
  for (const Item* it : test) ntest_spam += it->spam;
  std::printf("TRAIN %zu ham + %zu spam, TEST %zu ham + %zu spam; %zu Bayes features, model blob %zu bytes\n\n",
              train.size() - ntrain_spam, ntrain_spam, test.size() - ntest_spam, ntest_spam, model.bayes_features(),
              model.serialize().size());

  std::printf("| method | ham FPR at default (BAYES_SPAM >= 5, p >= ~0.979) | spam recall at default | ham FPR at p >= 0.5 | spam recall at p >= 0.5 | recall at FPR <= 0.1%% | recall at FPR <= 0.01%% | ROC AUC |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::vector<std::vector<Scored>> all_scores;
  for (Method meth : methods) {
    auto s = score_all(model, meth, test);
    Metrics m = measure(s);
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %.5f |\n", to_string(meth), pct(m.fp_tag, m.ham).c_str(),
                pct(static_cast<double>(m.tp_tag) / static_cast<double>(m.spam)).c_str(), pct(m.fp_half, m.ham).c_str(),
                pct(static_cast<double>(m.tp_half) / static_cast<double>(m.spam)).c_str(), pct(m.recall_fpr_01).c_str(),
                pct(m.recall_fpr_001).c_str(), m.auc);
    all_scores.push_back(std::move(s));
  }

  for (size_t k = 0; k < methods.size(); ++k) {
    auto& s = all_scores[k];
    std::vector<Scored> hams;
    for (const auto& x : s)
      if (!x.spam) hams.push_back(x);
    std::sort(hams.begin(), hams.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    std::printf("\nWorst ham (highest scores), %s:\n\n| file | group | p(spam) | ranking score (log-odds) |\n|---|---|---|---|\n", to_string(methods[k]));
    for (size_t i = 0; i < std::min(worst, hams.size()); ++i) {
      std::string name = hams[i].item->path.substr(hams[i].item->path.rfind('/') + 1);
      std::printf("| %s | %s | %.4f | %.2f |\n", name.c_str(), hams[i].item->group.c_str(), hams[i].p, hams[i].score);
    }
  }

  if (!rules_dir.empty()) {
    model.set_method(Method::Combined);
    auto hand = score_engine(model, test, false);
    std::vector<Features> xs;
    std::vector<bool> ys;
    std::vector<std::vector<SymbolHit>> syms;
    for (const Item* it : train) xs.push_back(it->features), ys.push_back(it->spam), syms.push_back(it->symbols);
    auto ts = Clock::now();
    model.fit_stack(xs, ys, syms, so);
    double stack_s = seconds_since(ts);
    auto stacked = score_engine(model, test, true);
    print_engine_rows("engine on TEST", {{"hand scores", hand}, {"stacked", stacked}});
    Stack st = model.stack();
    std::printf("\nstack fitted in %.1f s: bias %.3f, inputs", stack_s, st.bias);
    for (double w : st.w_in) std::printf(" %.3f", w);
    std::printf(", %zu symbols\n", st.w_sym.size());
    std::vector<Scored> hams, spams;
    for (const auto& x : stacked) (x.spam ? spams : hams).push_back(x);
    std::sort(hams.begin(), hams.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    std::sort(spams.begin(), spams.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
    for (auto [label, v] : {std::pair{"ham", &hams}, std::pair{"spam", &spams}}) {
      std::printf("\nstacked, worst TEST %s:\n", label);
      for (size_t i = 0; i < std::min(worst, v->size()); ++i) {
        const Item& it = *(*v)[i].item;
        std::printf("  %s %-12s %s %.2f bayes=%.2f %s\n", label, it.group.c_str(), it.path.substr(it.path.rfind('/') + 1).c_str(),
                    (*v)[i].score, model.stacked_classifier_score(it.features).value_or(0), symbol_list(model, it, true).c_str());
      }
    }
  }

  // Throughput per core: parse + tokenize + classify, one thread, over the test half.
  model.set_method(methods.back());
  t0 = Clock::now();
  double sink = 0;
  for (const Item* it : test) {
    auto msg = message::parse(it->raw);
    sink += model.classify(*msg);
  }
  double full_s = seconds_since(t0);
  t0 = Clock::now();
  for (const Item* it : test) sink += model.classify(it->features);
  double classify_s = seconds_since(t0);
  double n = static_cast<double>(test.size());
  std::printf("\nThroughput (1 thread, %zu test messages, method %s): parse+tokenize+classify %.0f msg/s; "
              "classify only (pre-tokenized) %.0f msg/s; parse alone %.0f msg/s, tokenize alone %.0f msg/s "
              "(all %zu messages); training %.2f s. [checksum %.3f]\n",
              test.size(), to_string(methods.back()), n / full_s, n / classify_s,
              static_cast<double>(items.size()) / parse_s, static_cast<double>(items.size()) / extract_s, items.size(), train_s, sink);
  return 0;
}
