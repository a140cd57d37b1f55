#include "cli/engine.h"

#include <filesystem>

#include "classifier/bayes_check.h"
#include "rules/heuristics.h"
#include "rules/rule_set.h"
#include "rules/rules_check.h"

namespace mm::cli {

Result<ScanSetup> build_engine(const config::Config& c, store::Store& st) {
  ScanSetup s;
  scan::Thresholds t;
  t.tag = c.tag_score;
  t.reject = c.reject_score;
  t.bulk = c.bulk_score;
  s.engine = std::make_shared<scan::Engine>(t);

  if (!std::filesystem::is_directory(c.rules_dir))
    return Status::error("[scan] rules_dir '" + c.rules_dir + "' is not a directory");
  auto rules = rules::RuleSet::load_dir(c.rules_dir);
  if (!rules) return Status::error("rules: " + rules.error());
  const auto& rs = (*rules)->stats();
  s.summary = "rules: " + std::to_string(rs.rules) + " from " + c.rules_dir + " (compiled in " +
              std::to_string(static_cast<int>(rs.compile_ms)) + " ms)";
  s.engine->add(std::make_unique<rules::RulesCheck>(*rules));
  rules::HeuristicsOptions hopt;
  hopt.check_dates = c.date_checks;
  s.engine->add(std::make_unique<rules::HeuristicsCheck>(std::move(hopt)));

  auto blob = st.get_blob(kModelBlob);
  if (blob) {
    auto m = classifier::Model::deserialize(*blob);
    if (!m) return Status::error("the stored classifier model is unreadable: " + m.error() +
                                 " (retrain with `mailmoat train`)");
    s.model = std::make_shared<classifier::Model>(std::move(*m));
  } else {
    s.model = std::make_shared<classifier::Model>();
  }
  s.summary += ", classifier: " + std::to_string(s.model->spam_examples()) + " spam + " +
               std::to_string(s.model->ham_examples()) + " ham examples" +
               (s.model->trained() ? "" : " (untrained: no BAYES symbols until `mailmoat train`)");
  s.engine->add(std::make_unique<classifier::BayesCheck>(s.model));
  // A trained second stage replaces the hand scores with learnt ones (classifier/stack.h).
  s.engine->set_rescorer(std::make_shared<classifier::StackRescorer>(s.model));
  if (s.model->stacked()) s.summary += ", learnt symbol weights";
  if (auto f = s.engine->finalize(); !f) return f;
  return s;
}

Result<SymbolSource> symbol_source(const config::Config& c) {
  if (!std::filesystem::is_directory(c.rules_dir))
    return Status::error("[scan] rules_dir '" + c.rules_dir + "' is not a directory");
  auto rules = rules::RuleSet::load_dir(c.rules_dir);
  if (!rules) return Status::error("rules: " + rules.error());
  auto rc = std::make_shared<rules::RulesCheck>(*rules);
  rules::HeuristicsOptions hopt;
  hopt.check_dates = false;
  auto hc = std::make_shared<rules::HeuristicsCheck>(std::move(hopt));
  return SymbolSource([rc, hc](const message::Message& m) {
    scan::Envelope env;
    std::vector<scan::Symbol> prior, out;
    scan::Context ctx{m, env, prior};
    rc->run(ctx, out);
    hc->run(ctx, out);
    std::vector<classifier::SymbolHit> hits;
    for (auto& sym : out) hits.push_back({sym.name, sym.score});
    return hits;
  });
}

}  // namespace mm::cli
