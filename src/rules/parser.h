// Rule file parser (internal): text -> rule definitions, with "file:line: message" errors.
// Name resolution of metas and regex compilation happen in rule_set.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule_set.h"

namespace mm::rules::detail {

enum PatternFlags : unsigned {
  kCaseless = 1, kMultiline = 2, kDotall = 4, kUtf8 = 8,
};

// Meta expression tree, stored flat; children by index.
struct MetaNode {
  enum Op { Ref, Num, Not, And, Or, Add, Cmp } op = Num;
  int a = -1, b = -1;
  int64_t value = 0;                 // Num
  std::string name;                  // Ref (resolved to `rule` later)
  int rule = -1;
  enum CmpOp { Lt, Le, Gt, Ge, Eq, Ne } cmp = Gt;
};

struct RuleDef {
  RuleInfo info;                     // name, file, line, target, header, pattern, negate, score...
  bool has_test = false;
  int test_line = 0;
  bool has_score = false;
  unsigned flags = 0;                // PatternFlags (regex suffix and tflags)
  std::vector<MetaNode> meta;        // Target::Meta
  int meta_root = -1;
};

// Appends the rules of one file to `out`; errors (one per line, "file:line: message") to `errors`.
void parse_rules(std::string_view text, const std::string& file, std::vector<RuleDef>& out,
                 std::vector<std::string>& errors);

// "meta" expression -> nodes; returns root or -1 with `error` set.
int parse_meta(std::string_view expr, std::vector<MetaNode>& nodes, std::string& error);

}  // namespace mm::rules::detail
