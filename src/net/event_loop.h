// The event loop: one Boost.Asio io_context run by a few threads, plus signal handling.
// Asio stays out of this header so that most of the code base compiles fast.
#pragma once
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace mm::net {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& context();
  // Calls fn on a loop thread whenever signal `signo` arrives (SIGTERM, SIGINT, SIGHUP).
  void on_signal(int signo, std::function<void()> fn);
  // Runs fn once after `ms` milliseconds on a loop thread.
  void after(int ms, std::function<void()> fn);
  // Runs fn every `ms` milliseconds until stop().
  void every(int ms, std::function<void()> fn);
  void post(std::function<void()> fn);
  // Runs the loop on `threads` threads (the caller's included); returns after stop().
  void run(int threads);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mm::net
