// `mailmoat scan` and `mailmoat train`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

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
      scan::Envelope env;
      env.tenant = tenant;
      if (env.tenant.empty()) {
        for (const auto* list : {&msg->to, &msg->cc})
          for (const auto& mb : *list)
            if (auto* d = dir->find(mb.domain); d && env.tenant.empty()) env.tenant = d->tenant;
      }
      env.tenant_facts = dir->tenant_facts(env.tenant);
      auto v = setup->engine->scan(*msg, env);
      if (json) {
        std::string line = v.to_json();
        std::string file_json;
        json_escape(name, file_json);
        std::printf("{\"file\":%s,%s\n", file_json.c_str(), line.c_str() + 1);
      } else {
        std::printf("\n%s\n  subject: %s\n%s", name.c_str(), msg->subject.c_str(), v.to_text().c_str());
      }
    }
  }
  return rc;
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
  std::vector<classifier::Features> features;
  std::vector<bool> labels;
  size_t n_spam = 0, n_ham = 0;
  for (auto [paths, is_spam] : {std::pair{&spam, true}, std::pair{&ham, false}}) {
    for (auto& p : *paths) {
      std::vector<std::string> msgs;
      if (auto r = classifier::read_messages(p, msgs); !r) return fail(p + ": " + r.message());
      for (auto& raw : msgs) {
        auto msg = message::parse(std::make_shared<const std::string>(std::move(raw)));
        features.push_back(classifier::extract(*msg, model.options().tokenizer));
        labels.push_back(is_spam);
        ++(is_spam ? n_spam : n_ham);
      }
    }
  }
  model.train(features, labels);
  if (auto r = (*st)->put_blob(kModelBlob, model.serialize()); !r) return fail("saving the model: " + r.message());
  std::printf("learned %zu spam and %zu ham; the model now holds %llu spam + %llu ham examples%s\n", n_spam,
              n_ham, static_cast<unsigned long long>(model.spam_examples()),
              static_cast<unsigned long long>(model.ham_examples()),
              model.trained() ? "" : " (still too few to classify: at least 50 of each are needed)");
  bool no_server = false;
  auto r = ops::control_request(c.control_socket, {"scan", "reload"}, &no_server);
  if (r) std::printf("the running server reloaded the model\n");
  return 0;
}

}  // namespace mm::cli
