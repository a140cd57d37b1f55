#include "scan/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "util/json_line.h"

namespace mm::scan {

const char* to_string(Class c) {
  switch (c) {
    case Class::Clean: return "clean";
    case Class::Bulk: return "bulk";
    case Class::Spam: return "spam";
    case Class::Phishing: return "phishing";
    case Class::Malware: return "malware";
    case Class::Unscannable: return "unscannable";
  }
  return "clean";
}

namespace {

constexpr double kPhishingEvidence = 2.0;

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::vector<const Symbol*> by_weight(const std::vector<Symbol>& s) {
  std::vector<const Symbol*> out;
  for (auto& x : s) out.push_back(&x);
  std::stable_sort(out.begin(), out.end(),
                   [](const Symbol* a, const Symbol* b) { return std::fabs(a->score) > std::fabs(b->score); });
  return out;
}

}  // namespace

std::string Verdict::symbol_list() const {
  std::string out;
  for (auto* s : by_weight(symbols)) {
    if (!out.empty()) out += ',';
    out += s->name + "(" + fmt(s->score) + ")";
  }
  return out;
}

std::string Verdict::to_json() const {
  std::string syms = "[";
  bool first = true;
  for (auto* s : by_weight(symbols)) {
    if (!first) syms += ',';
    first = false;
    JsonLine j;
    j.add("name", s->name).add_raw("score", fmt(s->score)).add("detail", s->detail);
    if (s->hint != Class::Clean) j.add("hint", to_string(s->hint));
    syms += j.str();
  }
  syms += "]";
  JsonLine j;
  j.add_raw("score", fmt(score)).add("class", to_string(cls)).add("complete", complete);
  if (failed) j.add("error", error);
  j.add("elapsed_us", elapsed_us).add_raw("symbols", syms);
  return j.str();
}

std::string Verdict::to_text() const {
  std::string out = std::string("verdict: ") + to_string(cls) + "  score " + fmt(score);
  if (!complete) out += "  (stopped early: outcome certain)";
  if (failed) out += "  FAILED: " + error;
  out += "\n";
  for (auto* s : by_weight(symbols)) {
    char line[96];
    std::snprintf(line, sizeof line, "  %7s  %-28s ", fmt(s->score).c_str(), s->name.c_str());
    out += line + s->detail + "\n";
  }
  return out;
}

void Engine::add(std::unique_ptr<Check> check) {
  checks_.push_back(std::move(check));
  finalized_ = false;
}

Status Engine::finalize() {
  std::map<std::string, Check*> by_name;
  for (auto& c : checks_) {
    if (!by_name.emplace(c->name(), c.get()).second)
      return Status::error("two checks are named '" + c->name() + "'");
  }
  for (auto& c : checks_)
    for (auto& d : c->depends_on())
      if (!by_name.count(d)) return Status::error("check '" + c->name() + "' depends on unknown check '" + d + "'");
  // Kahn's algorithm, keeping registration order among independent checks.
  std::vector<std::unique_ptr<Check>> ordered;
  std::set<std::string> done;
  while (ordered.size() < checks_.size()) {
    bool progress = false;
    for (auto& c : checks_) {
      if (!c || done.count(c->name())) continue;
      auto deps = c->depends_on();
      if (std::all_of(deps.begin(), deps.end(), [&](auto& d) { return done.count(d) > 0; })) {
        done.insert(c->name());
        ordered.push_back(std::move(c));
        progress = true;
      }
    }
    if (!progress) return Status::error("checks have a dependency cycle");
  }
  checks_ = std::move(ordered);
  finalized_ = true;
  return {};
}

std::vector<std::string> Engine::check_names() const {
  std::vector<std::string> out;
  for (auto& c : checks_) out.push_back(c->name());
  return out;
}

Class Engine::classify(double score, const std::vector<Symbol>& symbols) const {
  return classify_with(score, symbols, nullptr);
}

Class Engine::classify_with(double score, const std::vector<Symbol>& symbols, const std::vector<double>* own) const {
  // The strongest specific class hint wins over plain spam: malware over everything, then
  // unscannable (what could not be looked at is never passed as tagged spam or clean), phishing.
  bool malware = false, unscannable = false;
  double bulk = 0, phishing = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    const Symbol& s = symbols[i];
    const double sc = own ? (*own)[i] : s.score;
    if (s.hint == Class::Malware) malware = true;
    if (s.hint == Class::Phishing) phishing += std::max(0.0, sc);
    if (s.hint == Class::Bulk) bulk += std::max(0.0, sc) + 0.5;
    if (s.hint == Class::Unscannable) unscannable = true;
  }
  if (malware) return Class::Malware;
  if (unscannable) return Class::Unscannable;
  // One weak phishing sign (a shortener, a cheap TLD) does not make spam phishing.
  if (phishing >= kPhishingEvidence && score >= thresholds_.tag) return Class::Phishing;
  if (score >= thresholds_.tag) return Class::Spam;
  if (bulk >= thresholds_.bulk) return Class::Bulk;
  return Class::Clean;
}

Verdict Engine::scan(const message::Message& msg, const Envelope& env,
                     std::chrono::steady_clock::time_point deadline) const {
  auto start = std::chrono::steady_clock::now();
  Verdict v;
  const bool rescore = rescorer_ && rescorer_->active();
  double remaining = 0;
  for (auto& c : checks_) remaining += c->max_abs_score();
  if (rescore) remaining = INFINITY;
  Memo memo;
  for (size_t i = 0; i < checks_.size(); ++i) {
    const Check& c = *checks_[i];
    // Certain? Nothing left can bring the score back under `reject`. (Clean mail runs every check,
    // so that its explanation is complete.)
    if (v.score - remaining >= thresholds_.reject) {
      v.complete = false;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      v.failed = true;
      v.error = "scan deadline passed before check '" + c.name() + "'";
      break;
    }
    size_t before = v.symbols.size();
    try {
      Context ctx{msg, env, v.symbols, deadline, &memo};
      std::vector<Symbol> out;
      c.run(ctx, out);
      for (auto& s : out) v.symbols.push_back(std::move(s));
    } catch (const std::exception& e) {
      v.failed = true;
      v.error = "check '" + c.name() + "' failed: " + e.what();
      break;
    }
    for (size_t k = before; k < v.symbols.size(); ++k) v.score += v.symbols[k].score;
    remaining -= c.max_abs_score();
  }
  if (rescore && !v.failed) {
    std::vector<double> own(v.symbols.size());  // class hints weigh the checks' own scores
    for (size_t i = 0; i < own.size(); ++i) own[i] = v.symbols[i].score;
    rescorer_->rescore(v.symbols);
    v.score = 0;
    for (auto& s : v.symbols) v.score += s.score;
    v.cls = classify_with(v.score, v.symbols, &own);
  } else {
    v.cls = classify(v.score, v.symbols);
  }
  v.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  return v;
}

}  // namespace mm::scan
