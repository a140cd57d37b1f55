#include "scan/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <set>

#include "util/json_line.h"
#include "util/thread_pool.h"

namespace mm::scan {

const char* to_string(Class c) {
  switch (c) {
    case Class::Clean: return "clean";
    case Class::Bulk: return "bulk";
    case Class::Spam: return "spam";
    case Class::Phishing: return "phishing";
    case Class::Malware: return "malware";
    case Class::Unscannable: return "unscannable";
  }
  return "clean";
}

namespace {

constexpr double kPhishingEvidence = 2.0;

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::vector<const Symbol*> by_weight(const std::vector<Symbol>& s) {
  std::vector<const Symbol*> out;
  for (auto& x : s) out.push_back(&x);
  std::stable_sort(out.begin(), out.end(),
                   [](const Symbol* a, const Symbol* b) { return std::fabs(a->score) > std::fabs(b->score); });
  return out;
}

}  // namespace

std::string Verdict::symbol_list() const {
  std::string out;
  for (auto* s : by_weight(symbols)) {
    if (!out.empty()) out += ',';
    out += s->name + "(" + fmt(s->score) + ")";
  }
  return out;
}

std::string Verdict::to_json() const {
  std::string syms = "[";
  bool first = true;
  for (auto* s : by_weight(symbols)) {
    if (!first) syms += ',';
    first = false;
    JsonLine j;
    j.add("name", s->name).add_raw("score", fmt(s->score)).add("detail", s->detail);
    if (s->hint != Class::Clean) j.add("hint", to_string(s->hint));
    syms += j.str();
  }
  syms += "]";
  JsonLine j;
  j.add_raw("score", fmt(score)).add("class", to_string(cls)).add("complete", complete);
  if (failed) j.add("error", error);
  j.add("elapsed_us", elapsed_us).add_raw("symbols", syms);
  return j.str();
}

std::string Verdict::to_text() const {
  std::string out = std::string("verdict: ") + to_string(cls) + "  score " + fmt(score);
  if (!complete) out += "  (stopped early: outcome certain)";
  if (failed) out += "  FAILED: " + error;
  out += "\n";
  for (auto* s : by_weight(symbols)) {
    char line[96];
    std::snprintf(line, sizeof line, "  %7s  %-28s ", fmt(s->score).c_str(), s->name.c_str());
    out += line + s->detail + "\n";
  }
  return out;
}

// The engine's threads for checks that wait, and how many of them are running a check.
struct Engine::Workers {
  explicit Workers(size_t n) : threads(n), pool(n) {}
  std::atomic<size_t> busy{0};
  const size_t threads;
  ThreadPool pool;  // last: joined first
  // A queued job will wait for a thread: the scan had better run it itself.
  bool saturated() const { return busy.load() + pool.queued() > threads; }
};

void Engine::add(std::unique_ptr<Check> check) {
  checks_.push_back(std::move(check));
  deps_.clear();
  async_.clear();
  finalized_ = false;
}

Status Engine::finalize() {
  std::map<std::string, Check*> by_name;
  for (auto& c : checks_) {
    if (!by_name.emplace(c->name(), c.get()).second)
      return Status::error("two checks are named '" + c->name() + "'");
  }
  for (auto& c : checks_)
    for (auto& d : c->depends_on())
      if (!by_name.count(d)) return Status::error("check '" + c->name() + "' depends on unknown check '" + d + "'");
  // Kahn's algorithm, keeping registration order among independent checks.
  std::vector<std::unique_ptr<Check>> ordered;
  std::set<std::string> done;
  while (ordered.size() < checks_.size()) {
    bool progress = false;
    for (auto& c : checks_) {
      if (!c || done.count(c->name())) continue;
      auto deps = c->depends_on();
      if (std::all_of(deps.begin(), deps.end(), [&](auto& d) { return done.count(d) > 0; })) {
        done.insert(c->name());
        ordered.push_back(std::move(c));
        progress = true;
      }
    }
    if (!progress) return Status::error("checks have a dependency cycle");
  }
  checks_ = std::move(ordered);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < checks_.size(); ++i) index[checks_[i]->name()] = i;
  deps_.assign(checks_.size(), {});
  async_.assign(checks_.size(), false);
  bool any_async = false;
  for (size_t i = 0; i < checks_.size(); ++i) {
    for (auto& d : checks_[i]->depends_on()) deps_[i].push_back(index[d]);
    std::sort(deps_[i].begin(), deps_[i].end());
    deps_[i].erase(std::unique(deps_[i].begin(), deps_[i].end()), deps_[i].end());
    async_[i] = parallel_threads_ > 0 && checks_[i]->waits();
    any_async = any_async || async_[i];
  }
  pool_.reset();  // waits for checks still running from earlier scans
  if (any_async) pool_ = std::make_unique<Workers>(parallel_threads_);
  finalized_ = true;
  return {};
}

std::vector<std::string> Engine::check_names() const {
  std::vector<std::string> out;
  for (auto& c : checks_) out.push_back(c->name());
  return out;
}

Class Engine::classify(double score, const std::vector<Symbol>& symbols) const {
  return classify_with(score, symbols, nullptr);
}

Class Engine::classify_with(double score, const std::vector<Symbol>& symbols, const std::vector<double>* own) const {
  // The strongest specific class hint wins over plain spam: malware over everything, then
  // unscannable (what could not be looked at is never passed as tagged spam or clean), phishing.
  bool malware = false, unscannable = false;
  double bulk = 0, phishing = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    const Symbol& s = symbols[i];
    const double sc = own ? (*own)[i] : s.score;
    if (s.hint == Class::Malware) malware = true;
    if (s.hint == Class::Phishing) phishing += std::max(0.0, sc);
    if (s.hint == Class::Bulk) bulk += std::max(0.0, sc) + 0.5;
    if (s.hint == Class::Unscannable) unscannable = true;
  }
  if (malware) return Class::Malware;
  if (unscannable) return Class::Unscannable;
  // One weak phishing sign (a shortener, a cheap TLD) does not make spam phishing.
  if (phishing >= kPhishingEvidence && score >= thresholds_.tag) return Class::Phishing;
  if (score >= thresholds_.tag) return Class::Spam;
  if (bulk >= thresholds_.bulk) return Class::Bulk;
  return Class::Clean;
}

namespace {

// What a check started on the pool reads and writes, owned jointly by the scan and its tasks, so
// that a scan may return while such a check still runs (deadline, early stop).
struct Job {
  enum State { Queued, Running, Done, Cancelled };
  const Check* check = nullptr;  // owned by the engine, whose pool is joined before the checks go
  std::vector<Symbol> prior;     // its dependencies' symbols
  std::atomic<int> state{Queued};
  std::vector<Symbol> out;       // with Done
  std::string error;             // with Done: non-empty when run() threw
};

struct Shared {
  std::shared_ptr<const message::Message> msg;
  Envelope env;
  std::chrono::steady_clock::time_point deadline;
  Memo memo;
  std::mutex mu;  // Done transitions
  std::condition_variable cv;
  std::vector<std::unique_ptr<Job>> jobs;  // by check index; null: runs on the calling thread
};

std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what()[0] ? x.what() : "exception";
  } catch (...) {
    return "unknown exception";
  }
}

// Runs the job unless someone else claimed it (a worker, or the scan itself while the pool is busy)
// or the scan cancelled it.
void run_job(Shared& sh, Job& j) {
  int expect = Job::Queued;
  if (!j.state.compare_exchange_strong(expect, Job::Running)) return;
  std::vector<Symbol> out;
  std::string error;
  try {
    Context ctx{*sh.msg, sh.env, j.prior, sh.deadline, &sh.memo};
    j.check->run(ctx, out);
  } catch (...) {
    error = what_of(std::current_exception());
  }
  {
    std::lock_guard lk(sh.mu);
    j.out = std::move(out);
    j.error = std::move(error);
    j.state = Job::Done;
  }
  sh.cv.notify_all();
}

}  // namespace

Engine::Engine(Thresholds t) : thresholds_(t) {}
Engine::~Engine() { pool_.reset(); }  // before the checks its threads may still run

Verdict Engine::scan(const message::Message& msg, const Envelope& env,
                     std::chrono::steady_clock::time_point deadline) const {
  // Not owned: every check still running on the pool is waited for before returning.
  return run(std::shared_ptr<const message::Message>(std::shared_ptr<void>(), &msg), env, deadline, false);
}

Verdict Engine::scan(std::shared_ptr<const message::Message> msg, const Envelope& env,
                     std::chrono::steady_clock::time_point deadline) const {
  return run(std::move(msg), env, deadline, true);
}

Verdict Engine::run(std::shared_ptr<const message::Message> msg, const Envelope& env,
                    std::chrono::steady_clock::time_point deadline, bool may_abandon) const {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  Verdict v;
  const bool rescore = rescorer_ && rescorer_->active();
  const size_t n = checks_.size();
  const bool ordered = deps_.size() == n && async_.size() == n;  // finalize()d
  double remaining = 0;
  for (auto& c : checks_) remaining += c->max_abs_score();
  if (rescore) remaining = INFINITY;

  auto sh = std::make_shared<Shared>();
  sh->msg = msg;
  sh->deadline = deadline;
  sh->jobs.resize(n);
  enum Step : char { NotStarted, Started, Finished };
  std::vector<char> step(n, NotStarted);
  std::vector<std::vector<Symbol>> out(n);
  std::vector<std::string> error(n);

  auto deps_of = [&](size_t i) -> const std::vector<size_t>& {
    static const std::vector<size_t> none;
    return ordered ? deps_[i] : none;
  };
  auto ready = [&](size_t i) {
    for (size_t d : deps_of(i))
      if (step[d] != Finished) return false;
    return true;
  };
  auto prior_of = [&](size_t i) {
    std::vector<Symbol> p;
    for (size_t d : deps_of(i)) p.insert(p.end(), out[d].begin(), out[d].end());
    return p;
  };
  // A failed check's dependents never run (the merge stops at the failure before them).
  auto finish = [&](size_t i) {
    step[i] = Finished;
    if (error[i].empty()) return;
    std::vector<bool> failed(n, false);
    failed[i] = true;
    for (size_t k = i + 1; k < n; ++k) {  // dependencies come first in run order
      if (step[k] != NotStarted) continue;
      for (size_t d : deps_of(k))
        if (failed[d]) {
          failed[k] = true;
          step[k] = Finished;
          break;
        }
    }
  };
  // Starts every waiting check whose dependencies are done.
  bool env_copied = false;
  auto launch = [&] {
    if (!pool_ || !ordered || clock::now() > deadline) return;  // late: the scan fails anyway
    for (size_t i = 0; i < n; ++i) {
      if (!async_[i] || step[i] != NotStarted || !ready(i)) continue;
      if (!env_copied) sh->env = env, env_copied = true;
      auto j = std::make_unique<Job>();
      j->check = checks_[i].get();
      j->prior = prior_of(i);
      Job* jp = j.get();
      sh->jobs[i] = std::move(j);
      step[i] = Started;
      pool_->pool.submit([sh, jp, w = pool_.get()] {
        ++w->busy;
        run_job(*sh, *jp);
        --w->busy;
      });
    }
  };
  // Takes the results of finished jobs.
  auto collect = [&] {
    for (size_t i = 0; i < n; ++i) {
      Job* j = sh->jobs[i].get();
      if (step[i] != Started || !j || j->state.load() != Job::Done) continue;
      std::lock_guard lk(sh->mu);
      out[i] = std::move(j->out);
      error[i] = std::move(j->error);
      finish(i);
    }
  };

  size_t merged = 0;
  launch();
  for (;;) {
    // Merge in run order, with the serial run's early stop: certain once nothing left can bring
    // the score back under `reject` (clean mail runs every check, so its explanation is complete).
    bool stop = false;
    while (merged < n) {
      if (v.score - remaining >= thresholds_.reject) {
        v.complete = false;
        stop = true;
        break;
      }
      if (step[merged] != Finished) break;
      if (!error[merged].empty()) {
        v.failed = true;
        v.error = "check '" + checks_[merged]->name() + "' failed: " + error[merged];
        stop = true;
        break;
      }
      for (auto& s : out[merged]) {  // copied: a later check's prior may still need them
        v.score += s.score;
        v.symbols.push_back(s);
      }
      remaining -= checks_[merged]->max_abs_score();
      ++merged;
    }
    if (stop || merged == n) break;
    if (clock::now() > deadline) {
      v.failed = true;
      v.error = step[merged] == Started ? "scan deadline passed while check '" + checks_[merged]->name() + "' was running"
                                        : "scan deadline passed before check '" + checks_[merged]->name() + "'";
      break;
    }
    // The first check for the calling thread whose dependencies are done.
    size_t next = n;
    for (size_t i = merged; i < n && next == n; ++i)
      if (step[i] == NotStarted && !(pool_ && ordered && async_[i]) && ready(i)) next = i;
    if (next < n) {
      try {
        std::vector<Symbol> prior = prior_of(next);
        Context ctx{*msg, env, prior, deadline, &sh->memo};
        checks_[next]->run(ctx, out[next]);
      } catch (...) {
        error[next] = what_of(std::current_exception());
      }
      finish(next);
      launch();
      continue;
    }
    // Only started checks are left before the merge can go on: wait for one to finish, or run
    // one still queued here when the engine's threads are all taken (waking now and then to see).
    bool pending = false;
    for (size_t i = merged; i < n; ++i) pending = pending || step[i] == Started;
    if (!pending) {  // cannot happen: the check at `merged` is finished, started or runnable
      v.failed = true;
      v.error = "scan stalled at check '" + checks_[merged]->name() + "'";
      break;
    }
    bool ran = false;
    if (pool_->saturated())
      for (size_t i = merged; i < n && !ran; ++i)
        if (step[i] == Started && sh->jobs[i]->state.load() == Job::Queued) {
          run_job(*sh, *sh->jobs[i]);
          ran = true;
        }
    if (!ran) {
      std::unique_lock lk(sh->mu);
      sh->cv.wait_until(lk, std::min(deadline, clock::now() + std::chrono::milliseconds(5)), [&] {
        for (size_t i = merged; i < n; ++i)
          if (step[i] == Started && sh->jobs[i]->state.load() == Job::Done) return true;
        return false;
      });
    }
    collect();
    launch();
  }
  // Jobs not started yet are dropped; running ones finish on their own (their result unused).
  for (auto& j : sh->jobs) {
    if (!j) continue;
    int expect = Job::Queued;
    j->state.compare_exchange_strong(expect, Job::Cancelled);
  }
  if (!may_abandon) {
    std::unique_lock lk(sh->mu);
    sh->cv.wait(lk, [&] {
      for (auto& j : sh->jobs)
        if (j && j->state.load() == Job::Running) return false;
      return true;
    });
  }

  if (rescore && !v.failed) {
    std::vector<double> own(v.symbols.size());  // class hints weigh the checks' own scores
    for (size_t i = 0; i < own.size(); ++i) own[i] = v.symbols[i].score;
    rescorer_->rescore(v.symbols);
    v.score = 0;
    for (auto& s : v.symbols) v.score += s.score;
    v.cls = classify_with(v.score, v.symbols, &own);
  } else {
    v.cls = classify(v.score, v.symbols);
  }
  v.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
  return v;
}

}  // namespace mm::scan
