// Charset conversion to clean UTF-8 (iconv for the multi-byte charsets, own tables for windows-1252).
#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "message/detail.h"

namespace mm::message::detail {

void note(Message& m, std::string_view finding) {
  for (const auto& f : m.findings)
    if (f == finding) return;
  m.findings.emplace_back(finding);
}

bool ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

void lower_ascii(std::string& s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
}

static char lc(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lc(a[i]) != lc(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

size_t utf8_floor(std::string_view s, size_t n) {
  if (n >= s.size()) return s.size();
  // Step back over continuation bytes (at most 3) to the start of the sequence that n would split.
  size_t k = n;
  while (k > 0 && n - k < 3 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80 ? n : k;
}

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

void put_cp(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (overlongs, surrogates, > U+10FFFF rejected).
size_t utf8_seq(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t left = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && (b(i + 1) & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 || (b(i + 3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Fast path: 8 ASCII bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t k = utf8_seq(s, i);
    if (k == 0) return false;
    i += k;
  }
  return true;
}

// windows-1252 0x80..0x9F (undefined bytes map to the C1 control of the same value, as WHATWG does).
constexpr std::array<uint16_t, 32> kCp1252 = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_cp1252(std::string_view in, std::string& out, TextStats& st) {
  out.reserve(out.size() + in.size() + in.size() / 4);
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == 0) {
      ++st.nul;
      out += kReplacement;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0xA0) {
      put_cp(out, kCp1252[c - 0x80]);
    } else {
      put_cp(out, c);
    }
  }
}

enum class Kind { Utf8, Cp1252, Iconv };

struct Target {
  Kind kind;
  const char* iconv_name;  // for Kind::Iconv: nullptr = use the label itself
};

Target classify(std::string_view cs) {
  // Labels first normalised: lower-case already; strip quotes and spaces the parser may leave.
  if (cs.empty() || cs == "us-ascii" || cs == "ascii" || cs == "utf-8" || cs == "utf8" || cs == "ansi_x3.4-1968" ||
      cs == "us" || cs == "unicode-1-1-utf-8" || cs == "x-unknown" || cs == "unknown-8bit" || cs == "default")
    return {Kind::Utf8, nullptr};
  if (cs == "iso-8859-1" || cs == "iso8859-1" || cs == "iso_8859-1" || cs == "latin1" || cs == "latin-1" ||
      cs == "l1" || cs == "windows-1252" || cs == "cp1252" || cs == "x-cp1252" || cs == "cp819" ||
      cs == "iso-ir-100" || cs == "ibm819" || cs == "iso_8859-1:1987" || cs == "csisolatin1" || cs == "8859-1")
    return {Kind::Cp1252, nullptr};
  if (cs == "shift_jis" || cs == "shift-jis" || cs == "sjis" || cs == "x-sjis" || cs == "ms_kanji" ||
      cs == "csshiftjis" || cs == "windows-31j" || cs == "cp932" || cs == "ms932")
    return {Kind::Iconv, "CP932"};
  if (cs == "gb2312" || cs == "gbk" || cs == "x-gbk" || cs == "cp936" || cs == "euc-cn" || cs == "csgb2312" ||
      cs == "chinese" || cs == "gb_2312-80")
    return {Kind::Iconv, "GB18030"};
  if (cs == "euc-kr" || cs == "ks_c_5601-1987" || cs == "ks_c_5601-1989" || cs == "ksc5601" || cs == "ksc_5601" ||
      cs == "korean" || cs == "windows-949" || cs == "cp949")
    return {Kind::Iconv, "CP949"};
  if (cs == "iso-8859-8-i") return {Kind::Iconv, "ISO-8859-8"};
  if (cs == "big5") return {Kind::Iconv, "BIG5-HKSCS"};
  if (cs == "tis-620" || cs == "iso-8859-11") return {Kind::Iconv, "CP874"};
  return {Kind::Iconv, nullptr};
}

// Per-thread cache of iconv descriptors keyed by label; (iconv_t)-1 caches "unknown".
class IconvCache {
 public:
  ~IconvCache() { clear(); }
  iconv_t get(const std::string& name) {
    auto it = map_.find(name);
    if (it != map_.end()) return it->second;
    if (map_.size() >= 64) clear();  // hostile mail can name endless bogus charsets
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    map_.emplace(name, cd);
    return cd;
  }

 private:
  void clear() {
    for (auto& [k, cd] : map_)
      if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
    map_.clear();
  }
  std::unordered_map<std::string, iconv_t> map_;
};

thread_local IconvCache t_iconv;

// Converts with iconv; bytes it rejects become U+FFFD. Output is UTF-8 (not yet cleaned of CR/NUL).
void iconv_convert(iconv_t cd, std::string_view in, std::string& tmp, TextStats& st) {
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state (ISO-2022-JP)
  tmp.resize(in.size() * 2 + 16);
  char* ip = const_cast<char*>(in.data());
  size_t il = in.size();
  size_t used = 0;
  auto room = [&](size_t need) {
    if (tmp.size() - used < need) tmp.resize(tmp.size() * 2 + need);
  };
  while (il > 0) {
    char* op = tmp.data() + used;
    size_t ol = tmp.size() - used;
    const size_t r = iconv(cd, &ip, &il, &op, &ol);
    const int err = errno;
    used = static_cast<size_t>(op - tmp.data());
    if (r != static_cast<size_t>(-1)) break;  // all input consumed
    if (err == E2BIG) {
      room(in.size() + 64);
    } else if (err == EILSEQ || err == EINVAL) {  // bad or truncated sequence: skip one byte
      ++st.invalid;
      room(3);
      std::memcpy(tmp.data() + used, kReplacement, 3);
      used += 3;
      ++ip;
      --il;
    } else {
      break;  // unexpected errno: keep what we have
    }
  }
  room(16);  // flush the shift state (stateful encodings)
  char* op = tmp.data() + used;
  size_t ol = tmp.size() - used;
  iconv(cd, nullptr, nullptr, &op, &ol);
  used = static_cast<size_t>(op - tmp.data());
  tmp.resize(used);
}

}  // namespace

void append_clean_utf8(std::string_view in, std::string& out, TextStats& st) {
  if (in.empty()) return;
  if (std::memchr(in.data(), '\r', in.size()) == nullptr && std::memchr(in.data(), 0, in.size()) == nullptr &&
      valid_utf8(in)) {
    out.append(in);
    return;
  }
  out.reserve(out.size() + in.size());
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    const char c = in[i];
    if (c == '\r') {
      out.push_back('\n');
      i += (i + 1 < n && in[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if (c == 0) {
      ++st.nul;
      out += kReplacement;
      ++i;
      continue;
    }
    const size_t k = utf8_seq(in, i);
    if (k == 0) {
      ++st.invalid;
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(in.data() + i, k);
    i += k;
  }
}

void append_as_utf8(std::string_view in, std::string_view charset, std::string& out, TextStats& st) {
  // Strip stray quotes / whitespace the declared label may carry ("\"utf-8\"", "utf-8 ").
  while (!charset.empty() && (charset.front() == '"' || charset.front() == '\'' || ascii_space(charset.front())))
    charset.remove_prefix(1);
  while (!charset.empty() && (charset.back() == '"' || charset.back() == '\'' || ascii_space(charset.back())))
    charset.remove_suffix(1);
  const Target t = classify(charset);
  switch (t.kind) {
    case Kind::Utf8:
      if (charset.empty() || charset == "us-ascii" || charset == "ascii") {
        // Undeclared: UTF-8 if it is, else the most common legacy charset.
        if (!valid_utf8(in)) return append_cp1252(in, out, st);
      }
      return append_clean_utf8(in, out, st);
    case Kind::Cp1252:
      return append_cp1252(in, out, st);
    case Kind::Iconv:
      break;
  }
  iconv_t cd = t.iconv_name ? t_iconv.get(t.iconv_name) : t_iconv.get(std::string(charset));
  if (cd == reinterpret_cast<iconv_t>(-1) && t.iconv_name) cd = t_iconv.get(std::string(charset));
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    st.unknown_charset = true;
    if (valid_utf8(in)) return append_clean_utf8(in, out, st);
    return append_cp1252(in, out, st);
  }
  thread_local std::string tmp;
  iconv_convert(cd, in, tmp, st);
  append_clean_utf8(tmp, out, st);
  if (tmp.capacity() > (1u << 20)) std::string().swap(tmp);
}

}  // namespace mm::message::detail
