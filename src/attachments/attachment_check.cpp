#include "attachments/attachment_check.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace mm::attachments {
namespace {

using scan::Class;
using scan::Symbol;

constexpr double kBlock = 10.0;

// A bidi control (U+061C, U+200E/F, U+202A..E, U+2066..9) at s[i]: its UTF-8 length, else 0.
size_t bidi_at(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (b(0) == 0xD8 && b(1) == 0x9C) return 2;
  if (b(0) == 0xE2 && b(1) == 0x80 && (b(2) == 0x8E || b(2) == 0x8F || (b(2) >= 0xAA && b(2) <= 0xAE))) return 3;
  if (b(0) == 0xE2 && b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9) return 3;
  return 0;
}

bool has_bidi(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (bidi_at(s, i)) return true;
  return false;
}

bool runs(Kind k) { return k == Kind::Executable || k == Kind::Script || k == Kind::Shortcut || k == Kind::DiskImage; }
bool harmless_claim(Kind k) { return k == Kind::Document || k == Kind::Image || k == Kind::Media || k == Kind::Text; }

bool macro_extension(const std::string& e) {
  static const std::set<std::string> kMacro{"docm", "dotm", "xlsm", "xltm", "xlam", "xlsb",
                                            "pptm", "potm", "ppsm", "ppam", "sldm"};
  return kMacro.count(e) > 0;
}

// Collects findings: one symbol per name, details of several files joined.
class Findings {
 public:
  void add(const char* name, double score, Class hint, const std::string& detail) {
    auto [it, fresh] = by_name_.try_emplace(name, syms_.size());
    if (fresh) {
      syms_.push_back({name, score, detail, hint});
      return;
    }
    auto& s = syms_[it->second];
    if (++extra_[name] <= 3) s.detail += "; " + detail;
  }
  void flush(std::vector<Symbol>& out) {
    for (auto& s : syms_) {
      int more = extra_[s.name] - 3;
      if (more > 0) s.detail += "; and " + std::to_string(more) + " more";
      out.push_back(std::move(s));
    }
  }

 private:
  std::vector<Symbol> syms_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, int> extra_;
};

// Policy checks on one file: its name, declared type (top-level parts only) and real type.
void inspect(const Policy& pol, const std::string& label, std::string_view name, std::string_view declared,
             const FileType* real, bool macros, Findings& f) {
  std::string ext = extension(name);
  const bool allowed = !ext.empty() && pol.allowed_extensions.count(ext) > 0;
  if (pol.block_bidi_names && has_bidi(name))
    f.add("ATTACH_BIDI_NAME", kBlock, Class::Malware, label + ": bidi control characters disguise the name");
  if (!ext.empty() && pol.blocked_extensions.count(ext))
    f.add("ATTACH_BLOCKED_EXT", kBlock, Class::Malware, label + ": blocked file name extension ." + ext);
  if (pol.block_double_extensions && !ext.empty()) {
    std::string_view stem = name.substr(0, name.rfind('.'));
    std::string inner = extension(stem);
    Kind outer_kind = kind_of_extension(ext);
    Kind inner_kind = kind_of_extension(inner);
    if (runs(outer_kind) && !inner.empty() && (harmless_claim(inner_kind) || inner_kind == Kind::Archive))
      f.add("ATTACH_DOUBLE_EXT", kBlock, Class::Malware, label + ": double extension ." + inner + "." + ext);
  }
  if (pol.block_macros && (macros || macro_extension(ext)) && !(allowed && macro_extension(ext)))
    f.add("ATTACH_MACRO", kBlock, Class::Malware,
          label + (macros ? ": Office document with a VBA macro project" : ": macro-enabled Office format ." + ext));
  if (!real) return;
  FileType believed = *real;
  if (believed.weak && kind_of_extension(ext) != Kind::Executable) believed.kind = Kind::Other;
  real = &believed;
  if (pol.block_executables && runs(real->kind) && !(allowed && kind_of_extension(ext) == real->kind))
    f.add("ATTACH_EXECUTABLE", kBlock, Class::Malware,
          label + ": " + to_string(real->kind) + " (" + real->description + ")");
  if (pol.block_type_mismatch) {
    Kind by_name = ext.empty() ? Kind::Other : kind_of_extension(ext);
    std::string d(declared);
    Kind by_decl = d.empty() || d == "application/octet-stream" ? Kind::Other : kind_of_mime(d);
    bool dangerous = runs(real->kind) || real->kind == Kind::Archive;
    auto claims = [&](Kind k) {
      return harmless_claim(k) && (runs(real->kind) || (real->kind == Kind::Archive && k != Kind::Text));
    };
    if (dangerous && (claims(by_name) || claims(by_decl))) {
      std::string said = claims(by_name) ? "named ." + ext : "declared " + d;
      f.add("ATTACH_TYPE_MISMATCH", kBlock, Class::Malware,
            label + ": " + said + " but the content is " + real->description);
    }
  }
}

}  // namespace

std::set<std::string> default_blocked_extensions() {
  return {"exe", "scr", "com", "pif", "cpl", "dll", "msi", "msp", "msc", "jar", "js", "jse", "vbs", "vbe",
          "wsf", "wsh", "wsc", "hta", "ps1", "psm1", "bat", "cmd", "reg", "scf", "sct", "lnk", "url", "inf",
          "iso", "img", "vhd", "vhdx", "udf", "appx", "msix", "application", "gadget", "chm", "hlp"};
}

std::shared_ptr<const Policy> with_overrides(const Policy& base, const std::vector<std::string>& allow,
                                             const std::vector<std::string>& block) {
  auto p = std::make_shared<Policy>(base);
  for (auto& e : allow) {
    p->blocked_extensions.erase(e);
    p->allowed_extensions.insert(e);
  }
  for (auto& e : block) {
    p->allowed_extensions.erase(e);
    p->blocked_extensions.insert(e);
  }
  return p;
}

std::string display_name(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < 200; ++i) {
    if (size_t n = bidi_at(s, i)) {
      unsigned cp = n == 2 ? 0x061C
                           : ((static_cast<unsigned char>(s[i]) & 0x0F) << 12) |
                                 ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                                 (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      char buf[16];
      std::snprintf(buf, sizeof buf, "<U+%04X>", cp);
      out += buf;
      i += n - 1;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

void AttachmentCheck::run(const scan::Context& ctx, std::vector<Symbol>& out) const {
  std::shared_ptr<const Policy> pol;
  if (tenant_ && !ctx.env.tenant.empty()) pol = tenant_(ctx.env.tenant);
  if (!pol) pol = global_;
  if (auto& tf = ctx.env.tenant_facts; tf && (!tf->attachment_allow.empty() || !tf->attachment_block.empty()))
    pol = with_overrides(*pol, tf->attachment_allow, tf->attachment_block);
  Findings f;
  const auto& parts = ctx.msg.parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (!p.is_attachment) continue;
    std::string label = "part " + std::to_string(i + 1) + " " +
                        (p.filename.empty() ? "(" + p.content_type + ")" : display_name(p.filename));
    FileType real = type_of(p.data, p.filename);
    bool macros = real.kind == Kind::Document && has_macros(p.data, real);
    inspect(*pol, label, p.filename, p.content_type, &real, macros, f);
    if (real.kind != Kind::Archive) continue;
    if (p.truncated) {
      f.add("ATTACH_LIMIT", 0, Class::Unscannable,
            label + ": archive larger than the " + std::to_string(p.data.size()) + " bytes kept per part, not listed");
      continue;
    }
    Listing l = list_archive(p.data, pol->limits, p.filename);
    for (auto& e : l.entries) {
      std::string elabel = label + " -> " + display_name(e.path);
      inspect(*pol, elabel, e.name, "", e.encrypted ? nullptr : &e.type, e.macros, f);
      if (e.encrypted) f.add("ATTACH_ENCRYPTED", 0, Class::Unscannable, elabel + ": password-protected");
    }
    if (l.encrypted && std::none_of(l.entries.begin(), l.entries.end(), [](auto& e) { return e.encrypted; }))
      f.add("ATTACH_ENCRYPTED", 0, Class::Unscannable, label + ": password-protected archive");
    if (!l.limit.empty()) f.add("ATTACH_LIMIT", 0, Class::Unscannable, label + ": " + display_name(l.limit));
    if (!l.error.empty() && !l.encrypted)
      f.add("ATTACH_UNREADABLE", 0, Class::Unscannable, label + ": " + display_name(l.error));
  }
  f.flush(out);
}

}  // namespace mm::attachments
