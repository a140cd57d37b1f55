// `mailmoat scan` and `mailmoat train`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "classifier/feedback.h"
#include "classifier/train.h"
#include "cli/commands.h"
#include "cli/engine.h"
#include "gateway/directory.h"
#include "message/message.h"
#include "ops/control.h"
#include "util/json_line.h"

namespace mm::cli {
namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailmoat: %s\n", msg.c_str());
  return 1;
}

// Calls fn(name, message) for every message of the files (an mbox's messages named FILE#N). An
// unreadable file is reported and makes the result 1; fn returning false stops with 1.
int each_message(const std::vector<std::string>& paths,
                 const std::function<bool(const std::string&, const message::Message&)>& fn) {
  int rc = 0;
  for (auto& f : paths) {
    std::vector<std::string> msgs;
    if (auto r = classifier::read_messages(f, msgs); !r) {
      std::fprintf(stderr, "mailmoat: %s: %s\n", f.c_str(), r.message().c_str());
      rc = 1;
      continue;
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::string name = msgs.size() > 1 ? f + "#" + std::to_string(i + 1) : f;
      auto msg = message::parse(std::make_shared<const std::string>(std::move(msgs[i])));
      if (!fn(name, *msg)) return 1;
    }
  }
  return rc;
}

}  // namespace

int scan_files(const config::Config& c, const std::vector<std::string>& files, bool json, const std::string& tenant) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail("cannot open the database " + c.db_path + ": " + st.error());
  auto setup = build_engine(c, **st);
  if (!setup) return fail(setup.error());
  if (!json) std::printf("engine: %s\n", setup->summary.c_str());
  auto dir = gateway::Directory::load(**st);
  if (!tenant.empty() && !(*st)->get_tenant(tenant)) return fail("tenant '" + tenant + "' does not exist");
  // A directory stands for its files (sorted), so that every verdict names its file.
  std::vector<std::string> paths;
  for (auto& f : files) {
    std::error_code ec;
    if (!std::filesystem::is_directory(f, ec)) {
      paths.push_back(f);
      continue;
    }
    std::vector<std::string> in_dir;
    for (auto& e : std::filesystem::recursive_directory_iterator(f, ec))
      if (e.is_regular_file()) in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    paths.insert(paths.end(), in_dir.begin(), in_dir.end());
  }
  return each_message(paths, [&](const std::string& name, const message::Message& msg) {
    scan::Envelope env;
    env.tenant = tenant;
    if (env.tenant.empty()) {
      for (const auto* list : {&msg.to, &msg.cc})
        for (const auto& mb : *list)
          if (auto* d = dir->find(mb.domain); d && env.tenant.empty()) env.tenant = d->tenant;
    }
    env.tenant_facts = dir->tenant_facts(env.tenant);
    auto v = setup->engine->scan(msg, env);
    if (json) {
      std::string line = v.to_json();
      std::string file_json;
      json_escape(name, file_json);
      std::printf("{\"file\":%s,%s\n", file_json.c_str(), line.c_str() + 1);
    } else {
      std::printf("\n%s\n  subject: %s\n%s", name.c_str(), msg.subject.c_str(), v.to_text().c_str());
    }
    return true;
  });
}

int train(const config::Config& c, const std::vector<std::string>& spam, const std::vector<std::string>& ham,
          bool reset) {
  if (spam.empty() && ham.empty()) return fail("nothing to learn: give --spam and/or --ham paths");
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail("cannot open the database " + c.db_path + ": " + st.error());
  classifier::Model model;
  if (!reset) {
    if (auto blob = (*st)->get_blob(kModelBlob)) {
      auto m = classifier::Model::deserialize(*blob);
      if (!m) return fail("the stored model is unreadable (" + m.error() + "); use --reset");
      model = std::move(*m);
    }
  }
  auto symbols_of = symbol_source(c);
  if (!symbols_of) return fail(symbols_of.error());
  std::vector<classifier::Features> features;
  std::vector<bool> labels;
  std::vector<std::vector<classifier::SymbolHit>> symbols;
  size_t n_spam = 0, n_ham = 0;
  for (auto [paths, is_spam] : {std::pair{&spam, true}, std::pair{&ham, false}}) {
    for (auto& p : *paths) {
      std::vector<std::string> msgs;
      if (auto r = classifier::read_messages(p, msgs); !r) return fail(p + ": " + r.message());
      for (auto& raw : msgs) {
        auto msg = message::parse(std::make_shared<const std::string>(std::move(raw)));
        features.push_back(classifier::extract(*msg, model.options().tokenizer));
        labels.push_back(is_spam);
        symbols.push_back((*symbols_of)(*msg));
        ++(is_spam ? n_spam : n_ham);
      }
    }
  }
  model.train(features, labels);
  // The second stage: rule and heuristic weights learnt against out-of-fold classifier scores of
  // this call's examples (5 extra trainings); too few examples keep the previous stack, if any.
  classifier::StackOptions so;
  if (n_spam >= so.min_examples && n_ham >= so.min_examples) model.fit_stack(features, labels, symbols, so);
  if (auto r = (*st)->put_blob(kModelBlob, model.serialize()); !r) return fail("saving the model: " + r.message());
  std::printf("learned %zu spam and %zu ham; the model now holds %llu spam + %llu ham examples%s\n", n_spam,
              n_ham, static_cast<unsigned long long>(model.spam_examples()),
              static_cast<unsigned long long>(model.ham_examples()),
              model.trained() ? "" : " (still too few to classify: at least 50 of each are needed)");
  if (model.stacked())
    std::printf("rule and heuristic weights: learnt (%zu symbols)\n", model.stack().w_sym.size());
  else
    std::printf("rule and heuristic weights: hand scores (at least %u spam and %u ham in one training are needed to learn them)\n",
                so.min_examples, so.min_examples);
  bool no_server = false;
  auto r = ops::control_request(c.control_socket, {"scan", "reload"}, &no_server);
  if (r) std::printf("the running server reloaded the model\n");
  return 0;
}

int learn(const config::Config& c, const std::vector<std::string>& files, bool is_spam) {
  if (files.empty()) return fail("nothing to learn: give message files");
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail("cannot open the database " + c.db_path + ": " + st.error());
  auto model = classifier::load_model(**st);
  if (!model) return fail("the stored model is unreadable (" + model.error() + "); retrain with `mailmoat train --reset`");
  size_t changed = 0;
  int rc = each_message(files, [&](const std::string& name, const message::Message& msg) {
    auto r = classifier::learn_feedback(**st, *model, msg, is_spam);
    if (!r) {
      fail(name + ": " + r.error());
      return false;
    }
    const char* what = r->what == classifier::Feedback::Learned     ? "learnt"
                       : r->what == classifier::Feedback::Relearned ? "relearnt (was learnt with the other label)"
                                                                    : "already learnt, nothing changed";
    changed += r->what != classifier::Feedback::AlreadyLearned;
    std::printf("%s: as %s: %s; spam probability %.4g -> %.4g\n", name.c_str(), is_spam ? "spam" : "ham", what,
                r->before, r->after);
    return true;
  });
  if (changed) {
    bool no_server = false;
    if (ops::control_request(c.control_socket, {"scan", "reload"}, &no_server))
      std::printf("the running server reloaded the model\n");
  }
  return rc;
}

}  // namespace mm::cli
