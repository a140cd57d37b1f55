#include "classifier/train.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

namespace mm::classifier {
namespace fs = std::filesystem;

std::vector<std::string> split_mbox(std::string_view data) {
  std::vector<std::string> out;
  if (data.substr(0, 5) != "From ") {
    if (!data.empty()) out.emplace_back(data);
    return out;
  }
  size_t pos = 0;
  while (pos < data.size()) {
    size_t body = data.find('\n', pos);
    if (body == std::string_view::npos) break;
    ++body;
    size_t next = data.find("\nFrom ", body);
    size_t end = next == std::string_view::npos ? data.size() : next + 1;
    std::string msg;
    msg.reserve(end - body);
    // Unescape mboxrd/mboxo quoting: ">From " at a line start (">>From " -> ">From ").
    size_t line = body;
    while (line < end) {
      size_t eol = data.find('\n', line);
      eol = (eol == std::string_view::npos || eol >= end) ? end : eol + 1;
      std::string_view l = data.substr(line, eol - line);
      size_t q = 0;
      while (q < l.size() && l[q] == '>') ++q;
      if (q > 0 && l.substr(q, 5) == "From ") l.remove_prefix(1);
      msg.append(l);
      line = eol;
    }
    if (!msg.empty()) out.push_back(std::move(msg));
    pos = end;
  }
  return out;
}

namespace {
Status read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return Status::ok();
}
}  // namespace

Status read_messages(const std::string& path, std::vector<std::string>& out) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec) return Status::error("cannot access " + path + ": " + ec.message());
  std::vector<fs::path> files;
  if (fs::is_directory(st)) {
    for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.filename().string().starts_with(".")) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) files.push_back(p);
    }
    if (ec) return Status::error("cannot list " + path + ": " + ec.message());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(st)) {
    files.emplace_back(path);
  } else {
    return Status::error(path + ": not a file or directory");
  }
  for (const auto& f : files) {
    std::string data;
    if (Status s = read_file(f, data); !s) return s;
    for (auto& m : split_mbox(data)) out.push_back(std::move(m));
  }
  return Status::ok();
}

Status train_from_path(Model& model, const std::string& path, bool is_spam, size_t* learned) {
  std::vector<std::string> raws;
  if (Status s = read_messages(path, raws); !s) return s;
  size_t n = 0;
  for (auto& raw : raws) {
    auto msg = message::parse(std::make_shared<const std::string>(std::move(raw)));
    if (!msg) continue;
    model.learn(*msg, is_spam);
    ++n;
  }
  if (learned) *learned = n;
  if (n == 0) return Status::error("no messages found under " + path);
  return Status::ok();
}

}  // namespace mm::classifier
