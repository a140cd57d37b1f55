#include "auth/dkim.h"

#include <strings.h>

#include <cstring>
#include <mutex>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include "auth/message_util.h"

namespace mm::auth {
namespace {

std::string tag_value(const std::string& value, const char* tag) {
  // "v=1; a=rsa-sha256; d=example.com; s=sel; ..." (whitespace anywhere)
  size_t pos = 0;
  while (pos < value.size()) {
    size_t semi = value.find(';', pos);
    if (semi == std::string::npos) semi = value.size();
    std::string item;
    for (size_t i = pos; i < semi; ++i)
      if (!std::isspace(static_cast<unsigned char>(value[i]))) item += value[i];
    pos = semi + 1;
    auto eq = item.find('=');
    if (eq != std::string::npos && strcasecmp(item.substr(0, eq).c_str(), tag) == 0) return item.substr(eq + 1);
  }
  return "";
}

DKIM_CBSTAT key_lookup(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  auto* keys = static_cast<const AnswerSet*>(dkim_get_user_context(dkim));
  const char* d = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  const char* s = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  if (!keys || !d || !s) return DKIM_CBSTAT_ERROR;
  const dns::Answer* a = keys->find(std::string(s) + "._domainkey." + d, dns::Type::TXT);
  if (!a || !a->ok() || a->records.empty()) return DKIM_CBSTAT_NOTFOUND;
  // Several TXT records: take the first that looks like a key.
  const std::string* rec = &a->records[0];
  for (auto& r : a->records)
    if (r.find("p=") != std::string::npos) {
      rec = &r;
      break;
    }
  if (rec->size() + 1 > buflen) return DKIM_CBSTAT_ERROR;
  std::memcpy(buf, rec->data(), rec->size());
  buf[rec->size()] = 0;
  return DKIM_CBSTAT_CONTINUE;
}

DKIM_LIB* library() {
  static DKIM_LIB* lib = [] {
    DKIM_LIB* l = dkim_init(nullptr, nullptr);
    if (l) dkim_set_key_lookup(l, key_lookup);
    return l;
  }();
  return lib;
}

}  // namespace

std::vector<DkimRef> dkim_signature_refs(std::string_view raw) {
  std::vector<DkimRef> out;
  for_each_header(raw, [&](std::string_view name, std::string_view value) {
    if (strncasecmp(name.data(), "DKIM-Signature", name.size()) != 0 || name.size() != 14) return;
    std::string v(value);
    DkimRef r{lower(tag_value(v, "d")), lower(tag_value(v, "s"))};
    if (r.domain.empty() || r.selector.empty() || r.domain.size() > 253 || r.selector.size() > 63) return;
    for (auto& x : out)
      if (x.domain == r.domain && x.selector == r.selector) return;
    out.push_back(r);
  });
  return out;
}

std::vector<DkimVerdict> dkim_verify(std::string_view raw, const AnswerSet& keys) {
  std::vector<DkimVerdict> out;
  DKIM_LIB* lib = library();
  if (!lib) return out;
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* d = dkim_verify(lib, reinterpret_cast<const u_char*>("mailmoat"), nullptr, &st);
  if (!d) return out;
  dkim_set_user_context(d, const_cast<AnswerSet*>(&keys));
  st = dkim_chunk(d, reinterpret_cast<u_char*>(const_cast<char*>(raw.data())), raw.size());
  if (st == DKIM_STAT_OK) st = dkim_chunk(d, nullptr, 0);
  if (st == DKIM_STAT_OK) st = dkim_eom(d, nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int n = 0;
  if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
    for (int i = 0; i < n; ++i) {
      DKIM_SIGINFO* sig = sigs[i];
      DkimVerdict v;
      auto* dom = dkim_sig_getdomain(sig);
      auto* sel = dkim_sig_getselector(sig);
      v.domain = dom ? lower(reinterpret_cast<const char*>(dom)) : "";
      v.selector = sel ? reinterpret_cast<const char*>(sel) : "";
      int err = dkim_sig_geterror(sig);
      const dns::Answer* key = keys.find(v.selector + "._domainkey." + v.domain, dns::Type::TXT);
      if (DKIM_SIG_CHECK(sig)) {
        v.result = "pass";
      } else if (key && key->rcode == dns::Rcode::TempError) {
        v.result = "temperror";
        v.reason = "key lookup: " + key->error;
      } else if (!key) {
        // Never asked (tags we could not use): not a DNS failure, so never a reason to defer.
        v.result = "permerror";
        v.reason = "unusable signature tags";
      } else if (err == DKIM_SIGERROR_NOKEY || (key && key->empty())) {
        v.result = "permerror";
        v.reason = "no key for signature";
      } else if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
        v.result = "fail";
        v.reason = "body hash did not verify";
      } else if (err == DKIM_SIGERROR_BADSIG || err == DKIM_SIGERROR_OK) {
        v.result = "fail";
        v.reason = dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ? "body hash did not verify" : "signature did not verify";
      } else {
        v.result = "permerror";
        const char* e = dkim_sig_geterrorstr(static_cast<DKIM_SIGERROR>(err));
        v.reason = e ? e : "invalid signature";
      }
      if (v.result == "fail" && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) v.reason = "body hash did not verify";
      out.push_back(std::move(v));
    }
  }
  dkim_free(d);
  return out;
}

}  // namespace mm::auth
