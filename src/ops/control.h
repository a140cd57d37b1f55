// The control socket: a Unix-domain socket through which the CLI asks a running server to act
// (queue list/flush/hold/release/delete, reload). One request per connection: the arguments as
// NUL-separated words; the answer is "OK\n" or "ERR\n" followed by text. Only the owner of the
// socket file (mode 0600) can connect.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "util/status.h"

namespace mm::ops {

class ControlServer {
 public:
  // handler(args) returns the answer text, or an error Status.
  using Handler = std::function<Result<std::string>(const std::vector<std::string>& args)>;
  ControlServer(std::string path, Handler handler);
  ~ControlServer();
  Status start();
  void stop();

 private:
  void run();
  std::string path_;
  Handler handler_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Client side. Returns the answer text; an error when the server said ERR (its text) or when no
// server listens (*no_server set, so the caller can act on the spool directly).
Result<std::string> control_request(const std::string& path, const std::vector<std::string>& args,
                                    bool* no_server);

}  // namespace mm::ops
