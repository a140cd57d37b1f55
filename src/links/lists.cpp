#include "links/lists.h"

#include <algorithm>
#include <fstream>

#include "links/url.h"

namespace mm::links {

std::string normalize_entry(std::string_view entry) {
  std::string e(entry);
  while (!e.empty() && (e.back() == '.' || std::isspace(static_cast<unsigned char>(e.back())))) e.pop_back();
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.front()))) e.erase(e.begin());
  if (e.empty() || e.size() > 253) return "";
  if (auto ip = parse_ipv4(e)) return *ip;
  std::string a = to_ascii(e);
  if (a.empty()) return "";
  for (char c : a)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return "";
  if (a.front() == '.' || a.find("..") != std::string::npos) return "";
  return a;
}

DomainSet::DomainSet(const std::vector<std::string>& entries) {
  for (auto& e : entries) add(e);
}

bool DomainSet::add(std::string_view entry) {
  std::string e = normalize_entry(entry);
  if (e.empty()) return false;
  set_.insert(std::move(e));
  return true;
}

std::string DomainSet::match(std::string_view host) const {
  if (set_.empty() || host.empty()) return "";
  std::string h(host);
  for (size_t at = 0;;) {
    std::string_view cand = std::string_view(h).substr(at);
    if (auto it = set_.find(std::string(cand)); it != set_.end()) return *it;
    size_t dot = h.find('.', at);
    if (dot == std::string::npos) return "";
    at = dot + 1;
  }
}

Result<std::vector<std::string>> read_list_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return Status::error("cannot read " + p.string());
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    size_t b = 0, e = line.size();
    while (b < e && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
    if (e > b) out.push_back(line.substr(b, e - b));
  }
  return out;
}

FileDomainSet::FileDomainSet(std::filesystem::path path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval), set_(std::make_shared<DomainSet>()) {
  std::lock_guard lk(mu_);
  reload_locked();
}

void FileDomainSet::reload_locked() const {
  checked_ = std::chrono::steady_clock::now();
  std::error_code ec;
  auto mt = std::filesystem::last_write_time(path_, ec);
  auto sz = ec ? 0 : std::filesystem::file_size(path_, ec);
  if (ec) {
    error_ = "cannot read " + path_.string() + ": " + ec.message();
    return;
  }
  if (mt == mtime_ && sz == size_) return;
  auto lines = read_list_file(path_);
  if (!lines) {
    error_ = lines.error();
    return;
  }
  auto s = std::make_shared<DomainSet>();
  std::string bad;
  for (auto& l : *lines)
    if (!s->add(l) && bad.empty()) bad = l;
  error_ = bad.empty() ? "" : path_.string() + ": not a host or domain: '" + bad + "'";
  set_ = std::move(s);
  mtime_ = mt;
  size_ = sz;
}

std::shared_ptr<const DomainSet> FileDomainSet::get() const {
  std::lock_guard lk(mu_);
  if (std::chrono::steady_clock::now() - checked_ >= interval_) reload_locked();
  return set_;
}

std::string FileDomainSet::last_error() const {
  std::lock_guard lk(mu_);
  return error_;
}

}  // namespace mm::links
