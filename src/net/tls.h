// TLS material and the server-side TLS settings shared by the SMTP and API listeners. The Asio
// SSL contexts themselves live inside the server and client units.
#pragma once
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

#include "util/status.h"

namespace mm::net {

// Makes sure a certificate and key exist at the given paths. When both are missing, generates a
// self-signed certificate for `hostname` (ECDSA P-256, SAN = hostname, 2 years) and sets
// *generated. One missing without the other is an error (never overwrite an operator's file).
Status ensure_certificate(const std::string& cert_path, const std::string& key_path,
                          const std::string& hostname, bool* generated);

// Our server settings on an OpenSSL context: TLS 1.2 or 1.3 at least (min_version "1.2" | "1.3"),
// no renegotiation, server cipher preference, the certificate chain and its matching key.
// Errors name the file and OpenSSL's reason.
Status configure_server_tls(ssl_ctx_st* ctx, const std::string& cert_path, const std::string& key_path,
                            const std::string& min_version);

}  // namespace mm::net
