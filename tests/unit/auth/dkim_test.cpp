// DKIM verification through libopendkim with keys handed over from an AnswerSet (as prefetched):
// messages signed here (libopendkim's signer, a fresh RSA key from openssl) must verify; a
// tampered body or header must fail even though libopendkim sets its PASSED flag for a bad body
// hash; missing keys and DNS failures give permerror and temperror per signature.
#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

#include <cstring>
#include <string>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include "auth/dkim.h"

using namespace mm::auth;
using mm::dns::Type;
namespace dns = mm::dns;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

struct Key {
  std::string pem, pub;  // private key PEM, public key base64 (SubjectPublicKeyInfo)
};

const Key& key(int which) {
  static Key keys[2];
  Key& k = keys[which];
  if (k.pem.empty()) {
    k.pem = run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null");
    char path[] = "/tmp/mm-dkim-key-XXXXXX";
    int fd = mkstemp(path);
    if (write(fd, k.pem.data(), k.pem.size()) < 0) k.pem.clear();
    close(fd);
    k.pub = run(std::string("openssl pkey -in ") + path + " -pubout -outform DER 2>/dev/null | base64 -w0");
    unlink(path);
  }
  return k;
}

std::string sign(const std::string& msg, const Key& k, const char* domain, const char* selector) {
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  DKIM_STAT st;
  DKIM* d = dkim_sign(lib, reinterpret_cast<const u_char*>("test"), nullptr,
                      reinterpret_cast<u_char*>(const_cast<char*>(k.pem.c_str())), reinterpret_cast<const u_char*>(selector),
                      reinterpret_cast<const u_char*>(domain), DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
                      DKIM_SIGN_RSASHA256, -1, &st);
  EXPECT_TRUE(d) << st;
  dkim_chunk(d, reinterpret_cast<u_char*>(const_cast<char*>(msg.data())), msg.size());
  dkim_chunk(d, nullptr, 0);
  EXPECT_EQ(dkim_eom(d, nullptr), DKIM_STAT_OK);
  u_char hdr[4096];
  EXPECT_EQ(dkim_getsighdr(d, hdr, sizeof hdr, strlen("DKIM-Signature: ")), DKIM_STAT_OK);
  dkim_free(d);
  dkim_close(lib);
  std::string h = reinterpret_cast<char*>(hdr);
  std::string crlf;
  for (size_t i = 0; i < h.size(); ++i) crlf += h[i] == '\n' && (i == 0 || h[i - 1] != '\r') ? std::string("\r\n") : std::string(1, h[i]);
  return "DKIM-Signature: " + crlf + "\r\n" + msg;
}

dns::Answer txt(const std::string& v) {
  dns::Answer a;
  a.rcode = dns::Rcode::Ok;
  a.records = {v};
  return a;
}

const std::string kMsg =
    "From: alice@good.test\r\nTo: bob@acme.example\r\nSubject: quarterly report\r\n"
    "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nThe numbers are attached.\r\nRegards\r\n";

}  // namespace

TEST(Dkim, VerifiesEverySignatureWithPrefetchedKeys) {
  const Key& k0 = key(0);
  const Key& k1 = key(1);
  ASSERT_FALSE(k0.pub.empty());
  std::string signed1 = sign(kMsg, k0, "good.test", "sel1");
  std::string both = sign(signed1, k1, "other.test", "s2");

  auto refs = dkim_signature_refs(both);
  ASSERT_EQ(refs.size(), 2u);

  AnswerSet keys;
  keys.put("sel1._domainkey.good.test", Type::TXT, txt("v=DKIM1; k=rsa; p=" + k0.pub));
  keys.put("s2._domainkey.other.test", Type::TXT, txt("v=DKIM1; k=rsa; p=" + k1.pub));
  auto v = dkim_verify(both, keys);
  ASSERT_EQ(v.size(), 2u);
  for (auto& x : v) EXPECT_EQ(x.result, "pass") << x.domain << " " << x.reason;

  // The body changed after signing: both fail (libopendkim's PASSED flag alone would say pass).
  std::string body_changed = both;
  body_changed.replace(body_changed.find("attached"), 8, "enclosed");
  for (auto& x : dkim_verify(body_changed, keys)) {
    EXPECT_EQ(x.result, "fail");
    EXPECT_EQ(x.reason, "body hash did not verify");
  }
  // A signed header changed: fail, with the body hash intact.
  std::string header_changed = both;
  header_changed.replace(header_changed.find("quarterly"), 9, "QUARTERLY");
  for (auto& x : dkim_verify(header_changed, keys)) EXPECT_EQ(x.result, "fail") << x.domain;

  // One key missing (NXDOMAIN), one unreachable (DNS failure): per signature.
  AnswerSet partial;
  dns::Answer nx;
  nx.rcode = dns::Rcode::NxDomain;
  partial.put("sel1._domainkey.good.test", Type::TXT, nx);
  dns::Answer fail;
  fail.error = "SERVFAIL";
  partial.put("s2._domainkey.other.test", Type::TXT, fail);
  auto p = dkim_verify(both, partial);
  ASSERT_EQ(p.size(), 2u);
  for (auto& x : p) {
    if (x.domain == "good.test") EXPECT_EQ(x.result, "permerror");
    else EXPECT_EQ(x.result, "temperror");
  }
  // The wrong key published: fail.
  AnswerSet wrong;
  wrong.put("sel1._domainkey.good.test", Type::TXT, txt("v=DKIM1; k=rsa; p=" + k1.pub));
  auto w = dkim_verify(signed1, wrong);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].result, "fail");

  EXPECT_TRUE(dkim_verify(kMsg, keys).empty());  // no signature, no result
}
