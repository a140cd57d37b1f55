#include "ops/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ops/log.h"

namespace mm::ops {
namespace {

bool make_addr(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  return true;
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string read_all(int fd, size_t limit) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) break;
  }
  return out;
}

}  // namespace

ControlServer::ControlServer(std::string path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {}

ControlServer::~ControlServer() { stop(); }

Status ControlServer::start() {
  sockaddr_un addr;
  if (!make_addr(path_, addr)) return Status::error("control socket path too long: " + path_);
  std::error_code ec;
  auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  ::unlink(path_.c_str());  // a stale socket from a crashed server (the spool lock proves we own it)
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::error(std::string("control socket: ") + std::strerror(errno));
  mode_t old = ::umask(077);
  int rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(fd_, 16) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return Status::error("control socket " + path_ + ": " + err);
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void ControlServer::stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

void ControlServer::run() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req = read_all(c, 1 << 20);
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i <= req.size(); ++i) {
      if (i == req.size() || req[i] == '\0') {
        if (i > start) args.push_back(req.substr(start, i - start));
        start = i + 1;
      }
    }
    Result<std::string> answer = Status::error("empty request");
    if (!args.empty()) {
      try {
        answer = handler_(args);
      } catch (const std::exception& e) {
        answer = Status::error(std::string("internal error: ") + e.what());
      }
    }
    write_all(c, answer ? "OK\n" + *answer : "ERR\n" + answer.error());
    ::close(c);
  }
}

Result<std::string> control_request(const std::string& path, const std::vector<std::string>& args,
                                    bool* no_server) {
  *no_server = false;
  sockaddr_un addr;
  if (!make_addr(path, addr)) return Status::error("control socket path too long: " + path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      *no_server = true;
      return Status::error("no server is running (" + path + ")");
    }
    return Status::error("control socket " + path + ": " + std::strerror(err));
  }
  std::string req;
  for (auto& a : args) {
    req += a;
    req += '\0';
  }
  write_all(fd, req);
  ::shutdown(fd, SHUT_WR);
  std::string resp = read_all(fd, 64u << 20);
  ::close(fd);
  if (resp.starts_with("OK\n")) return resp.substr(3);
  if (resp.starts_with("ERR\n")) return Status::error(resp.substr(4));
  return Status::error("no answer from the server on " + path);
}

}  // namespace mm::ops
