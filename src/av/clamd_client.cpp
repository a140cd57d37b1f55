#include "av/clamd_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mm::av {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int ms_left(Deadline d) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now()).count();
  if (left <= 0) return 0;
  return left > 600000 ? 600000 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline. Returns "" or the reason it failed.
std::string wait_fd(int fd, short events, Deadline d) {
  for (int i = 0; i < 100000; ++i) {
    int left = ms_left(d);
    if (left == 0) return "timed out";
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left);
    if (n > 0) return "";
    if (n == 0) return "timed out";
    if (errno != EINTR) return std::string("poll: ") + std::strerror(errno);
  }
  return "timed out";
}

Result<int> connect_to(const ClamdAddress& a, Deadline d) {
  std::string target = a.str();
  auto finish = [&](int fd) -> Result<int> {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      std::string e = std::strerror(errno);
      ::close(fd);
      return Status::error("connect " + target + ": " + e);
    }
    if (auto w = wait_fd(fd, POLLOUT, d); !w.empty()) {
      ::close(fd);
      return Status::error("connect " + target + ": " + w);
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return Status::error("connect " + target + ": " + std::strerror(err));
    }
    return fd;
  };
  if (!a.unix_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (a.unix_path.size() >= sizeof sa.sun_path) return Status::error("socket path too long: " + a.unix_path);
    std::memcpy(sa.sun_path, a.unix_path.c_str(), a.unix_path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::error(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return fd;
    return finish(fd);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(a.port);
  if (int rc = ::getaddrinfo(a.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::error("resolve " + target + ": " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    auto r = finish(fd);
    if (r) {
      ::freeaddrinfo(res);
      return r;
    }
    last = r.error();
  }
  ::freeaddrinfo(res);
  return Status::error(last);
}

std::string send_all(int fd, const char* p, size_t n, Deadline d) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto e = wait_fd(fd, POLLOUT, d); !e.empty()) return "send: " + e;
      continue;
    }
    return std::string("send: ") + (w < 0 ? std::strerror(errno) : "closed");
  }
  return "";
}

// Reads clamd's reply up to its NUL terminator (z-commands) or the end of the connection.
Result<std::string> read_reply(int fd, Deadline d) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 100000; ++i) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      out.append(buf, static_cast<size_t>(r));
      if (auto z = out.find('\0'); z != std::string::npos) return out.substr(0, z);
      if (out.size() > 65536) return Status::error("reply too long");
      continue;
    }
    if (r == 0) {
      if (out.empty()) return Status::error("clamd closed the connection without a reply");
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
      return out;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto e = wait_fd(fd, POLLIN, d); !e.empty()) return Status::error("reply: " + e);
      continue;
    }
    return Status::error(std::string("recv: ") + std::strerror(errno));
  }
  return Status::error("reply: too many reads");
}

}  // namespace

Result<ClamdAddress> ClamdAddress::parse(const std::string& s0) {
  ClamdAddress a;
  std::string s = s0;
  if (s.rfind("unix:", 0) == 0) s = s.substr(5);
  if (s.empty()) return Status::error("empty clamd address");
  if (s[0] == '/' || s[0] == '.') {
    a.unix_path = s;
    return a;
  }
  std::string host, port;
  if (s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return Status::error("clamd address '" + s0 + "' must look like [::1]:3310");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon)
      return Status::error("clamd address '" + s0 + "' must be a socket path or host:port");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (host.empty() || port.empty() || *end != 0 || p < 1 || p > 65535)
    return Status::error("clamd address '" + s0 + "' has an invalid host or port");
  a.host = host;
  a.port = static_cast<uint16_t>(p);
  return a;
}

std::string ClamdAddress::str() const {
  if (!unix_path.empty()) return unix_path;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<std::string> ClamdClient::command(const std::string& cmd, Deadline d) const {
  auto fd = connect_to(addr_, d);
  if (!fd) return fd.status();
  Fd guard(*fd);
  std::string line = "z" + cmd;
  line.push_back('\0');
  if (auto e = send_all(*fd, line.data(), line.size(), d); !e.empty()) return Status::error(e);
  return read_reply(*fd, d);
}

bool ClamdClient::ping(Deadline d) const {
  auto r = command("PING", d);
  return r && *r == "PONG";
}

ScanResult ClamdClient::scan(std::string_view data, Deadline d) const {
  ScanResult res;
  auto fd = connect_to(addr_, d);
  if (!fd) {
    res.error = fd.error();
    return res;
  }
  Fd guard(*fd);
  static const char kCmd[] = "zINSTREAM";  // sizeof includes the NUL terminator
  std::string send_err = send_all(*fd, kCmd, sizeof kCmd, d);
  for (size_t off = 0; send_err.empty() && off < data.size(); off += chunk_) {
    size_t n = std::min(chunk_, data.size() - off);
    uint32_t be = htonl(static_cast<uint32_t>(n));
    send_err = send_all(*fd, reinterpret_cast<const char*>(&be), 4, d);
    if (send_err.empty()) send_err = send_all(*fd, data.data() + off, n, d);
  }
  if (send_err.empty()) {
    uint32_t zero = 0;
    send_err = send_all(*fd, reinterpret_cast<const char*>(&zero), 4, d);
  }
  // clamd may stop reading (size limit) and say why: read its reply even after a send error.
  auto reply = read_reply(*fd, d);
  if (!reply) {
    res.error = send_err.empty() ? reply.error() : send_err;
    return res;
  }
  std::string r = *reply;
  if (r.rfind("stream: ", 0) == 0) r = r.substr(8);
  auto ends_with = [&](std::string_view suffix) {
    return r.size() >= suffix.size() && r.compare(r.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (r == "OK") {
    res.kind = ScanResult::Clean;
  } else if (ends_with(" FOUND")) {
    res.kind = ScanResult::Found;
    res.signature = r.substr(0, r.size() - 6);
  } else {
    res.error = "clamd: " + r;
  }
  return res;
}

}  // namespace mm::av
