#include "cli/engine.h"

#include <filesystem>

#include "classifier/bayes_check.h"
#include "links/links_check.h"
#include "phish/phish_check.h"
#include "rules/heuristics.h"
#include "rules/rule_set.h"
#include "rules/rules_check.h"

namespace mm::cli {

std::shared_ptr<const links::UriDnsResolver> uri_dns_resolver() { return nullptr; }

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

  if (c.links_enabled) {
    std::filesystem::path data = c.links_data_dir.empty() ? std::filesystem::path(c.rules_dir) / "links"
                                                          : std::filesystem::path(c.links_data_dir);
    links::LinksOptions lopt;
    auto shorteners = links::read_list_file(data / "shorteners.txt");
    if (!shorteners) return Status::error("[links] " + shorteners.error());
    lopt.shorteners = std::make_shared<links::DomainSet>(*shorteners);
    if (!c.url_blocklist_file.empty()) {
      auto f = std::make_shared<links::FileDomainSet>(c.url_blocklist_file);
      if (!f->last_error().empty()) return Status::error("[links] blocklist_file: " + f->last_error());
      lopt.operator_file = std::move(f);
    }
    for (auto& z : c.uri_dnsbl_zones) lopt.zones.push_back({z});
    lopt.resolver = uri_dns_resolver();  // null until the DNS module provides one: the zones are then unused
    lopt.max_dns_queries = static_cast<size_t>(c.uri_dnsbl_max_queries);
    lopt.dns_timeout = std::chrono::milliseconds(c.uri_dnsbl_timeout_ms);
    s.engine->add(std::make_unique<links::LinksCheck>(std::move(lopt)));
    auto pdata = phish::load_data(data);
    if (!pdata) return Status::error("[links] " + pdata.error());
    phish::PhishOptions popt;
    popt.data = *pdata;
    s.engine->add(std::make_unique<phish::PhishCheck>(std::move(popt)));
    s.summary += ", links and phishing: " + std::to_string((*pdata)->brands.size()) + " brands, " +
                 std::to_string(shorteners->size()) + " shorteners" +
                 (c.uri_dnsbl_zones.empty() ? "" : lopt.resolver ? ", URI DNS lists on" : ", URI DNS lists configured but no resolver yet");
  }

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
  if (auto f = s.engine->finalize(); !f) return f;
  return s;
}

}  // namespace mm::cli
