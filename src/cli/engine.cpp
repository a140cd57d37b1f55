#include "cli/engine.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "auth/auth_check.h"
#include "attachments/attachment_check.h"
#include "av/av_check.h"
#include "av/managed_clamd.h"
#include "classifier/bayes_check.h"
#include "links/dns_uribl.h"
#include "links/links_check.h"
#include "phish/phish_check.h"
#include "ops/log.h"
#include "rules/heuristics.h"
#include "rules/rule_set.h"
#include "rules/rules_check.h"

namespace mm::cli {


Status add_malware_checks(const config::Config& c, scan::Engine& engine, std::string& summary) {
  if (c.av_enabled) {
    std::shared_ptr<void> keep;
    av::ClamdAddress addr;
    if (c.av_mode == "external") {
      auto a = av::ClamdAddress::parse(c.av_socket);
      if (!a) return Status::error("[antivirus] socket: " + a.error());
      addr = *a;
      summary = "antivirus: clamd at " + addr.str();
    } else {
      if (::access(c.av_clamd_path.c_str(), X_OK) != 0)
        return Status::error("[antivirus] clamd_path " + c.av_clamd_path +
                             " is not executable: install clamav-daemon (scripts/setup.sh), or use mode = "
                             "\"external\" or enabled = false");
      std::string db = c.av_database_dir.empty() ? av::default_database_dir() : c.av_database_dir;
      if (!std::filesystem::is_directory(db))
        return Status::error("[antivirus] database_dir " + db + " is not a directory" +
                             (c.av_database_dir.empty() ? " (the build makes it: scripts/build.sh)" : ""));
      av::ManagedOptions mo;
      mo.clamd_path = c.av_clamd_path;
      mo.var_dir = c.var_dir;
      mo.database_dir = c.av_database_dir;
      mo.temp_dir = c.av_temp_dir;
      mo.max_scan_size = c.av_max_scan_size;
      mo.max_file_size = c.av_max_file_size;
      mo.max_recursion = c.av_archive_depth;
      mo.max_files = static_cast<int>(c.av_max_files);
      mo.scan_time_limit_ms = c.av_timeout_ms;
      mo.reload_check_s = c.av_reload_check_s;
      mo.log = [](int level, const std::string& event, const std::string& detail) {
        JsonLine j;
        j.add("detail", detail);
        if (level == 0) log::info(event.c_str(), j);
        else if (level == 1) log::warn(event.c_str(), j);
        else log::error(event.c_str(), j);
      };
      auto clamd = av::ManagedClamd::acquire(mo);
      addr = clamd->address();
      bool ready = clamd->wait_ready(std::chrono::seconds(c.av_startup_wait_s));
      if (!ready)
        log::warn("clamd.not_ready", JsonLine().add("socket", addr.str()).add(
                                         "note", "mail is held and scanned again once clamd answers"));
      summary = "antivirus: managed clamd on " + addr.str() + " (signatures " +
                (c.av_database_dir.empty() ? av::default_database_dir() : c.av_database_dir) + ")" +
                (ready ? "" : " NOT READY");
      keep = clamd;
    }
    av::AvOptions ao;
    ao.max_scan_size = c.av_max_scan_size;
    ao.timeout_ms = c.av_timeout_ms;
    engine.add(std::make_unique<av::AvCheck>(av::ClamdClient(addr), ao, std::move(keep)));
  } else {
    summary = "antivirus: OFF";
  }
  if (c.att_enabled) {
    auto pol = std::make_shared<attachments::Policy>();
    if (c.att_blocked_extensions_set)
      pol->blocked_extensions = {c.att_blocked_extensions.begin(), c.att_blocked_extensions.end()};
    else
      pol->blocked_extensions = attachments::default_blocked_extensions();
    pol->block_executables = c.att_block_executables;
    pol->block_macros = c.att_block_macros;
    pol->block_double_extensions = c.att_block_double_extensions;
    pol->block_type_mismatch = c.att_block_type_mismatch;
    pol->block_bidi_names = c.att_block_bidi_names;
    pol->limits.max_depth = c.att_archive_depth;
    pol->limits.max_files = c.att_max_files;
    pol->limits.max_total_bytes = c.att_max_expanded_bytes;
    pol->limits.max_entry_bytes = c.att_max_expanded_bytes;
    engine.add(std::make_unique<attachments::AttachmentCheck>(std::move(pol)));
    summary += ", attachments: checked";
  }
  return {};
}

namespace {

// The links and phishing checks of [links] (enabled), as the engine and the training symbols use them.
struct LinkChecks {
  std::unique_ptr<scan::Check> links, phish;
  std::string summary;
};

Result<LinkChecks> link_checks(const config::Config& c, std::shared_ptr<dns::Resolver> resolver) {
  LinkChecks out;
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
  lopt.resolver = links::make_dns_uri_resolver(std::move(resolver));  // null: the zones are unused
  lopt.max_dns_queries = static_cast<size_t>(c.uri_dnsbl_max_queries);
  lopt.dns_timeout = std::chrono::milliseconds(c.uri_dnsbl_timeout_ms);
  bool has_resolver = lopt.resolver != nullptr;
  out.links = std::make_unique<links::LinksCheck>(std::move(lopt));
  auto pdata = phish::load_data(data);
  if (!pdata) return Status::error("[links] " + pdata.error());
  phish::PhishOptions popt;
  popt.data = *pdata;
  out.phish = std::make_unique<phish::PhishCheck>(std::move(popt));
  out.summary = ", links and phishing: " + std::to_string((*pdata)->brands.size()) + " brands, " +
                std::to_string(shorteners->size()) + " shorteners" +
                (c.uri_dnsbl_zones.empty() ? "" : has_resolver ? ", URI DNS lists on" : ", URI DNS lists configured but unused (no resolver here)");
  return out;
}

}  // namespace

Result<ScanSetup> build_engine(const config::Config& c, store::Store& st, std::shared_ptr<dns::Resolver> resolver) {
  ScanSetup s;
  scan::Thresholds t;
  t.tag = c.tag_score;
  t.reject = c.reject_score;
  t.bulk = c.bulk_score;
  s.engine = std::make_shared<scan::Engine>(t);
  // The antivirus (and the links check with URI DNS lists) wait on I/O: they overlap the others.
  s.engine->set_parallel_checks(c.scan_parallel_checks ? static_cast<size_t>(c.scan_check_threads) : 0);
  // Malware checks first: their verdict wins over everything, so the engine's early stop must
  // never skip them.
  if (auto mw = add_malware_checks(c, *s.engine, s.summary); !mw) return mw;
  s.summary += "; ";

  if (!std::filesystem::is_directory(c.rules_dir))
    return Status::error("[scan] rules_dir '" + c.rules_dir + "' is not a directory");
  auto rules = rules::RuleSet::load_dir(c.rules_dir);
  if (!rules) return Status::error("rules: " + rules.error());
  const auto& rs = (*rules)->stats();
  s.summary += "rules: " + std::to_string(rs.rules) + " from " + c.rules_dir + " (compiled in " +
              std::to_string(static_cast<int>(rs.compile_ms)) + " ms)";
  s.engine->add(std::make_unique<rules::RulesCheck>(*rules));
  rules::HeuristicsOptions hopt;
  hopt.check_dates = c.date_checks;
  s.engine->add(std::make_unique<rules::HeuristicsCheck>(std::move(hopt)));

  if (c.links_enabled) {
    auto lc = link_checks(c, std::move(resolver));
    if (!lc) return lc.status();
    s.engine->add(std::move(lc->links));
    s.engine->add(std::move(lc->phish));
    s.summary += lc->summary;
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
  // Sender authentication symbols (SPF_*, DKIM_*, DMARC_*) when the gateway ran auth.
  s.engine->add(std::make_unique<auth::AuthCheck>());
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
  std::shared_ptr<const scan::Check> lc, pc;
  if (c.links_enabled) {
    auto l = link_checks(c, nullptr);
    if (!l) return l.status();
    lc = std::move(l->links);
    pc = std::move(l->phish);
  }
  return SymbolSource([rc, hc, lc, pc](const message::Message& m) {
    scan::Envelope env;
    std::vector<scan::Symbol> out;
    // Each check sees the symbols before it: for phishing, those of its dependencies (rules,
    // heuristics, links), as in the engine.
    auto run = [&](const scan::Check& check) {
      std::vector<scan::Symbol> prior = out;
      scan::Context ctx{m, env, prior};
      check.run(ctx, out);
    };
    run(*rc);
    run(*hc);
    if (lc) run(*lc);
    if (pc) run(*pc);
    std::vector<classifier::SymbolHit> hits;
    for (auto& sym : out) hits.push_back({sym.name, sym.score});
    return hits;
  });
}

}  // namespace mm::cli
