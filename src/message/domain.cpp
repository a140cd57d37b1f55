#include "message/domain.h"

#include <libpsl.h>

#include <cctype>

namespace mm::message {
namespace {

const psl_ctx_t* psl() {
  static const psl_ctx_t* ctx = [] {
    const psl_ctx_t* c = psl_latest(nullptr);  // newest of the built-in and the system list
    return c ? c : psl_builtin();
  }();
  return ctx;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string registrable_domain(std::string_view host) {
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty() || is_ip_literal(h)) return h;
  const char* r = psl_registrable_domain(psl(), h.c_str());
  return r ? std::string(r) : h;
}

bool is_ip_literal(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') return true;
  // Every label numeric (decimal, octal 0..., or hex 0x...): inet_aton accepts all of these.
  size_t labels = 0;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    auto label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return false;
    bool hex = label.size() > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X');
    for (size_t i = hex ? 2 : 0; i < label.size(); ++i) {
      auto c = static_cast<unsigned char>(label[i]);
      if (!(std::isdigit(c) || (hex && std::isxdigit(c)))) return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= 1 && labels <= 4;
}

bool is_public_suffix(std::string_view suffix) {
  std::string s = lower(suffix);
  return psl_is_public_suffix2(psl(), s.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

}  // namespace mm::message
