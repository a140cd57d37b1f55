#include "net/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

namespace asio = boost::asio;

namespace mm::net {

struct EventLoop::Impl {
  asio::io_context ctx;
  asio::executor_work_guard<asio::io_context::executor_type> work{ctx.get_executor()};
  std::vector<std::unique_ptr<asio::signal_set>> signals;
  std::vector<std::shared_ptr<void>> keep;  // recurring handlers; set up before run()
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

asio::io_context& EventLoop::context() { return impl_->ctx; }

void EventLoop::on_signal(int signo, std::function<void()> fn) {
  auto set = std::make_unique<asio::signal_set>(impl_->ctx, signo);
  auto* raw = set.get();
  auto handler = std::make_shared<std::function<void(const boost::system::error_code&, int)>>();
  *handler = [raw, fn = std::move(fn), weak = std::weak_ptr(handler)](const boost::system::error_code& ec, int) {
    if (ec) return;
    fn();
    if (auto h = weak.lock()) raw->async_wait(*h);
  };
  raw->async_wait(*handler);
  impl_->signals.push_back(std::move(set));
  impl_->keep.push_back(handler);  // alive as long as the loop
}

void EventLoop::after(int ms, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(impl_->ctx, std::chrono::milliseconds(ms));
  t->async_wait([t, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

void EventLoop::every(int ms, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(impl_->ctx);
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [t, ms, fn = std::move(fn), weak = std::weak_ptr(tick)] {
    t->expires_after(std::chrono::milliseconds(ms));
    t->async_wait([t, fn, weak](const boost::system::error_code& ec) {
      if (ec) return;
      fn();
      if (auto next = weak.lock()) (*next)();
    });
  };
  (*tick)();
  impl_->keep.push_back(tick);
}

void EventLoop::post(std::function<void()> fn) { asio::post(impl_->ctx, std::move(fn)); }

void EventLoop::run(int threads) {
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->ctx.run(); });
  impl_->ctx.run();
  for (auto& t : pool) t.join();
}

void EventLoop::stop() {
  impl_->work.reset();
  impl_->ctx.stop();
}

}  // namespace mm::net
