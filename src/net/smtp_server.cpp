// The Asio side of the SMTP server: sockets, strands, timeouts, TLS. Protocol logic lives in
// smtp::ServerSession; decisions in the SessionHandler (gateway).
#include "net/smtp_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "net/tls.h"
#include "ops/log.h"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using boost::system::error_code;

namespace mm::net {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

Result<std::shared_ptr<ssl::context>> make_server_tls(const ServerConfig& cfg) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  if (auto st = configure_server_tls(ctx->native_handle(), cfg.tls_cert, cfg.tls_key, cfg.tls_min_version); !st)
    return st;
  return ctx;
}

}  // namespace

class Session;

struct SmtpServer::Impl : std::enable_shared_from_this<SmtpServer::Impl> {
  Impl(EventLoop& l, ServerConfig c, HandlerFactory f)
      : loop(l), cfg(std::move(c)), factory(std::move(f)) {}

  EventLoop& loop;
  ServerConfig cfg;
  HandlerFactory factory;

  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id{1};

  std::mutex mu;  // guards the three below
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, uint32_t> per_ip;
  size_t total = 0;

  std::shared_ptr<ssl::context> tls_context() {
    std::lock_guard lk(tls_mu);
    return tls;
  }
  awaitable<void> accept_loop(tcp::acceptor& acc);
  awaitable<void> refuse(tcp::socket sock, std::string reply);
  void release(uint64_t id, const std::string& ip) {
    std::lock_guard lk(mu);
    sessions.erase(id);
    if (--per_ip[ip] == 0) per_ip.erase(ip);
    --total;
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<SmtpServer::Impl> server, tcp::socket sock, ConnInfo info)
      : server_(std::move(server)),
        sock_(std::move(sock)),
        deadline_(sock_.get_executor()),
        info_(std::move(info)),
        sm_(server_->cfg.session) {}

  awaitable<void> run();
  tcp::socket::executor_type executor() { return sock_.get_executor(); }
  // Called on this session's strand at shutdown: an idle session (waiting for a command outside
  // a transaction) is closed with 421 at once; one inside a transaction may finish it.
  void nudge(bool force) {
    bool idle = waiting_for_command_ && !in_transaction();
    if (force || idle) {
      shutdown_ = true;
      error_code ec;
      sock_.cancel(ec);
    }
  }

 private:
  bool in_transaction() const {
    const auto& env = sm_.envelope();
    return sm_.in_data() || !env.recipients.empty() || !env.sender.empty() || env.null_sender;
  }
  void arm(int seconds) { deadline_.expires_after(std::chrono::seconds(seconds)); }
  awaitable<void> watchdog();
  awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer b) {
    if (tls_) co_return co_await tls_->async_read_some(b, tuple_awaitable);
    co_return co_await sock_.async_read_some(b, tuple_awaitable);
  }
  awaitable<bool> write(const std::string& out) {
    if (out.empty()) co_return true;
    arm(server_->cfg.command_timeout_s);
    std::tuple<error_code, size_t> r;
    if (tls_) r = co_await asio::async_write(*tls_, asio::buffer(out), tuple_awaitable);
    else r = co_await asio::async_write(sock_, asio::buffer(out), tuple_awaitable);
    co_return !std::get<0>(r);
  }
  auto commit_message(std::string data);
  awaitable<bool> start_tls();
  void close() {
    closed_ = true;
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    deadline_.cancel();
  }

  std::shared_ptr<SmtpServer::Impl> server_;
  tcp::socket sock_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<ssl::context> tls_ctx_;  // keeps the context alive while tls_ uses it
  asio::steady_timer deadline_;
  ConnInfo info_;
  smtp::ServerSession sm_;
  std::unique_ptr<SessionHandler> handler_;
  TlsState tls_state_;
  bool closed_ = false, timed_out_ = false, shutdown_ = false, waiting_for_command_ = false;
};

awaitable<void> Session::watchdog() {
  auto self = shared_from_this();
  while (!closed_) {
    if (deadline_.expiry() <= asio::steady_timer::clock_type::now()) {
      timed_out_ = true;
      error_code ec;
      sock_.cancel(ec);
      deadline_.expires_at(asio::steady_timer::time_point::max());
    }
    co_await deadline_.async_wait(tuple_awaitable);
  }
}

// Not a coroutine itself (GCC 12 mishandles by-value coroutine parameters moved into an
// initiation): returns the awaitable operation. The handler answers from another thread (the
// spool's group commit); the reply is posted back to this session's strand.
auto Session::commit_message(std::string data) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(smtp::Reply)>(
      [this](auto handler, std::string d) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        handler_->on_message(sm_.envelope(), std::move(d), tls_state_, [h, ex](smtp::Reply r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { std::move (*h)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(data));
}

awaitable<bool> Session::start_tls() {
  tls_ctx_ = server_->tls_context();
  if (!tls_ctx_) co_return false;
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, *tls_ctx_);
  arm(server_->cfg.command_timeout_s);
  auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, tuple_awaitable);
  if (ec) {
    log::info("smtp.tls_failed", JsonLine()
                                     .add("session", info_.session_id)
                                     .add("ip", info_.client_ip)
                                     .add("error", ec.message()));
    co_return false;
  }
  SSL* s = tls_->native_handle();
  tls_state_.active = true;
  tls_state_.version = SSL_get_version(s);
  tls_state_.cipher = SSL_get_cipher_name(s);
  co_return true;
}

awaitable<void> Session::run() {
  auto self = shared_from_this();
  // Before the watchdog first looks: an unset (epoch) expiry would count as a timeout at once.
  arm(server_->cfg.command_timeout_s);
  asio::co_spawn(sock_.get_executor(), watchdog(), asio::detached);
  handler_ = server_->factory(info_);
  std::string reason = "eof";
  smtp::Reply greet = handler_->on_connect(info_);
  if (greet.code == 220) greet = sm_.greeting();
  if (greet.code == 220 && server_->cfg.pregreet_ms > 0) {
    // Early-talker test (as postscreen's pregreet): an honest client waits for the greeting; a
    // bulk sender often does not. What it sent stays in the socket and is read as commands.
    asio::steady_timer wait(sock_.get_executor());
    wait.expires_after(std::chrono::milliseconds(server_->cfg.pregreet_ms));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    boost::system::error_code aec;
    size_t early = sock_.available(aec);
    if (!aec && early > 0) handler_->on_pregreet(early);
  }
  co_await write(smtp::format_reply(greet));
  if (greet.code != 220) {
    reason = "refused";
  } else {
    // Small while waiting for commands (thousands of idle sessions stay cheap), large in DATA.
    std::vector<char> buf;
    for (bool done = false; !done;) {
      smtp::Event ev = sm_.next();
      switch (ev.kind) {
        case smtp::Event::NeedInput: {
          if (!co_await write(sm_.take_output())) {
            reason = "write_error";
            done = true;
            break;
          }
          if (server_->stopping && !in_transaction()) shutdown_ = true;
          if (!shutdown_) {
            waiting_for_command_ = !sm_.in_data();
            size_t want = sm_.in_data() ? 65536 : 1024;
            if (buf.size() != want) {
              buf.resize(want);
              buf.shrink_to_fit();
            }
            arm(sm_.in_data() ? server_->cfg.data_timeout_s : server_->cfg.command_timeout_s);
            auto [ec, n] = co_await read_some(asio::buffer(buf));
            waiting_for_command_ = false;
            if (!ec) {
              sm_.feed(std::string_view(buf.data(), n));
              break;
            }
            if (!timed_out_ && !shutdown_) {
              reason = ec == asio::error::eof ? "eof" : "read_error";
              done = true;
              break;
            }
          }
          // Timed out or shutting down: say so, then close.
          reason = timed_out_ ? "timeout" : "shutdown";
          timed_out_ = false;
          smtp::Reply r = reason == "timeout"
                              ? sm_.timeout_reply()
                              : smtp::Reply{421, "4.3.2", server_->cfg.session.hostname +
                                                              " Service shutting down, try again later",
                                            true};
          co_await write(smtp::format_reply(r));
          done = true;
          break;
        }
        case smtp::Event::Helo:
          sm_.answer(handler_->on_helo(sm_.envelope()));
          break;
        case smtp::Event::MailFrom:
          sm_.answer(handler_->on_mail(sm_.envelope(), ev.path));
          break;
        case smtp::Event::RcptTo:
          sm_.answer(handler_->on_rcpt(sm_.envelope(), ev.path));
          break;
        case smtp::Event::Message: {
          arm(600);  // the commit is ours to bound, not the client's
          sm_.answer(co_await commit_message(std::move(ev.data)));
          break;
        }
        case smtp::Event::StartTls:
          if (!co_await write(sm_.take_output()) || !co_await start_tls()) {
            reason = "tls_failed";
            done = true;
            break;
          }
          sm_.tls_started();
          break;
        case smtp::Event::Close:
          co_await write(sm_.take_output());
          reason = "quit";
          done = true;
          break;
      }
    }
  }
  close();
  handler_->on_close(reason);
  server_->release(info_.session_id, info_.client_ip);
}

awaitable<void> SmtpServer::Impl::refuse(tcp::socket sock, std::string reply) {
  co_await asio::async_write(sock, asio::buffer(reply), tuple_awaitable);
  error_code ec;
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

awaitable<void> SmtpServer::Impl::accept_loop(tcp::acceptor& acc) {
  auto self = shared_from_this();
  auto& ctx = loop.context();
  while (!stopping) {
    auto [ec, sock] = co_await acc.async_accept(asio::make_strand(ctx), tuple_awaitable);
    if (stopping) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of file descriptors or similar: back off briefly instead of spinning.
      log::warn("smtp.accept_failed", JsonLine().add("error", ec.message()));
      asio::steady_timer t(ctx, std::chrono::milliseconds(100));
      co_await t.async_wait(tuple_awaitable);
      continue;
    }
    ConnInfo info;
    info.session_id = next_id++;
    error_code e1, e2;
    auto remote = sock.remote_endpoint(e1);
    auto local = sock.local_endpoint(e2);
    if (e1 || e2) continue;
    auto addr = remote.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    info.client_ip = addr.to_string();
    info.client_port = remote.port();
    info.local_ip = local.address().to_string();
    info.local_port = local.port();

    std::string refusal;
    {
      std::lock_guard lk(mu);
      if (total >= cfg.max_sessions)
        refusal = "421 4.7.0 " + cfg.session.hostname + " Too many connections, try again later\r\n";
      else if (per_ip[info.client_ip] >= cfg.max_sessions_per_ip)
        refusal = "421 4.7.0 " + cfg.session.hostname +
                  " Too many connections from your address, try again later\r\n";
      if (refusal.empty()) {
        ++total;
        ++per_ip[info.client_ip];
      } else if (per_ip[info.client_ip] == 0) {
        per_ip.erase(info.client_ip);
      }
    }
    if (!refusal.empty()) {
      log::warn("smtp.connection_limit", JsonLine().add("ip", info.client_ip));
      asio::co_spawn(sock.get_executor(), refuse(std::move(sock), refusal), asio::detached);
      continue;
    }
    auto ex = sock.get_executor();
    auto session = std::make_shared<Session>(self, std::move(sock), info);
    {
      std::lock_guard lk(mu);
      sessions[info.session_id] = session;
    }
    asio::co_spawn(ex, session->run(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& err) {
        log::error("smtp.session_crashed", JsonLine().add("error", err.what()));
      }
    });
  }
}

SmtpServer::SmtpServer(EventLoop& loop, ServerConfig cfg, HandlerFactory f)
    : impl_(std::make_shared<Impl>(loop, std::move(cfg), std::move(f))) {}

SmtpServer::~SmtpServer() {
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
}

Status SmtpServer::start() {
  auto& c = impl_->cfg;
  if (!c.tls_cert.empty()) {
    auto ctx = make_server_tls(c);
    if (!ctx) return ctx.status();
    impl_->tls = *ctx;
    c.session.tls_available = true;
  }
  for (auto& l : c.listen) {
    error_code ec;
    auto addr = asio::ip::make_address(l.address, ec);
    if (ec) return Status::error("listen address '" + l.address + "': " + ec.message());
    auto acc = std::make_unique<tcp::acceptor>(impl_->loop.context());
    tcp::endpoint ep(addr, l.port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::string where = addr.is_v6() ? "[" + l.address + "]" : l.address;
      return Status::error("cannot listen on " + where + ":" + std::to_string(l.port) + ": " +
                           ec.message());
    }
    impl_->acceptors.push_back(std::move(acc));
  }
  for (auto& acc : impl_->acceptors) {
    auto ep = acc->local_endpoint();
    log::info("smtp.listening", JsonLine()
                                    .add("address", ep.address().to_string())
                                    .add("port", static_cast<int>(ep.port()))
                                    .add("starttls", c.session.tls_available));
    asio::co_spawn(impl_->loop.context(), impl_->accept_loop(*acc), asio::detached);
  }
  return {};
}

std::vector<uint16_t> SmtpServer::bound_ports() const {
  std::vector<uint16_t> out;
  for (auto& a : impl_->acceptors) {
    error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep.port());
  }
  return out;
}

void SmtpServer::stop_accepting() {
  impl_->stopping = true;
  for (auto& a : impl_->acceptors) {
    asio::post(a->get_executor(), [acc = a.get()] {
      error_code ec;
      acc->close(ec);
    });
  }
  std::lock_guard lk(impl_->mu);
  for (auto& [id, weak] : impl_->sessions) {
    (void)id;
    if (auto s = weak.lock()) asio::post(s->executor(), [s] { s->nudge(false); });
  }
}

void SmtpServer::close_all() {
  std::lock_guard lk(impl_->mu);
  for (auto& [id, weak] : impl_->sessions) {
    (void)id;
    if (auto s = weak.lock()) asio::post(s->executor(), [s] { s->nudge(true); });
  }
}

size_t SmtpServer::active_sessions() const {
  std::lock_guard lk(impl_->mu);
  return impl_->total;
}

Status SmtpServer::reload_tls() {
  if (impl_->cfg.tls_cert.empty()) return {};
  auto ctx = make_server_tls(impl_->cfg);
  if (!ctx) return ctx.status();
  std::lock_guard lk(impl_->tls_mu);
  impl_->tls = *ctx;
  return {};
}

}  // namespace mm::net
