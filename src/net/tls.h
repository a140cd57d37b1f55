// TLS material. The SSL contexts themselves live inside the server and client units.
#pragma once
#include <string>

#include "util/status.h"

namespace mm::net {

// Makes sure a certificate and key exist at the given paths. When both are missing, generates a
// self-signed certificate for `hostname` (ECDSA P-256, SAN = hostname, 2 years) and sets
// *generated. One missing without the other is an error (never overwrite an operator's file).
Status ensure_certificate(const std::string& cert_path, const std::string& key_path,
                          const std::string& hostname, bool* generated);

}  // namespace mm::net
