#include "api/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "net/event_loop.h"

namespace mm::api {
namespace {

// Sends `data` to 127.0.0.1:port and reads until the server closes or `timeout_ms` passes.
std::string talk(uint16_t port, const std::string& data, int timeout_ms = 5000) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect failed";
  }
  (void)!write(fd, data.data(), data.size());
  std::string out;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    auto n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions o) {
    o.tls = false;
    o.listen.clear();
    o.listen.emplace_back("127.0.0.1", uint16_t{0});
    server = std::make_unique<ApiServer>(loop, o, [this](const Request& r) {
      handler_thread = std::this_thread::get_id();
      Response res;
      res.body = r.method + " " + r.path + " q=" + r.param("q") + " body=" + std::to_string(r.body.size());
      res.content_type = "text/plain";
      return res;
    });
    ASSERT_TRUE(server->start());
    port = server->bound_ports().at(0);
    io = std::thread([this] {
      io_thread = std::this_thread::get_id();
      loop.run(1);
    });
  }
  void TearDown() override {
    if (server) server->stop();
    loop.stop();
    if (io.joinable()) io.join();
    server.reset();
  }
  net::EventLoop loop;
  std::unique_ptr<ApiServer> server;
  std::thread io;
  std::atomic<std::thread::id> io_thread{}, handler_thread{};
  uint16_t port = 0;
};

TEST_F(ServerTest, AnswersOffTheIoThreadWithDecodedTarget) {
  start({});
  auto r = talk(port, "GET /api/v1/x%20y?q=a+b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("GET /api/v1/x y q=a b body=0"), std::string::npos) << r;
  EXPECT_NE(handler_thread.load(), std::thread::id{});
  EXPECT_NE(handler_thread.load(), io_thread.load());
}

TEST_F(ServerTest, RefusesLargeBodiesHeadersAndGarbage) {
  ServerOptions o;
  o.max_body = 100;
  o.max_header = 1024;
  start(o);
  auto r = talk(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  EXPECT_NE(r.find("\"error\""), std::string::npos);
  EXPECT_NE(r.find("nosniff"), std::string::npos);
  r = talk(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 431", 0), 0u) << r;
  r = talk(port, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
  r = talk(port, "GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
}

TEST_F(ServerTest, SlowRequestsAreCutOff) {
  ServerOptions o;
  o.request_timeout_s = 1;
  start(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = talk(port, "GET / HTTP/1.1\r\nHost: x\r\n", 5000);  // never finishes its header
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r, "");
  EXPECT_LT(took, std::chrono::milliseconds(4000));
  EXPECT_GE(took, std::chrono::milliseconds(900));
}

}  // namespace
}  // namespace mm::api
