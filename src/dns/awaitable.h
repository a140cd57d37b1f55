// The resolver as an Asio asynchronous operation, for coroutines:
//   dns::Answer a = co_await dns::async_query(resolver, "example.com", dns::Type::MX, asio::use_awaitable);
// The completion runs on the handler's associated executor (the coroutine's strand), never
// inside the resolver. Heavy (Asio): include it only in the few .cpp files that use coroutines.
#pragma once
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <utility>

#include "dns/resolver.h"

namespace mm::dns {

// A plain function returning the awaitable (no coroutine frame holding by-value parameters).
template <class Token>
auto async_query(Resolver& resolver, std::string name, Type type, Token&& token) {
  return boost::asio::async_initiate<Token, void(Answer)>(
      [&resolver](auto handler, std::string n, Type t) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto work = boost::asio::make_work_guard(ex);  // keeps the loop alive while DNS is out
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        resolver.query(n, t, [h, ex, work](const Answer& a) {
          boost::asio::post(ex, [h, a, work]() mutable {
            std::move (*h)(a);
            work.reset();
          });
        });
      },
      token, std::move(name), type);
}

}  // namespace mm::dns
