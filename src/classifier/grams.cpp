#include "classifier/grams.h"

#include <algorithm>
#include <bit>
#include <string>
#include <string_view>

namespace mm::classifier {
namespace {

bool space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

}  // namespace

// Case kept measured worse for both learners that read it (bench/accuracy/README.md).
void fold_text(std::string_view s, std::string& out, size_t limit) {
  for (unsigned char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (out.size() >= limit) return;
    if (space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

namespace {

// The n-grams of one part: the window's bytes packed into 64 bits, mixed with n and the part.
void grams_of(std::string_view s, size_t n, uint64_t part, std::vector<uint64_t>& out) {
  if (s.size() < n) {
    if (!s.empty()) {  // a short part still says something (a one-word subject)
      uint64_t v = 0;
      for (unsigned char c : s) v = (v << 8) | c;
      out.push_back(mix64(v ^ (part << 59) ^ (uint64_t{s.size()} << 52) ^ 0x5bd1e995ULL));
    }
    return;
  }
  const uint64_t mask = n >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
  const uint64_t salt = (part + 1) * 0x9E3779B97F4A7C15ULL + n;
  uint64_t v = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    v = ((v << 8) | static_cast<unsigned char>(s[i])) & mask;
    if (i + 1 >= n) out.push_back(mix64(v + salt));
  }
}

// Drops repeats with an open-addressing set (linear in the windows; most of a long body's windows
// repeat), then sorts the unique ones: cheaper than sorting every window.
void unique_sorted(std::vector<uint64_t>& v) {
  if (v.size() > 64) {
    const size_t cap = std::bit_ceil(v.size() * 2);
    std::vector<uint64_t> slots(cap, 0);  // 0 = empty; a hash of 0 is kept by `zero`
    bool zero = false;
    size_t k = 0;
    for (uint64_t h : v) {
      if (h == 0) {
        if (!zero) v[k++] = 0;
        zero = true;
        continue;
      }
      size_t i = h & (cap - 1);
      while (slots[i] != 0 && slots[i] != h) i = (i + 1) & (cap - 1);
      if (slots[i] == 0) slots[i] = h, v[k++] = h;
    }
    v.resize(k);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::vector<uint64_t> byte_grams(const message::Message& msg, size_t n, size_t body_bytes) {
  n = std::clamp<size_t>(n, 2, 8);
  std::vector<uint64_t> out;
  std::string buf;
  buf.reserve(std::max<size_t>(body_bytes, 256));
  fold_text(msg.subject, buf, 1024);
  grams_of(buf, n, 0, out);
  buf.clear();
  fold_text(msg.from.display, buf, 256);
  if (!buf.empty() && !msg.from.address.empty()) buf.push_back(' ');
  fold_text(msg.from.address, buf, 512);
  grams_of(buf, n, 1, out);
  buf.clear();
  fold_text(msg.body_text(), buf, body_bytes);
  grams_of(buf, n, 2, out);
  unique_sorted(out);
  return out;
}

}  // namespace mm::classifier
