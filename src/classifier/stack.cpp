#include "classifier/stack.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mm::classifier {
namespace {

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

// Solves A x = b for a symmetric positive definite A (row-major n x n) by Cholesky; false if not SPD.
bool cholesky_solve(std::vector<double> a, std::vector<double>& b, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L y = b
    double s = b[i];
    for (size_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = y
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
  return true;
}

}  // namespace

double Stack::classifier_part(const StackInputs& in) const {
  double z = bias;
  for (size_t i = 0; i < kStackInputs; ++i) z += w_in[i] * in[i];
  return 5.0 + z - tag_logit;
}

std::optional<double> Stack::symbol(std::string_view name) const {
  auto it = w_sym.find(name);
  if (it == w_sym.end()) return std::nullopt;
  return it->second;
}

Stack fit_stack(const std::vector<StackInputs>& inputs, const std::vector<std::vector<SymbolHit>>& symbols,
                const std::vector<bool>& is_spam, const StackOptions& opt) {
  Stack st;
  st.tag_logit = opt.tag_logit;
  const size_t n = inputs.size();
  if (n == 0 || symbols.size() != n || is_spam.size() != n) return st;

  // Columns: 0 bias, 1..kStackInputs the inputs, then one per symbol name (sorted: deterministic).
  std::map<std::string, double> hand;
  for (const auto& row : symbols)
    for (const auto& s : row) hand.emplace(s.name, s.hand_score);
  std::vector<std::string> names;
  for (const auto& [name, score] : hand) names.push_back(name);
  std::map<std::string, size_t> col;
  const size_t base = 1 + kStackInputs;
  for (size_t i = 0; i < names.size(); ++i) col[names[i]] = base + i;
  const size_t d = base + names.size();
  std::vector<std::vector<size_t>> rows(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& s : symbols[i]) rows[i].push_back(col[s.name]);
    std::sort(rows[i].begin(), rows[i].end());
    rows[i].erase(std::unique(rows[i].begin(), rows[i].end()), rows[i].end());
  }
  std::vector<double> prior(d, 0.0);
  for (size_t i = 0; i < names.size(); ++i) prior[base + i] = opt.prior_scale * hand[names[i]];

  std::vector<double> w = prior;
  auto margin = [&](size_t i) {
    double z = w[0];
    for (size_t k = 0; k < kStackInputs; ++k) z += w[1 + k] * inputs[i][k];
    for (size_t c : rows[i]) z += w[c];
    return z;
  };
  auto loss = [&] {
    double l = 0;
    for (size_t i = 0; i < n; ++i) {
      double z = margin(i);
      double m = is_spam[i] ? -z : z;  // log(1 + e^m)
      l += (is_spam[i] ? 1.0 : opt.ham_weight) * (m > 0 ? m + std::log1p(std::exp(-m)) : std::log1p(std::exp(m)));
    }
    for (size_t c = 1; c < d; ++c) l += 0.5 * opt.l2 * (w[c] - prior[c]) * (w[c] - prior[c]);
    return l;
  };

  double current = loss();
  for (int iter = 0; iter < 50; ++iter) {
    std::vector<double> g(d, 0.0), h(d * d, 0.0);
    std::vector<size_t> idx;
    std::vector<double> x;
    for (size_t i = 0; i < n; ++i) {
      double p = sigmoid(margin(i));
      const double wi = is_spam[i] ? 1.0 : opt.ham_weight;
      double r = (p - (is_spam[i] ? 1.0 : 0.0)) * wi;
      double v = std::max(p * (1.0 - p), 1e-12) * wi;
      idx.clear();
      x.clear();
      idx.push_back(0);
      x.push_back(1.0);
      for (size_t k = 0; k < kStackInputs; ++k) idx.push_back(1 + k), x.push_back(inputs[i][k]);
      for (size_t c : rows[i]) idx.push_back(c), x.push_back(1.0);
      for (size_t a = 0; a < idx.size(); ++a) {
        g[idx[a]] += r * x[a];
        for (size_t b = 0; b < idx.size(); ++b) h[idx[a] * d + idx[b]] += v * x[a] * x[b];
      }
    }
    for (size_t c = 0; c < d; ++c) {
      double reg = c == 0 ? 1e-6 : opt.l2;
      g[c] += c == 0 ? 0.0 : opt.l2 * (w[c] - prior[c]);
      h[c * d + c] += reg;
    }
    if (!cholesky_solve(std::move(h), g, d)) break;
    // Newton step with halving until the loss does not grow.
    double step = 1.0, next = current;
    std::vector<double> trial(d);
    for (int k = 0; k < 30; ++k, step /= 2) {
      for (size_t c = 0; c < d; ++c) trial[c] = w[c] - step * g[c];
      std::swap(w, trial);
      next = loss();
      if (next <= current + 1e-12) break;
      std::swap(w, trial);
    }
    double moved = 0;
    for (size_t c = 0; c < d; ++c) moved = std::max(moved, std::fabs(step * g[c]));
    bool done = current - next < 1e-9 * std::max(1.0, current) || moved < 1e-7;
    current = next;
    if (done) break;
  }

  st.fitted = true;
  st.bias = w[0];
  for (size_t k = 0; k < kStackInputs; ++k) st.w_in[k] = w[1 + k];
  for (size_t i = 0; i < names.size(); ++i) st.w_sym[names[i]] = w[base + i];
  return st;
}

}  // namespace mm::classifier
