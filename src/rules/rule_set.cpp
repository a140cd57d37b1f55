#include "rules/rule_set.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs.h>
#include <pcre2.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "rules/parser.h"
#include "rules/text_util.h"

namespace mm::rules {

using detail::MetaNode;
using detail::RuleDef;

namespace {

constexpr size_t kPcreMaxInput = 1 << 20;  // PCRE2 fallbacks look at the first 1 MiB of a text
constexpr size_t kMaxReportedErrors = 50;

std::atomic<uint64_t> g_generation{1};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string pcre_error_text(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return "error " + std::to_string(code);
  return reinterpret_cast<const char*>(buf);
}

uint32_t pcre_options(unsigned f) {
  uint32_t o = 0;
  if (f & detail::kCaseless) o |= PCRE2_CASELESS;
  if (f & detail::kMultiline) o |= PCRE2_MULTILINE;
  if (f & detail::kDotall) o |= PCRE2_DOTALL;
  if (f & detail::kUtf8) o |= PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  return o;
}

unsigned hs_flags(unsigned f) {
  unsigned o = HS_FLAG_SINGLEMATCH;
  if (f & detail::kCaseless) o |= HS_FLAG_CASELESS;
  if (f & detail::kMultiline) o |= HS_FLAG_MULTILINE;
  if (f & detail::kDotall) o |= HS_FLAG_DOTALL;
  if (f & detail::kUtf8) o |= HS_FLAG_UTF8 | HS_FLAG_UCP;
  return o;
}

// Each thread's Hyperscan scratch (cloned from the rule set's prototype) and PCRE2 match data.
struct ThreadScratch {
  uint64_t generation = 0;
  hs_scratch_t* hs = nullptr;
  pcre2_match_data* md = nullptr;
  ~ThreadScratch() {
    if (hs) hs_free_scratch(hs);
    if (md) pcre2_match_data_free(md);
  }
};
thread_local ThreadScratch t_scratch;

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  static_cast<uint8_t*>(ctx)[id] = 1;
  return 0;
}

}  // namespace

struct RuleSet::Impl {
  struct Group {
    Target target = Target::Body;
    std::string key;  // lower-case header name for Header/HeaderRaw
    hs_database_t* db = nullptr;
    bool utf8 = false;
    std::vector<int> pcre_rules;  // fall-backs, run one by one
  };

  std::vector<RuleInfo> rules;
  std::vector<unsigned> flags;
  std::vector<pcre2_code*> pcre;             // per rule: kept only for PCRE2 fall-backs
  std::vector<std::vector<MetaNode>> meta;   // per rule (Meta only)
  std::vector<int> meta_root;
  std::vector<int> meta_order;               // metas, dependencies first
  std::vector<int> pattern_rules;            // rules decided by a regex
  std::vector<std::pair<int, std::string>> exists_rules;  // rule, header name
  std::vector<Group> groups;
  std::unordered_map<std::string, int> header_group, header_raw_group;
  int all_group = -1, body_group = -1, rawbody_group = -1, uri_group = -1;
  std::unordered_map<std::string, int> by_name;
  hs_scratch_t* proto = nullptr;
  pcre2_match_context* mctx = nullptr;
  uint64_t generation = g_generation.fetch_add(1);
  LoadStats stats;

  ~Impl() {
    for (auto& g : groups)
      if (g.db) hs_free_database(g.db);
    for (auto* c : pcre)
      if (c) pcre2_code_free(c);
    if (proto) hs_free_scratch(proto);
    if (mctx) pcre2_match_context_free(mctx);
  }

  Status build(std::vector<RuleDef>& defs, std::vector<std::string>& errors);
  Status compile_group(Group& g, const std::vector<int>& members);
  void scan(const Group& g, std::string_view text, uint8_t* matched, hs_scratch_t* s, pcre2_match_data* md) const;
  int64_t eval(int rule, int node, const std::vector<uint8_t>& hit) const;
};

namespace {

std::string where(const RuleInfo& r, int line) { return r.file + ":" + std::to_string(line) + ": "; }

Status join_errors(const std::vector<std::string>& errors) {
  std::string msg;
  for (size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) msg += (i ? "\n" : "") + errors[i];
  if (errors.size() > kMaxReportedErrors)
    msg += "\n... and " + std::to_string(errors.size() - kMaxReportedErrors) + " more errors";
  return Status::error(msg);
}

}  // namespace

Status RuleSet::Impl::build(std::vector<RuleDef>& defs, std::vector<std::string>& errors) {
  // Names.
  for (size_t i = 0; i < defs.size(); ++i) {
    auto& r = defs[i].info;
    auto [it, fresh] = by_name.emplace(r.name, static_cast<int>(i));
    if (!fresh) {
      const auto& first = defs[static_cast<size_t>(it->second)].info;
      errors.push_back(where(r, r.line) + "duplicate rule " + r.name + " (first defined at " + first.file + ":" +
                       std::to_string(first.line) + ")");
    }
  }
  // Meta references.
  for (auto& d : defs) {
    if (d.info.target != Target::Meta || d.meta_root < 0) continue;
    for (auto& n : d.meta) {
      if (n.op != MetaNode::Ref) continue;
      auto it = by_name.find(n.name);
      if (it == by_name.end())
        errors.push_back(where(d.info, d.test_line) + "meta of " + d.info.name + " names unknown rule " + n.name);
      else
        n.rule = it->second;
    }
  }
  // Meta cycles and evaluation order (depth-first, dependencies first).
  if (errors.empty()) {
    std::vector<int> state(defs.size(), 0);  // 0 new, 1 on stack, 2 done
    std::vector<int> stack;
    std::function<bool(int)> visit = [&](int i) -> bool {
      auto& d = defs[static_cast<size_t>(i)];
      if (state[static_cast<size_t>(i)] == 2 || d.info.target != Target::Meta) return true;
      if (state[static_cast<size_t>(i)] == 1) {
        std::string path;
        for (int s : stack) path += defs[static_cast<size_t>(s)].info.name + " -> ";
        errors.push_back(where(d.info, d.test_line) + "meta cycle: " + path + d.info.name);
        return false;
      }
      state[static_cast<size_t>(i)] = 1;
      stack.push_back(i);
      for (auto& n : d.meta)
        if (n.op == MetaNode::Ref && n.rule >= 0 && !visit(n.rule)) return false;
      stack.pop_back();
      state[static_cast<size_t>(i)] = 2;
      meta_order.push_back(i);
      return true;
    };
    for (size_t i = 0; i < defs.size() && errors.empty(); ++i) visit(static_cast<int>(i));
  }
  // Every regex must compile with PCRE2 (the reference syntax); the code is kept for fall-backs.
  pcre.assign(defs.size(), nullptr);
  for (size_t i = 0; i < defs.size(); ++i) {
    auto& d = defs[i];
    if (d.info.pattern.empty()) continue;
    int ec = 0;
    PCRE2_SIZE off = 0;
    pcre[i] = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(d.info.pattern.data()), d.info.pattern.size(),
                            pcre_options(d.flags), &ec, &off, nullptr);
    if (!pcre[i])
      errors.push_back(where(d.info, d.test_line) + "bad regex in " + d.info.name + ": " + pcre_error_text(ec) +
                       " at offset " + std::to_string(off));
  }
  if (!errors.empty()) return join_errors(errors);

  // Move definitions in and group pattern rules by the text they read.
  std::unordered_map<int, std::vector<int>> members;
  for (size_t i = 0; i < defs.size(); ++i) {
    auto& d = defs[i];
    rules.push_back(d.info);
    flags.push_back(d.flags);
    meta.push_back(std::move(d.meta));
    meta_root.push_back(d.meta_root);
    int idx = static_cast<int>(i);
    auto group_for = [&](Target t, const std::string& key) -> int {
      int* slot = nullptr;
      std::unordered_map<std::string, int>* map = nullptr;
      switch (t) {
        case Target::HeaderAll: slot = &all_group; break;
        case Target::Body: slot = &body_group; break;
        case Target::RawBody: slot = &rawbody_group; break;
        case Target::Uri: slot = &uri_group; break;
        case Target::Header: map = &header_group; break;
        default: map = &header_raw_group; break;
      }
      if (map) {
        auto it = map->find(key);
        if (it != map->end()) return it->second;
      } else if (*slot >= 0) {
        return *slot;
      }
      groups.push_back({t, key, nullptr, false, {}});
      int g = static_cast<int>(groups.size()) - 1;
      if (map) (*map)[key] = g;
      else *slot = g;
      return g;
    };
    switch (d.info.target) {
      case Target::Meta: break;
      case Target::Exists: exists_rules.emplace_back(idx, d.info.header); break;
      default:
        pattern_rules.push_back(idx);
        members[group_for(d.info.target, detail::ascii_lower(d.info.header))].push_back(idx);
    }
  }
  for (size_t g = 0; g < groups.size(); ++g)
    if (auto st = compile_group(groups[g], members[static_cast<int>(g)]); !st) return st;
  // Only fall-backs keep their PCRE2 code.
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].engine == Engine::Pcre2) {
      pcre2_jit_compile(pcre[i], PCRE2_JIT_COMPLETE);  // on failure the interpreter runs it
    } else if (pcre[i]) {
      pcre2_code_free(pcre[i]);
      pcre[i] = nullptr;
    }
  }
  for (auto& g : groups) {
    if (!g.db) continue;
    if (hs_alloc_scratch(g.db, &proto) != HS_SUCCESS) return Status::error("rules: cannot allocate Hyperscan scratch");
    size_t sz = 0;
    if (hs_database_size(g.db, &sz) == HS_SUCCESS) stats.database_bytes += sz;
    ++stats.databases;
  }
  mctx = pcre2_match_context_create(nullptr);
  if (!mctx) return Status::error("rules: out of memory");
  pcre2_set_match_limit(mctx, 1'000'000);
  pcre2_set_depth_limit(mctx, 10'000);
  stats.rules = rules.size();
  stats.patterns = pattern_rules.size();
  for (int i : pattern_rules) (rules[static_cast<size_t>(i)].engine == Engine::Hyperscan ? stats.hyperscan : stats.pcre2)++;
  return Status::ok();
}

Status RuleSet::Impl::compile_group(Group& g, const std::vector<int>& members) {
  std::vector<int> hs_rules = members;
  for (int i : members) g.utf8 = g.utf8 || (flags[static_cast<size_t>(i)] & detail::kUtf8);
  while (!hs_rules.empty()) {
    std::vector<const char*> exprs;
    std::vector<unsigned> fl, ids;
    for (int i : hs_rules) {
      exprs.push_back(rules[static_cast<size_t>(i)].pattern.c_str());
      fl.push_back(hs_flags(flags[static_cast<size_t>(i)]));
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_compile_error_t* cerr = nullptr;
    hs_database_t* db = nullptr;
    hs_error_t rc = hs_compile_multi(exprs.data(), fl.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                                     HS_MODE_BLOCK, nullptr, &db, &cerr);
    if (rc == HS_SUCCESS) {
      g.db = db;
      for (int i : hs_rules) rules[static_cast<size_t>(i)].engine = Engine::Hyperscan;
      break;
    }
    std::string why = cerr && cerr->message ? cerr->message : "unknown error";
    int bad = cerr ? cerr->expression : -1;
    if (cerr) hs_free_compile_error(cerr);
    if (bad < 0 || static_cast<size_t>(bad) >= hs_rules.size())
      return Status::error("rules: Hyperscan cannot compile the patterns of one target: " + why);
    auto& r = rules[static_cast<size_t>(hs_rules[static_cast<size_t>(bad)])];
    r.engine = Engine::Pcre2;
    r.fallback_reason = why;
    g.pcre_rules.push_back(hs_rules[static_cast<size_t>(bad)]);
    hs_rules.erase(hs_rules.begin() + bad);
  }
  return Status::ok();
}

void RuleSet::Impl::scan(const Group& g, std::string_view text, uint8_t* matched, hs_scratch_t* s,
                         pcre2_match_data* md) const {
  std::string clean;
  if (g.utf8 && !detail::valid_utf8(text)) {
    clean = detail::sanitize_utf8(text);
    text = clean;
  }
  if (g.db && s)
    hs_scan(g.db, text.data(), static_cast<unsigned>(std::min<size_t>(text.size(), UINT32_MAX)), 0, s, on_match,
            matched);
  if (!md) return;
  std::string_view capped = text.substr(0, kPcreMaxInput);
  for (int i : g.pcre_rules) {
    if (matched[i]) continue;
    int rc = pcre2_match(pcre[static_cast<size_t>(i)], reinterpret_cast<PCRE2_SPTR>(capped.data()), capped.size(), 0,
                         0, md, mctx);
    if (rc >= 0) matched[i] = 1;
  }
}

int64_t RuleSet::Impl::eval(int rule, int node, const std::vector<uint8_t>& hit) const {
  const auto& n = meta[static_cast<size_t>(rule)][static_cast<size_t>(node)];
  switch (n.op) {
    case MetaNode::Ref: return hit[static_cast<size_t>(n.rule)];
    case MetaNode::Num: return n.value;
    case MetaNode::Not: return eval(rule, n.a, hit) ? 0 : 1;
    case MetaNode::And: return eval(rule, n.a, hit) && eval(rule, n.b, hit);
    case MetaNode::Or: return eval(rule, n.a, hit) || eval(rule, n.b, hit);
    case MetaNode::Add: return eval(rule, n.a, hit) + eval(rule, n.b, hit);
    case MetaNode::Cmp: {
      int64_t a = eval(rule, n.a, hit), b = eval(rule, n.b, hit);
      switch (n.cmp) {
        case MetaNode::Lt: return a < b;
        case MetaNode::Le: return a <= b;
        case MetaNode::Gt: return a > b;
        case MetaNode::Ge: return a >= b;
        case MetaNode::Eq: return a == b;
        case MetaNode::Ne: return a != b;
      }
    }
  }
  return 0;
}

RuleSet::RuleSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;
const std::vector<RuleInfo>& RuleSet::rules() const { return impl_->rules; }
const LoadStats& RuleSet::stats() const { return impl_->stats; }
int RuleSet::find(std::string_view name) const {
  auto it = impl_->by_name.find(std::string(name));
  return it == impl_->by_name.end() ? -1 : it->second;
}

namespace {

Result<std::shared_ptr<const RuleSet>> build_from(std::vector<std::pair<std::string, std::string>> sources,
                                                  RuleSet* (*make)(std::unique_ptr<RuleSet::Impl>)) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<RuleDef> defs;
  std::vector<std::string> errors;
  for (auto& [name, text] : sources) detail::parse_rules(text, name, defs, errors);
  auto impl = std::make_unique<RuleSet::Impl>();
  impl->stats.files = sources.size();
  impl->stats.parse_ms = ms_since(t0);
  // build() runs even after parse errors, so that one load reports bad regexes and unknown
  // names too; it returns the whole list if there is any error.
  auto t1 = std::chrono::steady_clock::now();
  if (auto st = impl->build(defs, errors); !st) return st;
  impl->stats.compile_ms = ms_since(t1);
  return std::shared_ptr<const RuleSet>(make(std::move(impl)));
}

}  // namespace

Result<std::shared_ptr<const RuleSet>> RuleSet::load_string(std::string_view text, std::string name) {
  return build_from({{std::move(name), std::string(text)}},
                    [](std::unique_ptr<Impl> impl) { return new RuleSet(std::move(impl)); });
}

Result<std::shared_ptr<const RuleSet>> RuleSet::load_files(const std::vector<std::filesystem::path>& files) {
  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::error(f.string() + ": cannot read rule file");
    std::ostringstream ss;
    ss << in.rdbuf();
    sources.emplace_back(f.string(), ss.str());
  }
  return build_from(std::move(sources), [](std::unique_ptr<Impl> impl) { return new RuleSet(std::move(impl)); });
}

Result<std::shared_ptr<const RuleSet>> RuleSet::load_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::error(dir.string() + ": not a directory");
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".rules") files.push_back(e.path());
  if (ec) return Status::error(dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return load_files(files);
}

std::vector<uint8_t> RuleSet::match(const message::Message& msg, std::string* error) const {
  const Impl& im = *impl_;
  std::vector<uint8_t> matched(im.rules.size(), 0);

  auto& ts = t_scratch;
  if (ts.generation != im.generation) {
    if (ts.hs) hs_free_scratch(ts.hs);
    ts.hs = nullptr;
    ts.generation = 0;
    if (!im.proto || hs_clone_scratch(im.proto, &ts.hs) == HS_SUCCESS) ts.generation = im.generation;
  }
  if (!ts.md) ts.md = pcre2_match_data_create(1, nullptr);
  hs_scratch_t* s = ts.generation == im.generation ? ts.hs : nullptr;
  if ((im.proto && !s) || !ts.md) {
    if (error) *error = "rules: out of memory for scratch space";
  }

  // Header texts: one per header name used by rules, all instances joined by "\n".
  std::vector<std::string> texts(im.groups.size());
  std::vector<uint8_t> present(im.groups.size(), 0);
  auto add = [&](int g, std::string_view v) {
    if (g < 0) return;
    auto& t = texts[static_cast<size_t>(g)];
    if (present[static_cast<size_t>(g)]) t += '\n';
    t += v;
    present[static_cast<size_t>(g)] = 1;
  };
  if (!im.header_group.empty() || !im.header_raw_group.empty() || im.all_group >= 0) {
    for (const auto& h : msg.headers) {
      std::string key = detail::ascii_lower(h.name);
      if (auto it = im.header_group.find(key); it != im.header_group.end()) add(it->second, h.value);
      if (auto it = im.header_raw_group.find(key); it != im.header_raw_group.end()) add(it->second, h.raw);
      if (im.all_group >= 0) add(im.all_group, h.name + ": " + h.value);
    }
  }
  for (size_t g = 0; g < im.groups.size(); ++g)
    if (present[g]) im.scan(im.groups[g], texts[g], matched.data(), s, ts.md);

  if (im.body_group >= 0) im.scan(im.groups[static_cast<size_t>(im.body_group)], msg.body_text(), matched.data(), s, ts.md);
  if (im.rawbody_group >= 0) {
    std::string raw;
    for (const auto& p : msg.parts) {
      if (!p.is_text || p.is_attachment) continue;
      if (!raw.empty()) raw += '\n';
      raw += p.data;
    }
    im.scan(im.groups[static_cast<size_t>(im.rawbody_group)], raw, matched.data(), s, ts.md);
  }
  if (im.uri_group >= 0)
    for (const auto& l : msg.links) im.scan(im.groups[static_cast<size_t>(im.uri_group)], l.href, matched.data(), s, ts.md);

  std::vector<uint8_t> hit(im.rules.size(), 0);
  for (int i : im.pattern_rules) {
    auto k = static_cast<size_t>(i);
    hit[k] = im.rules[k].negate ? !matched[k] : matched[k];
  }
  for (const auto& [i, name] : im.exists_rules) {
    bool found = !detail::find_headers(msg, name).empty();
    hit[static_cast<size_t>(i)] = found != im.rules[static_cast<size_t>(i)].negate;
  }
  for (int i : im.meta_order) hit[static_cast<size_t>(i)] = im.eval(i, im.meta_root[static_cast<size_t>(i)], hit) != 0;
  return hit;
}

std::vector<size_t> RuleSet::hits(const message::Message& msg, std::string* error) const {
  auto hit = match(msg, error);
  std::vector<size_t> out;
  for (size_t i = 0; i < hit.size(); ++i)
    if (hit[i] && !impl_->rules[i].internal()) out.push_back(i);
  return out;
}

}  // namespace mm::rules
