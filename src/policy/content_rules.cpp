#include "policy/content_rules.h"

#include "store/validate.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "policy/policy.h"

namespace mm::policy {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct Tok {
  std::string text;
  bool quoted = false;
};

// Words, "quoted strings" (\" and \\ escapes), and the punctuation ':' ',' '=>'.
Result<std::vector<Tok>> tokenize(const std::string& line) {
  std::vector<Tok> out;
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '"') {
      std::string s;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          s += line[i + 1];
          i += 2;
        } else if (line[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          s += line[i++];
        }
      }
      if (!closed) return Status::error("unterminated string");
      out.push_back({s, true});
    } else if (c == ':' || c == ',') {
      out.push_back({std::string(1, c), false});
      ++i;
    } else if (line.compare(i, 2, "=>") == 0) {
      out.push_back({"=>", false});
      i += 2;
    } else {
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != ',' && line[j] != ':' &&
             line[j] != '"' && line.compare(j, 2, "=>") != 0)
        ++j;
      out.push_back({line.substr(i, j - i), false});
      i = j;
    }
  }
  return out;
}

const std::set<std::string> kFields = {"sender", "recipient", "subject", "body", "header", "attachment",
                                       "attachment-type", "size", "score", "verdict"};

Result<RuleCondition> parse_condition(const std::vector<Tok>& t) {
  if (t.empty()) return Status::error("empty condition");
  RuleCondition c;
  c.field = lower(t[0].text);
  if (!kFields.count(c.field)) return Status::error("unknown condition '" + t[0].text + "'");
  size_t k = 1;
  if (c.field == "header") {
    if (t.size() < 2) return Status::error("header needs a field name");
    c.header = t[1].text;
    k = 2;
  }
  if (t.size() != k + 2) return Status::error("condition '" + c.field + "' must be FIELD OP VALUE");
  c.op = t[k].text;
  const std::string& v = t[k + 1].text;
  c.value = lower(v);
  auto need = [&](std::initializer_list<const char*> ops) -> Status {
    for (auto* o : ops)
      if (c.op == o) return Status::ok();
    std::string list;
    for (auto* o : ops) list += std::string(list.empty() ? "" : " or ") + o;
    return Status::error("condition '" + c.field + "' takes " + list + ", not '" + c.op + "'");
  };
  if (c.field == "sender" || c.field == "recipient") {
    if (auto st = need({"~"}); !st) return st;
    auto p = normalize_pattern(v);
    if (!p) return p.status();
    c.value = *p;
  } else if (c.field == "attachment" || c.field == "attachment-type") {
    if (auto st = need({"~"}); !st) return st;
    if (c.value.empty() || c.value.size() > 255) return Status::error(c.field + " pattern must be 1..255 characters");
  } else if (c.field == "subject" || c.field == "body" || c.field == "header") {
    if (auto st = need({"contains"}); !st) return st;
    if (c.value.empty() || c.value.size() > 255) return Status::error(c.field + " text must be 1..255 characters");
  } else if (c.field == "verdict") {
    if (auto st = need({"="}); !st) return st;
    static const std::set<std::string> classes = {"clean", "spam", "bulk", "phishing", "malware", "unscannable"};
    if (!classes.count(c.value)) return Status::error("unknown verdict '" + v + "'");
  } else {  // size, score
    if (auto st = c.field == "size" ? need({">", "<"}) : need({">=", "<"}); !st) return st;
    char* end = nullptr;
    c.number = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || c.number != c.number || c.number < -1e12 || c.number > 1e12)
      return Status::error(c.field + " needs a number, not '" + v + "'");
  }
  return c;
}

Status parse_action_tokens(const std::vector<Tok>& t, ContentRule& r) {
  if (t.empty()) return Status::error("empty action");
  std::string a = lower(t[0].text);
  if (auto act = parse_action(a)) {
    if (t.size() != 1) return Status::error("action '" + a + "' takes no argument");
    if (r.action) return Status::error("a rule has at most one of deliver, tag, quarantine, delete, reject");
    r.action = *act;
  } else if (a == "skip-spam") {
    if (t.size() != 1) return Status::error("skip-spam takes no argument");
    r.skip_spam = true;
  } else if (a == "add-header") {
    if (t.size() != 2) return Status::error("add-header takes one \"Name: value\" string");
    const std::string& h = t[1].text;
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h.size() > 900)
      return Status::error("add-header needs \"Name: value\"");
    for (size_t i = 0; i < colon; ++i)
      if (h[i] <= ' ' || h[i] > '~') return Status::error("header name '" + h.substr(0, colon) + "' is not valid");
    for (unsigned char ch : h)
      if (ch < 0x20 && ch != '\t') return Status::error("add-header value must be one line");
    if (lower(h.substr(0, colon)).rfind("x-mailmoat-", 0) == 0 || lower(h.substr(0, colon)).rfind("x-spam-", 0) == 0)
      return Status::error("add-header cannot write mailmoat's own verdict headers");
    r.add_headers.push_back(h);
  } else if (a == "redirect" || a == "copy") {
    if (t.size() != 2) return Status::error(a + " takes one \"address\" string");
    auto addr = store::normalize_address(t[1].text);
    if (!addr) return Status::error(a + ": " + addr.error());
    if (a == "copy") {
      if (r.copies.size() >= 10) return Status::error("a rule copies to at most 10 addresses");
      r.copies.push_back(*addr);
    } else {
      if (!r.redirect.empty()) return Status::error("a rule redirects to one address");
      r.redirect = *addr;
    }
  } else {
    return Status::error("unknown action '" + t[0].text + "'");
  }
  return Status::ok();
}

// Splits tokens at ',' (outside strings: the tokenizer made ',' its own token).
std::vector<std::vector<Tok>> split(const std::vector<Tok>& t, size_t from, size_t to) {
  std::vector<std::vector<Tok>> out(1);
  for (size_t i = from; i < to; ++i) {
    if (!t[i].quoted && t[i].text == ",") out.emplace_back();
    else out.back().push_back(t[i]);
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle_lower) {
  return lower(haystack.substr(0, 1 << 20)).find(needle_lower) != std::string::npos;
}

}  // namespace

Result<RuleSet> parse_rules(const std::string& text) {
  RuleSet rs;
  std::set<std::string> names;
  size_t lineno = 0, pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++lineno;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto err = [&](const std::string& m) { return Status::error("content rules, line " + std::to_string(lineno) + ": " + m); };
    auto toks = tokenize(line);
    if (!toks) return err(toks.error());
    auto& t = *toks;
    if (t.size() < 3 || lower(t[0].text) != "rule" || t[2].text != ":")
      return err("must look like: rule NAME: CONDITION, ... => ACTION, ...");
    ContentRule r;
    r.name = t[1].text;
    if (r.name.empty() || r.name.size() > 64) return err("rule name must be 1..64 characters");
    if (!names.insert(r.name).second) return err("rule '" + r.name + "' is defined twice");
    size_t arrow = 3;
    while (arrow < t.size() && !(t[arrow].text == "=>" && !t[arrow].quoted)) ++arrow;
    if (arrow == t.size()) return err("missing '=>' before the actions");
    if (arrow == 3) return err("a rule needs at least one condition");
    for (auto& c : split(t, 3, arrow)) {
      auto cond = parse_condition(c);
      if (!cond) return err(cond.error());
      r.conditions.push_back(*cond);
    }
    if (arrow + 1 == t.size()) return err("a rule needs at least one action");
    for (auto& a : split(t, arrow + 1, t.size()))
      if (auto st = parse_action_tokens(a, r); !st) return err(st.message());
    rs.rules.push_back(std::move(r));
  }
  if (rs.rules.size() > 500) return Status::error("at most 500 content rules");
  return rs;
}

bool matches(const ContentRule& r, const RuleInput& in) {
  for (auto& c : r.conditions) {
    bool ok = false;
    if (c.field == "sender") {
      for (auto& s : in.senders) ok = ok || pattern_matches(c.value, s);
    } else if (c.field == "recipient") {
      ok = pattern_matches(c.value, in.recipient);
    } else if (c.field == "verdict") {
      ok = in.verdict == c.value;
    } else if (c.field == "score") {
      ok = c.op == ">=" ? in.score >= c.number : in.score < c.number;
    } else if (c.field == "size") {
      ok = c.op == ">" ? static_cast<double>(in.size) > c.number : static_cast<double>(in.size) < c.number;
    } else if (!in.msg) {
      ok = false;
    } else if (c.field == "subject") {
      ok = contains(in.msg->subject, c.value);
    } else if (c.field == "body") {
      ok = contains(in.msg->body_text(), c.value);
    } else if (c.field == "header") {
      for (auto* h : in.msg->headers_named(c.header)) ok = ok || contains(h->value, c.value);
    } else if (c.field == "attachment" || c.field == "attachment-type") {
      for (auto& p : in.msg->parts)
        if (p.is_attachment)
          ok = ok || glob_match(c.value, lower(c.field == "attachment" ? p.filename : p.content_type));
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace mm::policy
