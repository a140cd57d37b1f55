#include "rules/parser.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace mm::rules::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits off the first whitespace-separated word.
std::string_view take_word(std::string_view& s) {
  s = trim(s);
  size_t n = 0;
  while (n < s.size() && !std::isspace(static_cast<unsigned char>(s[n]))) ++n;
  auto w = s.substr(0, n);
  s = trim(s.substr(n));
  return w;
}

bool valid_rule_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  if (!(std::isupper(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char c : n)
    if (!(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

bool valid_header_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (c <= 32 || c >= 127 || c == ':') return false;
  return true;
}

// "=~ /re/flags" or "!~ /re/flags". Returns "" on success, else the error.
std::string parse_match(std::string_view s, RuleDef& r) {
  s = trim(s);
  if (s.size() < 2 || (s.substr(0, 2) != "=~" && s.substr(0, 2) != "!~"))
    return "expected '=~ /regex/' or '!~ /regex/'";
  r.info.negate = s[0] == '!';
  s = trim(s.substr(2));
  if (s.empty() || s.front() != '/') return "regex must be written /like this/";
  size_t end = s.rfind('/');
  if (end == 0) return "regex has no closing '/'";
  auto pat = s.substr(1, end - 1);
  if (pat.empty()) return "empty regex";
  for (char f : s.substr(end + 1)) {
    switch (f) {
      case 'i': r.flags |= kCaseless; break;
      case 'm': r.flags |= kMultiline; break;
      case 's': r.flags |= kDotall; break;
      case 'u': r.flags |= kUtf8; break;
      default:
        return std::string("unknown regex flag '") + f + "' (known: i m s u)";
    }
  }
  r.info.pattern = std::string(pat);
  return "";
}

// --- meta expressions -------------------------------------------------------------------------
// expr  := and ('||' and)*
// and   := cmp ('&&' cmp)*
// cmp   := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)?
// sum   := unary ('+' unary)*
// unary := '!' unary | '(' expr ')' | NAME | NUMBER
class MetaParser {
 public:
  MetaParser(std::string_view s, std::vector<MetaNode>& nodes) : s_(s), nodes_(nodes) {}
  int run(std::string& error) {
    int root = expr();
    skip();
    if (error_.empty() && pos_ < s_.size()) fail("unexpected '" + std::string(s_.substr(pos_, 8)) + "'");
    if (!error_.empty()) {
      error = error_;
      return -1;
    }
    return root;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  void fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
  }
  int add(MetaNode n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size()) - 1;
  }
  int binary(MetaNode::Op op, int a, int b) {
    MetaNode n;
    n.op = op;
    n.a = a;
    n.b = b;
    return add(std::move(n));
  }
  int expr() {
    int l = and_();
    while (error_.empty() && eat("||")) l = binary(MetaNode::Or, l, and_());
    return l;
  }
  int and_() {
    int l = cmp();
    while (error_.empty() && eat("&&")) l = binary(MetaNode::And, l, cmp());
    return l;
  }
  int cmp() {
    int l = sum();
    static const std::pair<std::string_view, MetaNode::CmpOp> ops[] = {
        {"<=", MetaNode::Le}, {">=", MetaNode::Ge}, {"==", MetaNode::Eq},
        {"!=", MetaNode::Ne}, {"<", MetaNode::Lt},  {">", MetaNode::Gt}};
    for (auto& [tok, op] : ops) {
      if (error_.empty() && eat(tok)) {
        int r = sum();
        int n = binary(MetaNode::Cmp, l, r);
        nodes_[static_cast<size_t>(n)].cmp = op;
        return n;
      }
    }
    return l;
  }
  int sum() {
    int l = unary();
    while (error_.empty() && eat("+")) l = binary(MetaNode::Add, l, unary());
    return l;
  }
  int unary() {
    skip();
    if (pos_ >= s_.size()) {
      fail("expression ends too early");
      return -1;
    }
    if (s_.substr(pos_, 2) != "!=" && eat("!")) return binary(MetaNode::Not, unary(), -1);
    if (eat("(")) {
      int e = expr();
      if (!eat(")")) fail("missing ')'");
      return e;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    auto word = s_.substr(start, pos_ - start);
    if (word.empty()) {
      fail("unexpected '" + std::string(s_.substr(pos_, 8)) + "'");
      return -1;
    }
    MetaNode n;
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      n.op = MetaNode::Num;
      auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), n.value);
      if (ec != std::errc() || p != word.data() + word.size()) fail("bad number '" + std::string(word) + "'");
    } else {
      n.op = MetaNode::Ref;
      n.name = std::string(word);
    }
    return add(std::move(n));
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::vector<MetaNode>& nodes_;
  std::string error_;
};

}  // namespace

int parse_meta(std::string_view expr, std::vector<MetaNode>& nodes, std::string& error) {
  if (trim(expr).empty()) {
    error = "empty meta expression";
    return -1;
  }
  return MetaParser(expr, nodes).run(error);
}

void parse_rules(std::string_view text, const std::string& file, std::vector<RuleDef>& out,
                 std::vector<std::string>& errors) {
  RuleDef* cur = nullptr;
  int lineno = 0;
  auto err = [&](int line, const std::string& msg) {
    errors.push_back(file + ":" + std::to_string(line) + ": " + msg);
  };
  auto finish = [&]() {
    if (!cur) return;
    const auto& nm = cur->info.name;
    if (!cur->has_test)
      err(cur->info.line, "rule " + nm + " has no test (header, body, rawbody, uri or meta)");
    if (!cur->has_score && !cur->info.internal())
      err(cur->info.line, "rule " + nm + " has no score");
    if (cur->info.describe.empty()) cur->info.describe = nm;
  };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineno;
    std::string_view rest = trim(line);
    if (rest.empty() || rest.front() == '#') continue;
    std::string_view kw = take_word(rest);

    if (kw == "rule") {
      finish();
      std::string_view name = take_word(rest);
      out.emplace_back();
      cur = &out.back();
      cur->info.name = std::string(name);
      cur->info.file = file;
      cur->info.line = lineno;
      if (!valid_rule_name(name))
        err(lineno, "bad rule name '" + std::string(name) + "' (UPPER_SNAKE: A-Z, 0-9, _; at most 64)");
      if (!rest.empty()) err(lineno, "unexpected text after rule name: '" + std::string(rest) + "'");
      continue;
    }
    if (!cur) {
      err(lineno, "'" + std::string(kw) + "' outside a rule (start a block with 'rule NAME')");
      continue;
    }
    auto& r = *cur;
    auto set_test = [&](Target t) -> bool {
      if (r.has_test) {
        err(lineno, "rule " + r.info.name + " already has a test (line " + std::to_string(r.test_line) +
                        "); combine rules with 'meta'");
        return false;
      }
      r.has_test = true;
      r.test_line = lineno;
      r.info.target = t;
      return true;
    };

    if (kw == "header") {
      std::string_view hname = take_word(rest);
      if (hname.empty()) {
        err(lineno, "header: missing header name");
        continue;
      }
      bool raw = false;
      if (hname.size() > 4 && hname.substr(hname.size() - 4) == ":raw") {
        raw = true;
        hname.remove_suffix(4);
      }
      if (!valid_header_name(hname)) {
        err(lineno, "bad header name '" + std::string(hname) + "'");
        continue;
      }
      if (rest == "exists" || rest == "missing") {
        if (raw) {
          err(lineno, "':raw' makes no sense with " + std::string(rest));
          continue;
        }
        if (!set_test(Target::Exists)) continue;
        r.info.header = std::string(hname);
        r.info.negate = rest == "missing";
        continue;
      }
      bool all = hname == "ALL";
      if (all && raw) {
        err(lineno, "header ALL:raw is not supported");
        continue;
      }
      if (!set_test(all ? Target::HeaderAll : raw ? Target::HeaderRaw : Target::Header)) continue;
      if (!all) r.info.header = std::string(hname);
      if (auto e = parse_match(rest, r); !e.empty()) err(lineno, e);
    } else if (kw == "body" || kw == "rawbody" || kw == "uri") {
      if (!set_test(kw == "body" ? Target::Body : kw == "rawbody" ? Target::RawBody : Target::Uri)) continue;
      if (auto e = parse_match(rest, r); !e.empty()) err(lineno, e);
    } else if (kw == "meta") {
      if (!set_test(Target::Meta)) continue;
      std::string e;
      r.meta_root = parse_meta(rest, r.meta, e);
      if (r.meta_root < 0) err(lineno, "bad meta expression: " + e);
    } else if (kw == "score") {
      std::string_view v = take_word(rest);
      double d = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !rest.empty() || d != d || d > 1000 || d < -1000) {
        err(lineno, "score must be one number between -1000 and 1000");
        continue;
      }
      if (r.has_score) err(lineno, "rule " + r.info.name + " has two scores");
      r.has_score = true;
      r.info.score = d;
    } else if (kw == "describe") {
      if (rest.empty()) err(lineno, "describe: empty text");
      r.info.describe = std::string(rest);
    } else if (kw == "class") {
      if (rest == "bulk") r.info.hint = scan::Class::Bulk;
      else if (rest == "phishing") r.info.hint = scan::Class::Phishing;
      else if (rest == "spam") r.info.hint = scan::Class::Spam;
      else if (rest == "malware") r.info.hint = scan::Class::Malware;
      else err(lineno, "unknown class '" + std::string(rest) + "' (known: bulk phishing spam malware)");
    } else if (kw == "tflags") {
      if (rest.empty()) err(lineno, "tflags: no flags");
      while (!rest.empty()) {
        auto f = take_word(rest);
        if (f == "nocase") r.flags |= kCaseless;
        else if (f == "multiline") r.flags |= kMultiline;
        else if (f == "dotall") r.flags |= kDotall;
        else if (f == "utf8") r.flags |= kUtf8;
        else err(lineno, "unknown tflag '" + std::string(f) + "' (known: nocase multiline dotall utf8)");
      }
    } else {
      err(lineno, "unknown directive '" + std::string(kw) +
                      "' (known: rule header body rawbody uri meta score describe class tflags)");
    }
  }
  finish();
}

}  // namespace mm::rules::detail
