// Builds the scan engine from the configuration: the project's rules, the structural heuristics
// and the statistical classifier (its model persisted in the store as the blob "classifier").
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "classifier/model.h"
#include "config/config.h"
#include "scan/engine.h"
#include "store/store.h"

namespace mm::dns {
class Resolver;
}

namespace mm::cli {

inline constexpr const char* kModelBlob = "classifier";

struct ScanSetup {
  std::shared_ptr<scan::Engine> engine;
  std::shared_ptr<classifier::Model> model;  // shared with the "bayes" check
  std::string summary;                       // "rules: 96 from rules/, classifier: 2938 examples"
};

// An error names what failed (a rule file line, a corrupt model).
// `resolver` (optional): the asynchronous resolver for URI DNS block lists ([links]
// uri_dnsbl_zones); without one the zones are unused (`mailmoat scan`).
Result<ScanSetup> build_engine(const config::Config&, store::Store&, std::shared_ptr<dns::Resolver> resolver = nullptr);
// The antivirus (clamd: managed or external) and attachment checks of [antivirus]/[attachments];
// build_engine adds them first. `summary` gets a short description.
Status add_malware_checks(const config::Config&, scan::Engine&, std::string& summary);

// The rule and heuristic symbols of a message, as the classifier's second stage learns them
// (`mailmoat train`): the configured rules_dir, date checks off (example mail is old mail).
using SymbolSource = std::function<std::vector<classifier::SymbolHit>(const message::Message&)>;
Result<SymbolSource> symbol_source(const config::Config&);

}  // namespace mm::cli
