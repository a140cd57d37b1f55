// The TLS material and server settings shared by the SMTP and API listeners.
#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    char tmpl[] = "/tmp/mm-tls-test-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string at(const char* name) const { return (p / name).string(); }
};

using Ctx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
Ctx server_ctx() { return Ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free); }

}  // namespace

TEST(Tls, GeneratesOnceAndConfiguresAServerContext) {
  TempDir d;
  bool generated = false;
  ASSERT_TRUE(mm::net::ensure_certificate(d.at("c.pem"), d.at("k.pem"), "mx.example", &generated));
  EXPECT_TRUE(generated);
  generated = false;
  ASSERT_TRUE(mm::net::ensure_certificate(d.at("c.pem"), d.at("k.pem"), "mx.example", &generated));
  EXPECT_FALSE(generated);  // an existing pair is kept
  auto ctx = server_ctx();
  auto st = mm::net::configure_server_tls(ctx.get(), d.at("c.pem"), d.at("k.pem"), "1.2");
  ASSERT_TRUE(st) << st.message();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_RENEGOTIATION, 0u);
  auto ctx13 = server_ctx();
  ASSERT_TRUE(mm::net::configure_server_tls(ctx13.get(), d.at("c.pem"), d.at("k.pem"), "1.3"));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx13.get()), TLS1_3_VERSION);
}

TEST(Tls, OneFileWithoutTheOtherIsAnError) {
  TempDir d;
  bool generated = false;
  ASSERT_TRUE(mm::net::ensure_certificate(d.at("c.pem"), d.at("k.pem"), "mx.example", &generated));
  fs::remove(d.at("k.pem"));
  EXPECT_FALSE(mm::net::ensure_certificate(d.at("c.pem"), d.at("k.pem"), "mx.example", &generated));
  EXPECT_TRUE(fs::exists(d.at("c.pem")));  // never overwritten
}

TEST(Tls, ErrorsNameTheFileAndTheMismatch) {
  TempDir d;
  bool g = false;
  ASSERT_TRUE(mm::net::ensure_certificate(d.at("c1.pem"), d.at("k1.pem"), "a.example", &g));
  ASSERT_TRUE(mm::net::ensure_certificate(d.at("c2.pem"), d.at("k2.pem"), "b.example", &g));
  auto ctx = server_ctx();
  auto missing = mm::net::configure_server_tls(ctx.get(), d.at("none.pem"), d.at("k1.pem"), "1.2");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("none.pem"), std::string::npos) << missing.message();
  auto ctx2 = server_ctx();
  auto mismatch = mm::net::configure_server_tls(ctx2.get(), d.at("c1.pem"), d.at("k2.pem"), "1.2");
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.message().find("k2.pem"), std::string::npos) << mismatch.message();
  EXPECT_NE(mismatch.message().find("match"), std::string::npos) << mismatch.message();
  auto ctx3 = server_ctx();
  auto notakey = mm::net::configure_server_tls(ctx3.get(), d.at("c1.pem"), d.at("c1.pem"), "1.2");
  ASSERT_FALSE(notakey);
  EXPECT_NE(notakey.message().find("TLS key"), std::string::npos) << notakey.message();
}
