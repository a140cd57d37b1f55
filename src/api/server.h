// The API's HTTP(S) listener: Boost.Beast on the shared event loop, TLS by default with the
// gateway's certificate. Requests are read with limits (header and body size, a deadline for the
// whole request), handed to the handler on a small worker pool (handlers may block on the store
// and on password hashing) and answered; keep-alive up to a request count. Beast stays in
// server.cpp alone.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "util/status.h"

namespace mm::net {
class EventLoop;
}

namespace mm::api {

struct ServerOptions {
  std::vector<std::pair<std::string, uint16_t>> listen{{"127.0.0.1", 8443}};
  bool tls = true;
  std::string tls_cert, tls_key, tls_min_version = "1.2";
  size_t max_body = 1 << 20;        // bytes; larger: 413
  size_t max_header = 16 << 10;     // bytes; larger: 431
  int request_timeout_s = 30;       // whole request (TLS handshake, headers and body)
  int idle_timeout_s = 60;          // between requests on a kept-alive connection
  int max_requests_per_connection = 100;
  size_t max_connections = 256;
  int worker_threads = 2;
};

using Handler = std::function<Response(const Request&)>;

class ApiServer {
 public:
  ApiServer(net::EventLoop&, ServerOptions, Handler);
  ~ApiServer();
  Status start();
  void stop();
  std::vector<uint16_t> bound_ports() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mm::api
