// Beast lives here alone (LIBRARIES.md §1: Beast units are slow to compile).
#include "api/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/event_loop.h"
#include "net/tls.h"
#include "ops/log.h"
#include "util/json_line.h"

namespace mm::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

Result<std::shared_ptr<ssl::context>> make_tls(const ServerOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  if (auto st = net::configure_server_tls(ctx->native_handle(), o.tls_cert, o.tls_key, o.tls_min_version); !st)
    return Status::error("[api] " + st.message());
  return ctx;
}

http::response<http::string_body> to_beast(Response r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "mailmoat");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.insert(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Request from_beast(const http::request<http::string_body>& req, const std::string& ip, bool* ok) {
  Request r;
  r.method = std::string(req.method_string());
  std::string target(req.target());
  auto q = target.find('?');
  *ok = url_decode(target.substr(0, q), r.path, false);
  if (q != std::string::npos) *ok = parse_query(target.substr(q + 1), r.query) && *ok;
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto v = std::string(f.value());
    auto [it, fresh] = r.headers.emplace(name, v);
    if (!fresh) it->second += (name == "cookie" ? "; " : ", ") + v;
  }
  r.body = req.body();
  r.client_ip = ip;
  return r;
}

Response plain_error(int status, const std::string& code, const std::string& msg) {
  Response r;
  r.status = status;
  std::string body = "{\"error\":{\"code\":";
  json_escape(code, body);
  body += ",\"message\":";
  json_escape(msg, body);
  body += ",\"field\":null}}";
  r.body = body;
  r.headers.emplace("Cache-Control", "no-store");
  r.headers.emplace("X-Content-Type-Options", "nosniff");
  r.headers.emplace("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
  r.headers.emplace("Referrer-Policy", "no-referrer");
  r.headers.emplace("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

struct ApiServer::Impl : std::enable_shared_from_this<ApiServer::Impl> {
  Impl(net::EventLoop& l, ServerOptions o, Handler h)
      : loop(l), opts(std::move(o)), handler(std::move(h)), pool(static_cast<size_t>(std::max(1, opts.worker_threads))) {}

  net::EventLoop& loop;
  ServerOptions opts;
  Handler handler;
  asio::thread_pool pool;
  std::shared_ptr<ssl::context> tls;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};

  awaitable<void> accept_loop(tcp::acceptor& acc);
  template <class Stream>
  awaitable<void> serve(Stream& stream, beast::tcp_stream& tcp_layer, std::string ip);
  awaitable<void> session_plain(std::shared_ptr<beast::tcp_stream> s, std::string ip);
  awaitable<void> session_tls(std::shared_ptr<beast::ssl_stream<beast::tcp_stream>> s, std::string ip);
};

template <class Stream>
awaitable<void> ApiServer::Impl::serve(Stream& stream, beast::tcp_stream& tcp_layer, std::string ip) {
  auto self = shared_from_this();
  beast::flat_buffer buf;
  for (int n = 0; n < opts.max_requests_per_connection && !stopped; ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header));
    parser.body_limit(opts.max_body);
    tcp_layer.expires_after(std::chrono::seconds(n == 0 ? opts.request_timeout_s : opts.idle_timeout_s));
    // The first bytes of a kept-alive request may wait idle_timeout_s; then the rest gets request_timeout_s.
    auto [ec, bytes] = co_await http::async_read_header(stream, buf, parser, tuple_awaitable);
    (void)bytes;
    Response res;
    bool close = false;
    bool parsed = false;
    unsigned version = 11;
    if (!ec) {
      tcp_layer.expires_after(std::chrono::seconds(opts.request_timeout_s));
      auto [ec2, b2] = co_await http::async_read(stream, buf, parser, tuple_awaitable);
      (void)b2;
      ec = ec2;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      break;
    if (ec == http::error::body_limit) {
      res = plain_error(413, "too_large", "the request body is larger than " + std::to_string(opts.max_body) + " bytes");
      close = true;
    } else if (ec == http::error::header_limit) {
      res = plain_error(431, "too_large", "the request header is too large");
      close = true;
    } else if (ec) {
      res = plain_error(400, "bad_request", "malformed HTTP request");
      close = true;
    } else {
      parsed = true;
      auto& req = parser.get();
      version = req.version();
      bool ok = true;
      Request r = from_beast(req, ip, &ok);
      if (!ok) {
        res = plain_error(400, "bad_request", "bad percent-encoding in the request target");
      } else {
        // Off the I/O threads: handlers touch the store and hash passwords. The result comes back
        // to this coroutine's own executor.
        res = co_await asio::co_spawn(
            pool,
            [this, &r]() -> awaitable<Response> {
              try {
                co_return handler(r);
              } catch (const std::exception& e) {
                log::error("api.handler_failed", JsonLine().add("error", e.what()).add("path", r.path));
              }
              co_return plain_error(500, "internal", "internal error");
            },
            asio::use_awaitable);
      }
      close = !req.keep_alive();
    }
    (void)parsed;
    if (n + 1 >= opts.max_requests_per_connection) close = true;
    auto out = to_beast(std::move(res), version, !close);
    tcp_layer.expires_after(std::chrono::seconds(opts.request_timeout_s));
    auto [wec, wb] = co_await http::async_write(stream, out, tuple_awaitable);
    (void)wb;
    if (wec || close) break;
  }
}

awaitable<void> ApiServer::Impl::session_plain(std::shared_ptr<beast::tcp_stream> s, std::string ip) {
  auto self = shared_from_this();
  co_await serve(*s, *s, ip);
  boost::system::error_code ec;
  s->socket().shutdown(tcp::socket::shutdown_both, ec);
}

awaitable<void> ApiServer::Impl::session_tls(std::shared_ptr<beast::ssl_stream<beast::tcp_stream>> s, std::string ip) {
  auto self = shared_from_this();
  auto& layer = beast::get_lowest_layer(*s);
  layer.expires_after(std::chrono::seconds(opts.request_timeout_s));
  auto [ec] = co_await s->async_handshake(ssl::stream_base::server, tuple_awaitable);
  if (ec) co_return;
  co_await serve(*s, layer, ip);
  layer.expires_after(std::chrono::seconds(2));
  auto [sec] = co_await s->async_shutdown(tuple_awaitable);
  (void)sec;
}

awaitable<void> ApiServer::Impl::accept_loop(tcp::acceptor& acc) {
  auto self = shared_from_this();
  while (!stopped) {
    auto [ec, sock] = co_await acc.async_accept(tuple_awaitable);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped) co_return;
      continue;
    }
    if (connections.load() >= opts.max_connections) {
      boost::system::error_code ignored;
      sock.close(ignored);
      continue;
    }
    boost::system::error_code rec;
    auto ep = sock.remote_endpoint(rec);
    std::string ip = rec ? "" : ep.address().to_string();
    ++connections;
    auto done = [self](std::exception_ptr) { --self->connections; };
    auto ex = sock.get_executor();
    if (tls) {
      auto s = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(sock), *tls);
      asio::co_spawn(ex, session_tls(s, ip), done);
    } else {
      auto s = std::make_shared<beast::tcp_stream>(std::move(sock));
      asio::co_spawn(ex, session_plain(s, ip), done);
    }
  }
}

ApiServer::ApiServer(net::EventLoop& loop, ServerOptions o, Handler h)
    : impl_(std::make_shared<Impl>(loop, std::move(o), std::move(h))) {}

ApiServer::~ApiServer() {
  stop();
  impl_->pool.join();
}

Status ApiServer::start() {
  if (impl_->opts.tls) {
    auto t = make_tls(impl_->opts);
    if (!t) return t.status();
    impl_->tls = *t;
  }
  for (auto& [host, port] : impl_->opts.listen) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return Status::error("[api] listen address '" + host + "': " + ec.message());
    auto acc = std::make_unique<tcp::acceptor>(impl_->loop.context());
    tcp::endpoint ep(addr, port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::error("[api] cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    impl_->acceptors.push_back(std::move(acc));
  }
  for (auto& acc : impl_->acceptors)
    asio::co_spawn(impl_->loop.context(), impl_->accept_loop(*acc), asio::detached);
  return {};
}

void ApiServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  for (auto& a : impl_->acceptors) {
    boost::system::error_code ec;
    a->close(ec);
  }
}

std::vector<uint16_t> ApiServer::bound_ports() const {
  std::vector<uint16_t> out;
  for (auto& a : impl_->acceptors) {
    boost::system::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep.port());
  }
  return out;
}

}  // namespace mm::api
