#include "classifier/ppm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "classifier/grams.h"

namespace mm::classifier {

std::string ppm_text(const message::Message& msg, size_t body_bytes) {
  std::string out;
  out.reserve(std::min<size_t>(body_bytes, 1 << 16) + 256);
  fold_text(msg.subject, out, 1024);
  out.push_back('\n');  // folding leaves no newline: a part separator of its own
  fold_text(msg.from.display, out, out.size() + 256);
  out.push_back(' ');
  fold_text(msg.from.address, out, out.size() + 256);
  out.push_back('\n');
  fold_text(msg.body_text(), out, out.size() + body_bytes);
  return out;
}

Ppm::Ppm(unsigned order, unsigned ctx_bits, unsigned sym_bits)
    : on_(true),
      order_(std::clamp(order, 1u, 7u)),
      ctx_bits_(std::clamp(ctx_bits, 10u, 26u)),
      sym_bits_(std::clamp(sym_bits, 10u, 28u)) {}

void Ppm::allocate() {
  if (!on_ || !ctx_.empty()) return;
  ctx_.assign(size_t{4} << ctx_bits_, 0);
  sym_.assign(size_t{2} << sym_bits_, 0);
}

// Calls fn(byte, ctx_slots, sym_slots, orders) for every byte: the slots of its contexts of order
// 0..min(order, position), lowest order first. The slots of the next bytes are computed and
// prefetched while fn works on this one (the tables are far larger than the caches).
template <class Fn>
void Ppm::walk(std::string_view text, Fn&& fn) const {
  const size_t cmask = (size_t{1} << ctx_bits_) - 1, smask = (size_t{1} << sym_bits_) - 1;
  struct Slots {
    size_t ctx[8], sym[8];
    unsigned n = 0;
  };
  uint64_t hist = 0;  // the bytes before position i, most recent lowest
  auto slots_at = [&](size_t i, Slots& out) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.n = static_cast<unsigned>(std::min<size_t>(order_, i)) + 1;
    for (unsigned o = 0; o < out.n; ++o) {
      const uint64_t ctx = o == 0 ? 0 : hist & ((uint64_t{1} << (8 * o)) - 1);
      const uint64_t h = mix64(ctx * 0x9E3779B97F4A7C15ULL + o);
      out.ctx[o] = h & cmask;
      out.sym[o] = mix64(h ^ (uint64_t{c} + 1) * 0xD6E8FEB86659FD93ULL) & smask;
      __builtin_prefetch(&ctx_[4 * out.ctx[o]]);
      __builtin_prefetch(&sym_[2 * out.sym[o]]);
    }
    hist = (hist << 8) | c;
  };
  // Slots are computed kAhead bytes before they are used, so that their lines are on the way.
  constexpr size_t kAhead = 4;
  Slots ring[kAhead];
  for (size_t i = 0; i < std::min(kAhead, text.size()); ++i) slots_at(i, ring[i]);
  for (size_t i = 0; i < text.size(); ++i) {
    Slots& cur = ring[i % kAhead];
    fn(static_cast<unsigned char>(text[i]), cur.ctx, cur.sym, cur.n);
    if (i + kAhead < text.size()) slots_at(i + kAhead, cur);
  }
}

void Ppm::count(std::string_view text, bool is_spam, int delta) {
  if (!on() || (delta < 0 && ctx_.empty())) return;
  allocate();
  const size_t cls = is_spam ? 0 : 1;
  walk(text, [&](unsigned char, const size_t* cs, const size_t* ss, unsigned n) {
    for (unsigned o = 0; o < n; ++o) {
      uint32_t& s = sym_[2 * ss[o] + cls];
      uint32_t* cx = &ctx_[4 * cs[o] + 2 * cls];  // total, distinct
      if (delta > 0) {
        if (s == std::numeric_limits<uint32_t>::max() || cx[0] == std::numeric_limits<uint32_t>::max()) continue;
        if (s++ == 0) ++cx[1];
        ++cx[0];
      } else {
        if (s == 0) continue;
        if (--s == 0 && cx[1] > 0) --cx[1];
        if (cx[0] > 0) --cx[0];
      }
    }
  });
}

namespace {
// The bytes the models read: ASCII only. With every byte, a script that only the spam half of the
// training mail used (Chinese, Korean) made all mail in it spam (a Japanese ham scored +30); the
// word learners, whose unknown tokens weigh nothing, read other scripts instead.
// Spaces are folded again where the dropped bytes leave runs of them (the gaps would still tell).
std::string ascii_of(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x80 && !(c == ' ' && !out.empty() && out.back() == ' ')) out.push_back(c);
  return out;
}
}  // namespace

void Ppm::learn(std::string_view text, bool is_spam) { count(ascii_of(text), is_spam, +1); }
void Ppm::unlearn(std::string_view text, bool was_spam) { count(ascii_of(text), was_spam, -1); }

double Ppm::score(std::string_view full) const {
  if (ctx_.empty() || full.empty()) return 0.0;  // off, or nothing learnt yet
  const std::string text = ascii_of(full);
  // The products of a few bytes' probabilities, one log per flush (a log per byte was most of
  // the cost); flushed before they could underflow.
  double sum = 0, prod[2] = {1.0, 1.0};
  unsigned pending = 0;
  walk(text, [&](unsigned char, const size_t* cs, const size_t* ss, unsigned n) {
    double p[2] = {1.0 / 256, 1.0 / 256};
    for (unsigned o = 0; o < n; ++o) {
      for (size_t cls = 0; cls < 2; ++cls) {
        const double total = ctx_[4 * cs[o] + 2 * cls];
        if (total <= 0) continue;
        // At least 1: a colliding slot may hold a total without the distinct count that went with it.
        const double distinct = std::max<uint32_t>(ctx_[4 * cs[o] + 2 * cls + 1], 1);
        p[cls] = (sym_[2 * ss[o] + cls] + distinct * p[cls]) / (total + distinct);
      }
    }
    prod[0] *= p[0];
    prod[1] *= p[1];
    if (++pending == 8 || prod[0] < 1e-150 || prod[1] < 1e-150) {
      sum += std::log(prod[0] / prod[1]);
      prod[0] = prod[1] = 1.0;
      pending = 0;
    }
  });
  sum += std::log(prod[0] / prod[1]);
  // Over all bytes: the bytes of other scripts count as no evidence either way, so mail mostly in
  // another script gets little of this learner's vote (the spaces and digits left between its
  // words would otherwise speak for the script).
  return sum / static_cast<double>(full.size());
}

}  // namespace mm::classifier
