#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

namespace mm::net {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

bool exists(const std::string& p) { return std::filesystem::exists(p); }

Status write_pem(const std::string& path, mode_t mode, const std::function<int(FILE*)>& write) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return Status::error("cannot write " + tmp);
  chmod(tmp.c_str(), mode);
  int ok = write(f);
  if (std::fclose(f) != 0 || ok != 1) return Status::error("cannot write " + tmp);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::error("cannot rename " + tmp + ": " + ec.message());
  return {};
}

}  // namespace

Status ensure_certificate(const std::string& cert_path, const std::string& key_path,
                          const std::string& hostname, bool* generated) {
  *generated = false;
  bool c = exists(cert_path), k = exists(key_path);
  if (c && k) return {};
  if (c != k)
    return Status::error("TLS: " + (c ? key_path : cert_path) + " is missing while " +
                         (c ? cert_path : key_path) +
                         " exists; provide both or remove both to generate a self-signed pair");

  PKey key(EVP_EC_gen("P-256"));
  if (!key) return Status::error("TLS: key generation failed");
  Cert x(X509_new());
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  FILE* ur = std::fopen("/dev/urandom", "rb");
  if (!ur || std::fread(serial, 1, sizeof serial, ur) != sizeof serial) {
    if (ur) std::fclose(ur);
    return Status::error("TLS: cannot read /dev/urandom");
  }
  std::fclose(ur);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 2L * 365 * 86400);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mailmoat self-signed"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + hostname;
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0)
    return Status::error("TLS: signing the self-signed certificate failed");

  if (auto st = write_pem(key_path, 0600, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      });
      !st)
    return st;
  if (auto st = write_pem(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, x.get()); }); !st)
    return st;
  *generated = true;
  return {};
}

namespace {
std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  return r ? r : "unknown OpenSSL error";
}
}  // namespace

Status configure_server_tls(ssl_ctx_st* ctx, const std::string& cert_path, const std::string& key_path,
                            const std::string& min_version) {
  SSL_CTX_set_options(ctx, SSL_OP_ALL | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_SINGLE_DH_USE |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx, min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1)
    return Status::error("TLS certificate " + cert_path + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::error("TLS key " + key_path + ": " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::error("TLS key " + key_path + " does not match " + cert_path);
  }
  return Status::ok();
}

}  // namespace mm::net
