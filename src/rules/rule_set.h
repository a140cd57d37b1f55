// A compiled set of project rules (rules/*.rules, format in rules/README.md).
//
// Loading parses every file, checks every rule, and compiles all patterns of one target (a header
// name, all headers, body, rawbody, uri) into ONE Hyperscan database; patterns Hyperscan rejects
// (backreferences, lookaround, ...) run through PCRE2-JIT one by one. Loading is all or nothing:
// any error in any file gives no RuleSet, with every error as "file:line: message".
//
// A RuleSet is immutable after loading; match() is const and safe from many threads at once
// (each thread keeps its own Hyperscan scratch and PCRE2 match data).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "message/message.h"
#include "scan/check.h"
#include "util/status.h"

namespace mm::rules {

enum class Target {
  Header,     // header NAME =~ /re/      decoded value (all instances, joined by "\n")
  HeaderRaw,  // header NAME:raw =~ /re/  unfolded raw value
  HeaderAll,  // header ALL =~ /re/       "Name: decoded value" lines joined by "\n"
  Exists,     // header NAME exists|missing
  Body,       // body =~ /re/             Message::body_text()
  RawBody,    // rawbody =~ /re/          body text parts undecoded from markup (HTML source)
  Uri,        // uri =~ /re/              each link href on its own
  Meta,       // meta EXPR                other rules combined with && || ! ( ) + and comparisons
};

enum class Engine { None, Hyperscan, Pcre2 };

struct RuleInfo {
  std::string name;
  double score = 0;
  std::string describe;
  scan::Class hint = scan::Class::Clean;  // Clean = no class hint
  std::string file;
  int line = 0;                           // line of the "rule NAME" line
  Target target = Target::Body;
  std::string header;                     // for header targets
  std::string pattern;                    // regex source ("" for meta/exists)
  bool negate = false;                    // "!~" / "missing"
  Engine engine = Engine::None;           // which engine runs the pattern
  std::string fallback_reason;            // Hyperscan's reason when engine == Pcre2
  bool internal() const { return name.rfind("__", 0) == 0; }  // sub-rule: only for metas
};

struct LoadStats {
  size_t files = 0;
  size_t rules = 0;
  size_t patterns = 0;
  size_t hyperscan = 0;   // patterns in Hyperscan databases
  size_t pcre2 = 0;       // patterns that fell back to PCRE2
  size_t databases = 0;   // Hyperscan databases (one per target text)
  size_t database_bytes = 0;
  double parse_ms = 0;
  double compile_ms = 0;  // Hyperscan + PCRE2 compile, wall time
};

class RuleSet {
 public:
  // Every "*.rules" file in dir (sorted by name).
  static Result<std::shared_ptr<const RuleSet>> load_dir(const std::filesystem::path& dir);
  static Result<std::shared_ptr<const RuleSet>> load_files(const std::vector<std::filesystem::path>& files);
  // One in-memory source; `name` stands for the file in error messages.
  static Result<std::shared_ptr<const RuleSet>> load_string(std::string_view text,
                                                            std::string name = "<string>");

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::vector<RuleInfo>& rules() const;
  const LoadStats& stats() const;
  // Index of a rule by name, or -1.
  int find(std::string_view name) const;

  // Evaluates every rule; result[i] tells whether rules()[i] hit (metas included).
  // Never throws; if a thread cannot get scratch memory, pattern rules count as not hit and
  // `error` (if given) is set.
  std::vector<uint8_t> match(const message::Message& msg, std::string* error = nullptr) const;

  // Indices of the hit rules that produce symbols (not "__" sub-rules), in rule order.
  std::vector<size_t> hits(const message::Message& msg, std::string* error = nullptr) const;

  struct Impl;

 private:
  explicit RuleSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mm::rules
