// Content rules: a tenant's ordered list of "if these conditions, do these actions", checked
// before the class policy. The whole list is one text, validated as a whole when saved (a bad
// rule refuses the save with its line and nothing changes), one rule per line:
//
//   rule NAME: COND[, COND...] => ACTION[, ACTION...]
//
// Conditions (all must hold):  sender ~ "GLOB"     recipient ~ "GLOB"     (address or domain patterns, as lists)
//   subject contains "TEXT"   body contains "TEXT"   header NAME contains "TEXT"   (case-insensitive)
//   attachment ~ "GLOB" (a file name)   attachment-type ~ "GLOB" (e.g. "application/x-msdownload")
//   size > N | size < N (bytes)   score >= N | score < N   verdict = CLASS
// Actions: deliver | tag | quarantine | delete | reject (decisive: the first matching rule with
//   one decides; later rules are not consulted for the action), add-header "Name: value",
//   skip-spam (spam and bulk are treated as clean, never phishing, malware or unscannable),
//   redirect "ADDRESS" (the mail goes to ADDRESS instead of the recipient; the first matching
//   redirect counts), copy "ADDRESS" (ADDRESS gets a copy as well). Redirect and copy apply when
//   the message is delivered (deliver or tag); ADDRESS must be in one of the tenant's own domains
//   (checked when the rules are saved, PolicyService::set_rules).
// A rule never delivers malware: a deliver or tag for a malware verdict is ignored.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "message/message.h"
#include "util/status.h"

namespace mm::policy {

enum class Action;

struct RuleCondition {
  std::string field;  // sender, recipient, subject, body, header, attachment, attachment-type, size, score, verdict
  std::string header;  // for field == "header"
  std::string op;     // ~, contains, =, >, <, >=
  std::string value;  // lower-case for text comparisons
  double number = 0;
};

struct ContentRule {
  std::string name;
  std::vector<RuleCondition> conditions;
  std::optional<Action> action;          // decisive action, if any
  std::vector<std::string> add_headers;  // "Name: value"
  bool skip_spam = false;
  std::string redirect;             // lower-case address, "" = none
  std::vector<std::string> copies;  // lower-case addresses
};

struct RuleSet {
  std::vector<ContentRule> rules;
};

Result<RuleSet> parse_rules(const std::string& text);

// What the message looks like to the rules (one recipient at a time).
struct RuleInput {
  const message::Message* msg = nullptr;  // may be null (then message conditions do not hold)
  std::vector<std::string> senders;       // envelope sender and From, lower-case
  std::string recipient;                  // lower-case
  std::string verdict;
  double score = 0;
  size_t size = 0;
};

bool matches(const ContentRule&, const RuleInput&);

}  // namespace mm::policy
