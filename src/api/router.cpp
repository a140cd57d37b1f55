#include "api/router.h"

#include "api/http.h"

namespace mm::api {
namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

bool url_decode(const std::string& in, std::string& out, bool query) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
      if (h < 0 || l < 0) return false;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && query) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool parse_query(const std::string& qs, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i < qs.size()) {
    size_t j = qs.find('&', i);
    if (j == std::string::npos) j = qs.size();
    std::string part = qs.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string k, v;
    if (!url_decode(part.substr(0, eq), k, true)) return false;
    if (eq != std::string::npos && !url_decode(part.substr(eq + 1), v, true)) return false;
    out[k] = v;
  }
  return true;
}

size_t Router::add(Route r) {
  routes_.push_back(std::move(r));
  return routes_.size() - 1;
}

bool Router::match_pattern(const std::string& pattern, const std::string& path, Params* params) {
  auto ps = split_path(pattern), xs = split_path(path);
  if (ps.size() != xs.size()) return false;
  Params got;
  for (size_t i = 0; i < ps.size(); ++i) {
    const auto& p = ps[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      std::string v;
      if (xs[i].empty() || !url_decode(xs[i], v, false)) return false;
      got[p.substr(1, p.size() - 2)] = v;
    } else if (p != xs[i]) {
      return false;
    }
  }
  if (params) *params = std::move(got);
  return true;
}

Router::Match Router::match(const std::string& method, const std::string& path, size_t* index, Params* params,
                            std::string* allowed) const {
  bool path_known = false;
  std::string allow;
  // Literal segments beat parameters: a route whose pattern has fewer parameters wins.
  size_t best = routes_.size();
  size_t best_params = 0;
  Params best_p;
  for (size_t i = 0; i < routes_.size(); ++i) {
    Params p;
    if (!match_pattern(routes_[i].pattern, path, &p)) continue;
    path_known = true;
    if (routes_[i].method != method) {
      if (allow.find(routes_[i].method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + routes_[i].method;
      continue;
    }
    if (best == routes_.size() || p.size() < best_params) {
      best = i;
      best_params = p.size();
      best_p = std::move(p);
    }
  }
  if (best != routes_.size()) {
    *index = best;
    if (params) *params = std::move(best_p);
    return Match::Found;
  }
  if (allowed) *allowed = allow;
  return path_known ? Match::MethodNotAllowed : Match::NotFound;
}

}  // namespace mm::api
