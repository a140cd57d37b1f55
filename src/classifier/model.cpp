#include "classifier/model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>

namespace mm::classifier {
namespace {

constexpr char kMagic[4] = {'M', 'M', 'C', 'L'};

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

double logit(double p) { return std::log(p / (1.0 - p)); }

// ln of the chi-square survival function Q(x2 | v) for even v: e^-m * sum_{i<v/2} m^i / i!.
double ln_chi2q(double x2, size_t v) {
  double m = x2 / 2.0;
  if (m <= 0) return 0.0;
  double lm = std::log(m);
  double maxterm = -INFINITY;
  std::vector<double> terms(v / 2);
  for (size_t i = 0; i < v / 2; ++i) {
    terms[i] = static_cast<double>(i) * lm - std::lgamma(static_cast<double>(i) + 1.0);
    maxterm = std::max(maxterm, terms[i]);
  }
  double sum = 0;
  for (double t : terms) sum += std::exp(t - maxterm);
  return std::min(0.0, -m + maxterm + std::log(sum));
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

class Writer {
 public:
  std::string out;
  void raw(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
  template <class T>
  void fixed(T v) {  // little-endian
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    raw(b, sizeof(T));
  }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  size_t left() const { return s_.size() - pos_; }
  template <class T>
  T fixed() {
    T v{};
    if (left() < sizeof(T)) {
      ok_ = false;
      return v;
    }
    unsigned char b[sizeof(T)];
    std::memcpy(b, s_.data() + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    std::memcpy(&v, b, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string bytes(size_t n) {
    if (left() < n) {
      ok_ = false;
      return {};
    }
    std::string out(s_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (left() == 0) break;
      auto b = static_cast<unsigned char>(s_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// An FTRL table's non-zero entries: their count, then per entry the index (delta coded), z and n.
void write_ftrl(Writer& w, const std::vector<float>& z, const std::vector<float>& n) {
  size_t nonzero = 0;
  for (size_t i = 0; i < z.size(); ++i) nonzero += (z[i] != 0.0f || n[i] != 0.0f);
  w.varint(nonzero);
  size_t prev = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    if (z[i] == 0.0f && n[i] == 0.0f) continue;
    w.varint(i - prev);
    prev = i;
    w.fixed<float>(z[i]);
    w.fixed<float>(n[i]);
  }
}

// Reads write_ftrl's form into tables already of the model's size; nullptr, or what is wrong.
const char* read_ftrl(Reader& r, std::vector<float>& z, std::vector<float>& n) {
  uint64_t nonzero = r.varint();
  if (!r.ok() || nonzero > z.size()) return "table size is bad";
  size_t idx = 0;
  for (uint64_t i = 0; i < nonzero && r.ok(); ++i) {
    idx += r.varint();
    if (idx >= z.size()) return "index out of range";
    z[idx] = r.fixed<float>();
    n[idx] = r.fixed<float>();
  }
  return nullptr;
}

// A counter table: the number of non-zero slots, then each one's index gap and value (varints).
template <class T>
void write_sparse(Writer& w, const std::vector<T>& t) {
  w.varint(static_cast<uint64_t>(std::count_if(t.begin(), t.end(), [](T v) { return v != 0; })));
  size_t prev = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == 0) continue;
    w.varint(i - prev);
    prev = i;
    w.varint(t[i]);
  }
}

// Reads write_sparse's form into a table already of the model's size; nullptr, or what is wrong.
template <class T>
const char* read_sparse(Reader& r, std::vector<T>& t) {
  uint64_t nonzero = r.varint();
  if (!r.ok() || nonzero > t.size() || nonzero > r.left()) return "table size is bad";
  size_t idx = 0;
  for (uint64_t i = 0; i < nonzero && r.ok(); ++i) {
    idx += r.varint();
    uint64_t v = r.varint();
    if (idx >= t.size()) return "index out of range";
    if (v > std::numeric_limits<T>::max()) return "count out of range";
    t[idx] = static_cast<T>(v);
  }
  return nullptr;
}

// How many stack input weights a blob of this version holds.
size_t stack_inputs_of(uint16_t version) { return version >= 5 ? 5 : version >= 4 ? 4 : 3; }

}  // namespace

const char* to_string(Method m) {
  switch (m) {
    case Method::Bayes: return "bayes";
    case Method::Logistic: return "logistic";
    case Method::Combined: return "combined";
  }
  return "?";
}

Model::Model(const Options& opt) : opt_(opt) {
  opt_.hash_bits = std::clamp<uint32_t>(opt_.hash_bits, 10, 26);
  size_t dim = (size_t{1} << opt_.hash_bits) + 1;
  z_.assign(dim, 0.0f);
  n_.assign(dim, 0.0f);
  opt_.gram_bits = std::clamp<uint32_t>(opt_.gram_bits, 10, 26);
  if (grams_on()) {
    gz_.assign((size_t{1} << opt_.gram_bits) + 1, 0.0f);
    gn_.assign(gz_.size(), 0.0f);
  }
  if (ppm_on()) ppm_ = Ppm(opt_.ppm_order, opt_.ppm_ctx_bits, opt_.ppm_sym_bits);
}

Model::Model(Model&& other) noexcept {
  std::unique_lock lock(other.mu_);
  opt_ = other.opt_;
  nspam_ = other.nspam_;
  nham_ = other.nham_;
  bayes_ = std::move(other.bayes_);
  z_ = std::move(other.z_);
  n_ = std::move(other.n_);
  gz_ = std::move(other.gz_);
  gn_ = std::move(other.gn_);
  ppm_ = std::move(other.ppm_);
  stack_ = std::move(other.stack_);
  feedback_ = std::move(other.feedback_);
  feedback_order_ = std::move(other.feedback_order_);
}

Model& Model::operator=(Model&& other) noexcept {
  if (this == &other) return *this;
  std::scoped_lock lock(mu_, other.mu_);
  opt_ = other.opt_;
  nspam_ = other.nspam_;
  nham_ = other.nham_;
  bayes_ = std::move(other.bayes_);
  z_ = std::move(other.z_);
  n_ = std::move(other.n_);
  gz_ = std::move(other.gz_);
  gn_ = std::move(other.gn_);
  ppm_ = std::move(other.ppm_);
  stack_ = std::move(other.stack_);
  feedback_ = std::move(other.feedback_);
  feedback_order_ = std::move(other.feedback_order_);
  return *this;
}

void Model::set_method(Method m) {
  std::unique_lock lock(mu_);
  opt_.method = m;
}

void Model::learn(const message::Message& msg, bool is_spam) { learn(extract(msg, opt_.tokenizer), is_spam); }

void Model::learn(const Features& f, bool is_spam) {
  std::unique_lock lock(mu_);
  learn_locked(f, is_spam);
}

void Model::learn_locked(const Features& f, bool is_spam) {
  (is_spam ? nspam_ : nham_)++;
  for (uint64_t h : f.hashes) {
    Counts& c = bayes_[h];
    if (is_spam) ++c.spam;
    else ++c.ham;
  }
  ftrl_update_locked(f, is_spam);
  if (grams_on()) gram_update_locked(f, is_spam);
  ppm_.learn(f.ppm_text, is_spam);
}

void Model::learn_report_locked(const Features& f, bool is_spam) {
  learn_locked(f, is_spam);
  if (!is_spam) return;
  // Batch training weighs ham opt_.ham_weight times, so one plain update would leave a reported
  // spam about where it was. Repeat the logistic update (at most ham_weight times in all) until
  // the learner itself rates the message spam with p >= 0.99 (margin 4.6).
  const int extra = static_cast<int>(std::ceil(opt_.ham_weight)) - 1;
  for (int i = 0; i < extra && logistic_margin_locked(f) < 4.6; ++i) ftrl_update_locked(f, true);
}

void Model::unlearn(const Features& f, bool was_spam) {
  std::unique_lock lock(mu_);
  unlearn_locked(f, was_spam);
}

void Model::unlearn_locked(const Features& f, bool was_spam) {
  uint64_t& n = was_spam ? nspam_ : nham_;
  if (n == 0) return;
  --n;
  ppm_.unlearn(f.ppm_text, was_spam);
  for (uint64_t h : f.hashes) {
    auto it = bayes_.find(h);
    if (it == bayes_.end()) continue;
    uint32_t& c = was_spam ? it->second.spam : it->second.ham;
    if (c > 0) --c;
    if (it->second.spam == 0 && it->second.ham == 0) bayes_.erase(it);
  }
}

Feedback Model::learn_feedback(const Features& f, bool is_spam) {
  uint64_t digest = 1469598103934665603ULL;
  for (uint64_t h : f.hashes) digest = (digest ^ h) * 1099511628211ULL;
  std::unique_lock lock(mu_);
  auto it = feedback_.find(digest);
  if (it != feedback_.end()) {
    if (it->second == is_spam) return Feedback::AlreadyLearned;
    unlearn_locked(f, it->second);
    it->second = is_spam;
    learn_report_locked(f, is_spam);
    return Feedback::Relearned;
  }
  if (feedback_order_.size() >= kFeedbackMemory) {
    feedback_.erase(feedback_order_.front());
    feedback_order_.erase(feedback_order_.begin());
  }
  feedback_.emplace(digest, is_spam);
  feedback_order_.push_back(digest);
  learn_report_locked(f, is_spam);
  return Feedback::Learned;
}

size_t Model::feedback_messages() const {
  std::shared_lock lock(mu_);
  return feedback_.size();
}

void Model::train(const std::vector<Features>& examples, const std::vector<bool>& is_spam, int epochs) {
  std::vector<size_t> all(examples.size());
  std::iota(all.begin(), all.end(), 0);
  std::unique_lock lock(mu_);
  train_locked(examples, is_spam, all, epochs);
}

void Model::train_locked(const std::vector<Features>& examples, const std::vector<bool>& is_spam,
                         const std::vector<size_t>& which, int epochs) {
  for (size_t i : which) {
    (is_spam[i] ? nspam_ : nham_)++;
    ppm_.learn(examples[i].ppm_text, is_spam[i]);
    for (uint64_t h : examples[i].hashes) {
      Counts& c = bayes_[h];
      if (is_spam[i]) ++c.spam;
      else ++c.ham;
    }
  }
  // The Bayes counts stay fixed during the passes: look each token's NB scale up once.
  std::vector<std::vector<double>> nb;
  if (opt_.nb_scale != 0.0) {
    nb.resize(examples.size());
    for (size_t i : which) {
      nb[i].reserve(examples[i].hashes.size());
      for (uint64_t h : examples[i].hashes) nb[i].push_back(nb_value(h));
    }
  }
  std::vector<size_t> order = which;
  std::mt19937_64 rng(42);
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      ftrl_update_locked(examples[i], is_spam[i], nb.empty() ? nullptr : nb[i].data(),
                         is_spam[i] ? 1.0 : opt_.ham_weight);
      if (grams_on() && static_cast<uint32_t>(e) < opt_.gram_epochs)
        gram_update_locked(examples[i], is_spam[i], is_spam[i] ? 1.0 : opt_.gram_ham_weight);
    }
  }
}

void Model::fit_stack(const std::vector<Features>& examples, const std::vector<bool>& is_spam,
                      const std::vector<std::vector<SymbolHit>>& symbols, const StackOptions& so) {
  const size_t n = examples.size();
  size_t nspam = static_cast<size_t>(std::count(is_spam.begin(), is_spam.end(), true));
  const int folds = std::max(2, so.folds);
  if (symbols.size() != n || is_spam.size() != n || nspam < so.min_examples || n - nspam < so.min_examples) {
    std::unique_lock lock(mu_);
    stack_ = Stack{};
    return;
  }
  // Folds by a fixed shuffle, stratified by label.
  std::vector<size_t> fold(n);
  {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(11);
    std::shuffle(order.begin(), order.end(), rng);
    size_t ks = 0, kh = 0;
    for (size_t i : order) fold[i] = (is_spam[i] ? ks++ : kh++) % static_cast<size_t>(folds);
  }
  Options fo = options();
  fo.min_examples = 1;
  std::vector<StackInputs> inputs(n);
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> tr;
    for (size_t i = 0; i < n; ++i)
      if (fold[i] != static_cast<size_t>(f)) tr.push_back(i);
    Model sub(fo);
    {
      std::unique_lock lock(sub.mu_);
      sub.train_locked(examples, is_spam, tr, so.epochs);
    }
    for (size_t i = 0; i < n; ++i)
      if (fold[i] == static_cast<size_t>(f)) inputs[i] = sub.explain(examples[i]).stack_inputs();
  }
  Stack st = classifier::fit_stack(inputs, symbols, is_spam, so);
  std::unique_lock lock(mu_);
  stack_ = std::move(st);
}

bool Model::stacked() const {
  std::shared_lock lock(mu_);
  return stack_.fitted && trained_locked();
}

std::optional<double> Model::stacked_classifier_score(const Features& f, Explanation* e) const {
  std::shared_lock lock(mu_);
  if (!stack_.fitted || !trained_locked()) return std::nullopt;
  Explanation x = explain_locked(f);
  if (e) *e = x;
  return stack_.classifier_part(x.stack_inputs());
}

std::optional<double> Model::stacked_symbol_score(std::string_view name) const {
  std::shared_lock lock(mu_);
  if (!stack_.fitted || !trained_locked()) return std::nullopt;
  return stack_.symbol(name);
}

void Model::with_stack(const std::function<void(const Stack*)>& fn) const {
  std::shared_lock lock(mu_);
  fn(stack_.fitted && trained_locked() ? &stack_ : nullptr);
}

Stack Model::stack() const {
  std::shared_lock lock(mu_);
  return stack_;
}

StackInputs Explanation::stack_inputs() const {
  return {logit(std::clamp(bayes, 1e-4, 1 - 1e-4)), margin, std::clamp(bayes_chi, -100.0, 100.0) / 10.0, gram_margin,
          ppm};
}

namespace {
// FTRL-Proximal (McMahan et al. 2013), per coordinate: the weight from the state (z, n), and one
// step with gradient g. Both learners (words and byte n-grams) use it with their own settings.
struct Ftrl {
  double alpha, beta, l1, l2;
  float weight(float z, float n) const {
    if (std::fabs(z) <= l1) return 0.0f;
    double sign = z < 0 ? -1.0 : 1.0;
    return static_cast<float>(-(z - sign * l1) / ((beta + std::sqrt(n)) / alpha + l2));
  }
  void step(float& z, float& n, double g) const {
    double w = weight(z, n);
    double sigma = (std::sqrt(n + g * g) - std::sqrt(n)) / alpha;
    z = static_cast<float>(z + g - sigma * w);
    n = static_cast<float>(n + g * g);
  }
};
}  // namespace

float Model::weight(size_t i) const { return Ftrl{opt_.alpha, opt_.beta, opt_.l1, opt_.l2}.weight(z_[i], n_[i]); }

namespace {
// The logistic learner's input scale: every active feature (both lists) has value 1/sqrt(count).
double feature_value(const Features& f) {
  size_t k = f.hashes.size() + f.logistic_only.size();
  return k == 0 ? 0.0 : 1.0 / std::sqrt(static_cast<double>(k));
}
}  // namespace

double Model::nb_from_counts(double spam, double ham) const {
  if (opt_.nb_scale == 0.0) return 1.0;
  const double ns = static_cast<double>(nspam_), nh = static_cast<double>(nham_);
  double r = std::log((spam + 1.0) / (ns + 2.0)) - std::log((ham + 1.0) / (nh + 2.0));
  return (1.0 - opt_.nb_scale) + opt_.nb_scale * std::clamp(r, -6.0, 6.0);
}

double Model::nb_value(uint64_t h) const {
  if (opt_.nb_scale == 0.0) return 1.0;
  if (auto it = bayes_.find(h); it != bayes_.end()) return nb_from_counts(it->second.spam, it->second.ham);
  return nb_from_counts(0, 0);
}

double Model::logistic_margin_locked(const Features& f, const double* nb) const {
  const size_t mask = (size_t{1} << opt_.hash_bits) - 1;
  const double x = feature_value(f);
  double margin = weight(mask + 1);  // bias
  for (size_t k = 0; k < f.hashes.size(); ++k)
    margin += weight(f.hashes[k] & mask) * x * (nb ? nb[k] : nb_value(f.hashes[k]));
  for (uint64_t h : f.logistic_only) margin += weight(h & mask) * x;
  return margin;
}

void Model::ftrl_update_locked(const Features& f, bool is_spam, const double* nb, double example_weight) {
  const size_t mask = (size_t{1} << opt_.hash_bits) - 1;
  const double x = feature_value(f);
  const double p = sigmoid(logistic_margin_locked(f, nb));
  const double gbase = (p - (is_spam ? 1.0 : 0.0)) * example_weight;
  const Ftrl ftrl{opt_.alpha, opt_.beta, opt_.l1, opt_.l2};
  auto update = [&](size_t i, double xi) { ftrl.step(z_[i], n_[i], gbase * xi); };
  update(mask + 1, 1.0);
  for (size_t k = 0; k < f.hashes.size(); ++k)
    update(f.hashes[k] & mask, x * (nb ? nb[k] : nb_value(f.hashes[k])));
  for (uint64_t h : f.logistic_only) update(h & mask, x);
}

float Model::gram_weight(size_t i) const {
  return Ftrl{opt_.gram_alpha, opt_.beta, opt_.l1, opt_.gram_l2}.weight(gz_[i], gn_[i]);
}

// The n-gram learner: binary features scaled to unit length (1/sqrt(#grams)), plus a bias.
double Model::gram_margin_locked(const Features& f) const {
  if (gz_.empty()) return 0.0;
  const size_t mask = (size_t{1} << opt_.gram_bits) - 1;
  const double x = f.grams.empty() ? 0.0 : 1.0 / std::sqrt(static_cast<double>(f.grams.size()));
  double margin = gram_weight(mask + 1);
  for (uint64_t h : f.grams) margin += gram_weight(h & mask) * x;
  return margin;
}

void Model::gram_update_locked(const Features& f, bool is_spam, double example_weight) {
  if (gz_.empty()) return;
  const size_t mask = (size_t{1} << opt_.gram_bits) - 1;
  const double x = f.grams.empty() ? 0.0 : 1.0 / std::sqrt(static_cast<double>(f.grams.size()));
  const double gbase = (sigmoid(gram_margin_locked(f)) - (is_spam ? 1.0 : 0.0)) * example_weight;
  const Ftrl ftrl{opt_.gram_alpha, opt_.beta, opt_.l1, opt_.gram_l2};
  auto update = [&](size_t i, double xi) { ftrl.step(gz_[i], gn_[i], gbase * xi); };
  update(mask + 1, 1.0);
  for (uint64_t h : f.grams) update(h & mask, x);
}

double Model::bayes_locked(const Features& f, double* score, std::vector<double>* nb) const {
  const double ns = static_cast<double>(std::max<uint64_t>(nspam_, 1));
  const double nh = static_cast<double>(std::max<uint64_t>(nham_, 1));
  const double s = opt_.unknown_strength, x = opt_.unknown_prob;
  std::vector<double> clues;
  clues.reserve(256);
  if (nb) nb->clear();
  for (uint64_t h : f.hashes) {
    auto it = bayes_.find(h);
    if (nb) nb->push_back(it == bayes_.end() ? nb_from_counts(0, 0) : nb_from_counts(it->second.spam, it->second.ham));
    if (it == bayes_.end()) continue;
    double sr = it->second.spam / ns, hr = it->second.ham / nh;
    if (sr + hr <= 0) continue;
    double p = sr / (sr + hr);
    double n = it->second.spam + it->second.ham;
    double fw = (s * x + n * p) / (s + n);
    if (std::fabs(fw - 0.5) >= opt_.min_deviation) clues.push_back(fw);
  }
  if (clues.size() > opt_.max_clues) {
    std::nth_element(clues.begin(), clues.begin() + opt_.max_clues, clues.end(),
                     [](double a, double b) { return std::fabs(a - 0.5) > std::fabs(b - 0.5); });
    clues.resize(opt_.max_clues);
  }
  if (clues.empty()) {
    if (score) *score = 0;
    return 0.5;
  }
  double sum_ln_f = 0, sum_ln_1f = 0;
  for (double fw : clues) {
    sum_ln_f += std::log(fw);
    sum_ln_1f += std::log1p(-fw);
  }
  const size_t v = 2 * clues.size();
  const double ln_qh = ln_chi2q(-2.0 * sum_ln_f, v);   // small when the clues are hammy
  const double ln_qs = ln_chi2q(-2.0 * sum_ln_1f, v);  // small when the clues are spammy
  if (score) *score = ln_qh - ln_qs;
  return (1.0 + std::exp(ln_qh) - std::exp(ln_qs)) / 2.0;
}

Explanation Model::explain_locked(const Features& f) const {
  Explanation e;
  if (!trained_locked()) return e;
  double bscore = 0;
  // One Bayes table lookup per token serves both learners (the NB scale of the logistic inputs).
  std::vector<double> nb;
  const bool scaled = opt_.nb_scale != 0.0;
  if (scaled) nb.reserve(f.hashes.size());
  e.bayes = bayes_locked(f, &bscore, scaled ? &nb : nullptr);
  double margin = logistic_margin_locked(f, scaled ? nb.data() : nullptr);
  e.logistic = sigmoid(margin);
  e.margin = margin;
  e.bayes_chi = bscore;
  e.gram_margin = gram_margin_locked(f);
  // Clamped so that this one learner can add at most a few points (no CV score reached 10).
  e.ppm = std::clamp(opt_.ppm_scale * ppm_.score(f.ppm_text), -10.0, 10.0);
  switch (opt_.method) {
    case Method::Bayes:
      e.probability = e.bayes;
      e.score = bscore;
      break;
    case Method::Logistic:
      e.probability = e.logistic;
      e.score = margin;
      break;
    case Method::Combined: {
      double lb = logit(std::clamp(e.bayes, 1e-4, 1 - 1e-4));
      double s = opt_.bayes_weight * lb + (1.0 - opt_.bayes_weight) * margin;
      e.probability = sigmoid(s);
      e.score = s + 1e-3 * std::clamp(bscore, -1e3, 1e3);
      break;
    }
  }
  return e;
}

Explanation Model::explain(const Features& f) const {
  std::shared_lock lock(mu_);
  return explain_locked(f);
}

double Model::classify(const message::Message& msg) const { return classify(extract(msg, opt_.tokenizer)); }

double Model::classify(const Features& f) const {
  std::shared_lock lock(mu_);
  return explain_locked(f).probability;
}

bool Model::trained_locked() const { return nspam_ >= opt_.min_examples && nham_ >= opt_.min_examples; }

bool Model::trained() const {
  std::shared_lock lock(mu_);
  return trained_locked();
}

uint64_t Model::spam_examples() const {
  std::shared_lock lock(mu_);
  return nspam_;
}

uint64_t Model::ham_examples() const {
  std::shared_lock lock(mu_);
  return nham_;
}

size_t Model::bayes_features() const {
  std::shared_lock lock(mu_);
  return bayes_.size();
}

std::string Model::serialize() const {
  std::shared_lock lock(mu_);
  Writer w;
  w.raw(kMagic, 4);
  // The oldest version that holds the model: 5 with the PPM learner, 4 with the n-gram learner, else 3
  // (so that a model without them stays readable by older builds).
  const uint16_t version = ppm_on() ? 5 : grams_on() ? 4 : 3;
  w.fixed<uint16_t>(version);
  w.fixed<uint8_t>(static_cast<uint8_t>(opt_.method));
  w.fixed<double>(opt_.unknown_strength);
  w.fixed<double>(opt_.unknown_prob);
  w.fixed<double>(opt_.min_deviation);
  w.fixed<uint32_t>(opt_.max_clues);
  w.fixed<uint32_t>(opt_.hash_bits);
  w.fixed<double>(opt_.alpha);
  w.fixed<double>(opt_.beta);
  w.fixed<double>(opt_.l1);
  w.fixed<double>(opt_.l2);
  w.fixed<double>(opt_.bayes_weight);
  w.fixed<uint32_t>(opt_.min_examples);
  w.varint(opt_.tokenizer.max_words);
  w.varint(opt_.tokenizer.osb_window);
  w.varint(opt_.tokenizer.min_word_bytes);
  w.varint(opt_.tokenizer.max_word_bytes);
  w.varint(opt_.tokenizer.extras);  // version 3
  w.fixed<double>(opt_.nb_scale);   // version 3
  if (grams_on()) {  // version 4 and later, when the learner is on
    w.varint(opt_.tokenizer.gram_n);
    w.varint(opt_.tokenizer.gram_body_bytes);
    w.fixed<uint32_t>(opt_.gram_bits);
    w.fixed<double>(opt_.gram_alpha);
    w.fixed<double>(opt_.gram_l2);
  }
  if (ppm_on()) {  // version 5
    w.varint(opt_.tokenizer.ppm_body_bytes);
    w.fixed<uint32_t>(opt_.ppm_order);
    w.fixed<uint32_t>(opt_.ppm_ctx_bits);
    w.fixed<uint32_t>(opt_.ppm_sym_bits);
    w.fixed<double>(opt_.ppm_scale);
    w.fixed<double>(opt_.ham_weight);  // bounds the repeats of a spam report (learn_feedback)
  }
  w.varint(nspam_);
  w.varint(nham_);

  std::vector<std::pair<uint64_t, Counts>> entries(bayes_.begin(), bayes_.end());
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  w.varint(entries.size());
  uint64_t prev = 0;
  for (const auto& [key, c] : entries) {
    w.varint(key - prev);
    prev = key;
    w.varint(c.spam);
    w.varint(c.ham);
  }
  write_ftrl(w, z_, n_);
  // Version 2: the stack, then the feedback memory.
  w.varint(stack_.fitted ? 1 : 0);
  if (stack_.fitted) {
    w.fixed<double>(stack_.bias);
    for (size_t k = 0; k < stack_inputs_of(version); ++k) w.fixed<double>(stack_.w_in[k]);
    w.fixed<double>(stack_.tag_logit);
    std::vector<std::pair<std::string, double>> syms(stack_.w_sym.begin(), stack_.w_sym.end());
    std::sort(syms.begin(), syms.end());
    w.varint(syms.size());
    for (const auto& [name, weight] : syms) {
      w.varint(name.size());
      w.raw(name.data(), name.size());
      w.fixed<double>(weight);
    }
  }
  w.varint(feedback_order_.size());
  for (uint64_t d : feedback_order_) {
    w.fixed<uint64_t>(d);
    w.fixed<uint8_t>(feedback_.at(d) ? 1 : 0);
  }
  if (grams_on()) write_ftrl(w, gz_, gn_);  // the n-gram learner's FTRL state
  if (ppm_on()) {                           // the PPM learner's counts
    write_sparse(w, ppm_.ctx_table());
    write_sparse(w, ppm_.sym_table());
  }
  w.fixed<uint64_t>(fnv1a(w.out));
  return std::move(w.out);
}

Result<Model> Model::deserialize(std::string_view blob) {
  if (blob.size() < 4 + 2 + 8 || std::memcmp(blob.data(), kMagic, 4) != 0)
    return Status::error("classifier model: not a model blob (bad magic)");
  {
    Reader tail(blob.substr(blob.size() - 8));
    if (tail.fixed<uint64_t>() != fnv1a(blob.substr(0, blob.size() - 8)))
      return Status::error("classifier model: checksum mismatch (truncated or corrupt)");
  }
  Reader r(blob.substr(4, blob.size() - 12));
  auto version = r.fixed<uint16_t>();
  if (version < 1 || version > kFormatVersion)
    return Status::error("classifier model: unsupported format version " + std::to_string(version));
  Options opt;
  auto method = r.fixed<uint8_t>();
  if (method > 2) return Status::error("classifier model: unknown method");
  opt.method = static_cast<Method>(method);
  opt.unknown_strength = r.fixed<double>();
  opt.unknown_prob = r.fixed<double>();
  opt.min_deviation = r.fixed<double>();
  opt.max_clues = r.fixed<uint32_t>();
  opt.hash_bits = r.fixed<uint32_t>();
  opt.alpha = r.fixed<double>();
  opt.beta = r.fixed<double>();
  opt.l1 = r.fixed<double>();
  opt.l2 = r.fixed<double>();
  opt.bayes_weight = r.fixed<double>();
  opt.min_examples = r.fixed<uint32_t>();
  opt.tokenizer.max_words = r.varint();
  opt.tokenizer.osb_window = r.varint();
  opt.tokenizer.min_word_bytes = r.varint();
  opt.tokenizer.max_word_bytes = r.varint();
  // Version 3 adds the optional token groups; older models were trained without any.
  opt.tokenizer.extras = version >= 3 ? static_cast<uint32_t>(r.varint()) : 0u;
  opt.nb_scale = version >= 3 ? r.fixed<double>() : 0.0;
  // Version 4: the byte n-gram learner (on in every version-4 blob; in version 5 when extras says so).
  if (version == 4 && !(opt.tokenizer.extras & kTokByteGrams))
    return Status::error("classifier model: bad n-gram learner options");
  if (version >= 4 && (opt.tokenizer.extras & kTokByteGrams)) {
    opt.tokenizer.gram_n = r.varint();
    opt.tokenizer.gram_body_bytes = r.varint();
    opt.gram_bits = r.fixed<uint32_t>();
    opt.gram_alpha = r.fixed<double>();
    opt.gram_l2 = r.fixed<double>();
    if (!(opt.tokenizer.extras & kTokByteGrams) || opt.tokenizer.gram_n < 2 || opt.tokenizer.gram_n > 8 ||
        opt.tokenizer.gram_body_bytes > (size_t{1} << 24) || opt.gram_bits < 10 || opt.gram_bits > 26 ||
        !(opt.gram_alpha > 0) || !(opt.gram_l2 >= 0))
      return Status::error("classifier model: bad n-gram learner options");
  } else {
    opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokByteGrams);
  }
  // Version 5: the PPM learner (on in every version-5 blob), and the ham weight training used.
  if (version >= 5) {
    opt.tokenizer.ppm_body_bytes = r.varint();
    opt.ppm_order = r.fixed<uint32_t>();
    opt.ppm_ctx_bits = r.fixed<uint32_t>();
    opt.ppm_sym_bits = r.fixed<uint32_t>();
    opt.ppm_scale = r.fixed<double>();
    opt.ham_weight = r.fixed<double>();
    if (!(opt.ham_weight >= 1.0 && opt.ham_weight <= 1024.0))
      return Status::error("classifier model: bad ham weight");
    if (!(opt.tokenizer.extras & kTokPpm) || opt.tokenizer.ppm_body_bytes > (size_t{1} << 24) || opt.ppm_order < 1 ||
        opt.ppm_order > 7 || opt.ppm_ctx_bits < 10 || opt.ppm_ctx_bits > 26 || opt.ppm_sym_bits < 10 ||
        opt.ppm_sym_bits > 28 || !std::isfinite(opt.ppm_scale))
      return Status::error("classifier model: bad PPM learner options");
  } else {
    opt.tokenizer.extras &= ~static_cast<uint32_t>(kTokPpm);
  }
  if (!r.ok() || opt.hash_bits < 10 || opt.hash_bits > 26 || !(opt.alpha > 0) || opt.tokenizer.osb_window > 16 ||
      !(std::fabs(opt.nb_scale) <= 1.0))
    return Status::error("classifier model: bad options");
  Model m(opt);
  m.nspam_ = r.varint();
  m.nham_ = r.varint();
  uint64_t entries = r.varint();
  if (!r.ok() || entries > r.left()) return Status::error("classifier model: bad Bayes table size");
  m.bayes_.reserve(entries);
  uint64_t key = 0;
  for (uint64_t i = 0; i < entries && r.ok(); ++i) {
    key += r.varint();
    Counts c;
    c.spam = static_cast<uint32_t>(r.varint());
    c.ham = static_cast<uint32_t>(r.varint());
    m.bayes_[key] = c;
  }
  if (const char* e = read_ftrl(r, m.z_, m.n_)) return Status::error(std::string("classifier model: weight ") + e);
  if (version >= 2 && r.ok()) {  // version 2 and later: the stack and the feedback memory
    uint64_t fitted = r.varint();
    if (fitted > 1) return Status::error("classifier model: bad stack flag");
    if (fitted) {
      m.stack_.fitted = true;
      m.stack_.bias = r.fixed<double>();
      for (size_t k = 0; k < stack_inputs_of(version); ++k) m.stack_.w_in[k] = r.fixed<double>();
      m.stack_.tag_logit = r.fixed<double>();
      uint64_t count = r.varint();
      if (!r.ok() || count > r.left()) return Status::error("classifier model: bad stack size");
      for (uint64_t i = 0; i < count && r.ok(); ++i) {
        uint64_t len = r.varint();
        if (!r.ok() || len > 256 || len > r.left()) return Status::error("classifier model: bad symbol name");
        std::string name = r.bytes(static_cast<size_t>(len));
        m.stack_.w_sym[name] = r.fixed<double>();
      }
    }
    uint64_t count = r.varint();
    if (!r.ok() || count > r.left() / 9 || count > kFeedbackMemory)
      return Status::error("classifier model: bad feedback memory size");
    for (uint64_t i = 0; i < count && r.ok(); ++i) {
      uint64_t d = r.fixed<uint64_t>();
      bool spam = r.fixed<uint8_t>() != 0;
      if (m.feedback_.emplace(d, spam).second) m.feedback_order_.push_back(d);
    }
  }
  if (m.grams_on() && r.ok())
    if (const char* e = read_ftrl(r, m.gz_, m.gn_)) return Status::error(std::string("classifier model: n-gram ") + e);
  if (m.ppm_on() && r.ok())
    for (const char* e : {read_sparse(r, m.ppm_.ctx_table()), read_sparse(r, m.ppm_.sym_table())})
      if (e) return Status::error(std::string("classifier model: PPM ") + e);
  if (!r.ok() || r.left() != 0) return Status::error("classifier model: truncated or trailing data");
  return Result<Model>(std::move(m));
}

}  // namespace mm::classifier
