// The Asio side of outbound SMTP. Protocol helpers (reply parsing, EHLO capabilities,
// dot-stuffing) come from the smtp module.
#include "net/smtp_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "ops/log.h"
#include "smtp/client.h"

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using boost::system::error_code;

namespace mm::net {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string one_line(const smtp::Reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.enhanced.empty()) s += " " + r.enhanced;
  std::string text = r.text;
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  if (!text.empty()) s += " " + text;
  return s;
}

enum ConnState { Busy, Idle, Closed };

struct Conn {
  explicit Conn(asio::any_io_executor ex) : sock(ex), deadline(ex) {}
  tcp::socket sock;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  asio::steady_timer deadline;
  smtp::ReplyParser parser;
  smtp::EhloCaps caps;
  std::string peer, tls_desc;
  std::atomic<int> state{Busy};
  bool timed_out = false, broken = false;

  void arm(int seconds) { deadline.expires_after(std::chrono::seconds(seconds)); }
  void close() {
    state = Closed;
    error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    deadline.cancel();
  }
  awaitable<void> watchdog([[maybe_unused]] std::shared_ptr<Conn> self) {  // self: alive while watched
    while (state != Closed) {
      if (deadline.expiry() <= asio::steady_timer::clock_type::now()) {
        int idle = Idle;
        if (state.compare_exchange_strong(idle, Closed)) {
          // Idle too long: say goodbye politely, without waiting for the answer.
          std::string quit = "QUIT\r\n";
          error_code ec;
          if (tls) asio::write(*tls, asio::buffer(quit), ec);
          else asio::write(sock, asio::buffer(quit), ec);
          close();
          co_return;
        }
        timed_out = true;
        error_code ec;
        sock.cancel(ec);
        deadline.expires_at(asio::steady_timer::time_point::max());
      }
      co_await deadline.async_wait(tuple_awaitable);
    }
  }
  awaitable<bool> send(const std::string& data, int timeout) {
    arm(timeout);
    std::tuple<error_code, size_t> r;
    if (tls) r = co_await asio::async_write(*tls, asio::buffer(data), tuple_awaitable);
    else r = co_await asio::async_write(sock, asio::buffer(data), tuple_awaitable);
    if (std::get<0>(r)) broken = true;
    co_return !broken;
  }
  awaitable<std::optional<smtp::Reply>> read_reply(int timeout) {
    arm(timeout);
    char buf[8192];
    for (;;) {
      if (auto r = parser.next()) co_return r;
      std::tuple<error_code, size_t> res;
      if (tls) res = co_await tls->async_read_some(asio::buffer(buf), tuple_awaitable);
      else res = co_await sock.async_read_some(asio::buffer(buf), tuple_awaitable);
      if (std::get<0>(res)) {
        broken = true;
        co_return std::nullopt;
      }
      parser.feed(std::string_view(buf, std::get<1>(res)));
    }
  }
};

}  // namespace

struct SmtpClient::Impl : std::enable_shared_from_this<SmtpClient::Impl> {
  Impl(EventLoop& l, ClientConfig c) : loop(l), cfg(std::move(c)), tls(ssl::context::tls_client) {
    tls.set_verify_mode(ssl::verify_none);  // see docs/CONFIGURATION.md: TLS modes
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  }
  EventLoop& loop;
  ClientConfig cfg;
  ssl::context tls;
  std::mutex mu;
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> idle;

  std::shared_ptr<Conn> take_idle(const std::string& key) {
    std::lock_guard lk(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& v = it->second;
    while (!v.empty()) {
      auto c = std::move(v.back());
      v.pop_back();
      int expected = Idle;
      if (c->state.compare_exchange_strong(expected, Busy)) return c;
    }
    return nullptr;
  }
  void put_idle(const std::string& key, std::shared_ptr<Conn> c) {
    std::lock_guard lk(mu);
    auto& v = idle[key];
    std::erase_if(v, [](auto& x) { return x->state == Closed; });
    c->arm(cfg.reuse_s);
    c->state = Idle;
    v.push_back(std::move(c));
  }

  awaitable<std::shared_ptr<Conn>> connect(const Destination& d, std::string& why);
  awaitable<bool> transact(Conn& c, const OutboundMessage& m, DeliveryReport& rep);
  awaitable<void> run(std::shared_ptr<Conn> reused, Destination d, OutboundMessage m,
                      std::function<void(DeliveryReport)> done);
};

awaitable<std::shared_ptr<Conn>> SmtpClient::Impl::connect(const Destination& d,
                                                           std::string& why) {
  auto ex = co_await asio::this_coro::executor;
  for (const auto& hop : d.hops) {
    tcp::resolver resolver(ex);
    auto [rec, results] =
        co_await resolver.async_resolve(hop.host, std::to_string(hop.port), tuple_awaitable);
    if (rec) {
      why = "host " + hop.host + " not found: " + rec.message();
      continue;
    }
    for (const auto& entry : results) {
      bool use_tls = d.tls != TlsPolicy::None;
      for (int round = 0; round < 2; ++round) {  // round 1: plaintext after a failed opportunistic handshake
        bool retry_plain = false;
        auto c = std::make_shared<Conn>(ex);
        asio::co_spawn(ex, c->watchdog(c), asio::detached);
        auto ep = entry.endpoint();
        c->peer = hop.host + "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
        c->arm(cfg.connect_timeout_s);
        auto [cec] = co_await c->sock.async_connect(ep, tuple_awaitable);
        if (cec) {
          why = "connect to " + c->peer + ": " + (c->timed_out ? "timed out" : cec.message());
          c->close();
          break;
        }
        auto greet = co_await c->read_reply(cfg.reply_timeout_s);
        if (!greet || greet->code != 220) {
          why = greet ? c->peer + " greeted with: " + one_line(*greet)
                      : "lost connection with " + c->peer + " while waiting for the greeting";
          c->close();
          break;
        }
        bool tls_done = false, failed = false;
        for (;;) {
          co_await c->send("EHLO " + cfg.helo_name + "\r\n", cfg.reply_timeout_s);
          auto ehlo = co_await c->read_reply(cfg.reply_timeout_s);
          if (ehlo && ehlo->code / 100 == 2) {
            c->caps = smtp::parse_ehlo(*ehlo);
          } else if (ehlo && !c->broken && !tls_done) {
            co_await c->send("HELO " + cfg.helo_name + "\r\n", cfg.reply_timeout_s);
            auto helo = co_await c->read_reply(cfg.reply_timeout_s);
            if (!helo || helo->code / 100 != 2) ehlo = std::nullopt;
            c->caps = {};
          } else {
            ehlo = std::nullopt;
          }
          if (!ehlo) {
            why = "EHLO/HELO failed at " + c->peer;
            failed = true;
            break;
          }
          if (tls_done || !use_tls) break;
          if (!c->caps.starttls) {
            if (d.tls == TlsPolicy::Required) {
              why = "TLS is required but " + c->peer + " does not offer STARTTLS";
              failed = true;
            }
            break;
          }
          co_await c->send("STARTTLS\r\n", cfg.reply_timeout_s);
          auto r = co_await c->read_reply(cfg.reply_timeout_s);
          if (!r || r->code != 220) {
            if (d.tls == TlsPolicy::Required) {
              why = "TLS is required but " + c->peer + " refused STARTTLS" + (r ? ": " + one_line(*r) : "");
              failed = true;
            }
            break;
          }
          c->tls = std::make_unique<ssl::stream<tcp::socket&>>(c->sock, tls);
          SSL_set_tlsext_host_name(c->tls->native_handle(), hop.host.c_str());
          c->arm(cfg.reply_timeout_s);
          auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, tuple_awaitable);
          if (hec) {
            why = "TLS handshake with " + c->peer + " failed: " + hec.message();
            c->broken = failed = true;
            // Opportunistic means "encrypt when it works": try once more in plaintext, as
            // Postfix does, rather than never delivering to a server with broken TLS.
            retry_plain = d.tls == TlsPolicy::Opportunistic;
            break;
          }
          c->parser = smtp::ReplyParser();  // RFC 3207: forget everything said before TLS
          SSL* s = c->tls->native_handle();
          c->tls_desc = std::string(SSL_get_version(s)) + " " + SSL_get_cipher_name(s);
          tls_done = true;
        }
        if (failed || c->broken) {
          if (!c->broken) co_await c->send("QUIT\r\n", 10);
          c->close();
          if (!retry_plain) break;
          use_tls = false;
          continue;
        }
        co_return c;
      }
    }
  }
  if (why.empty()) why = "no host to deliver to";
  co_return nullptr;
}

// One transaction on an established connection. Returns false when the connection broke before
// any recipient got a final answer (the caller may retry on a fresh connection).
awaitable<bool> SmtpClient::Impl::transact(Conn& c, const OutboundMessage& m, DeliveryReport& rep) {
  const size_t n = m.recipients.size();
  rep.rcpts.assign(n, RcptResult{});
  rep.peer = c.peer;
  rep.tls = c.tls_desc;
  auto all = [&](int code, const std::string& text) {
    for (auto& r : rep.rcpts)
      if (r.code == 0) r = {code, text};
  };
  if (m.smtputf8 && !c.caps.smtputf8) {
    all(550, "550 5.6.7 " + c.peer + " does not support SMTPUTF8, which this message requires");
    co_return true;
  }
  if (c.caps.size > 0 && m.body->size() > c.caps.size) {
    all(552, "552 5.3.4 message size " + std::to_string(m.body->size()) + " exceeds the limit of " +
                 c.peer + " (" + std::to_string(c.caps.size) + ")");
    co_return true;
  }
  std::string mail = "MAIL FROM:<" + m.sender + ">";
  if (c.caps.size > 0) mail += " SIZE=" + std::to_string(m.body->size());
  if (m.eightbit && c.caps.eightbitmime) mail += " BODY=8BITMIME";
  if (m.smtputf8) mail += " SMTPUTF8";
  mail += "\r\n";
  std::vector<std::string> cmds{mail};
  for (auto& r : m.recipients) cmds.push_back("RCPT TO:<" + r + ">\r\n");
  cmds.push_back("DATA\r\n");

  const int t = cfg.reply_timeout_s;
  auto lost = [&](const char* stage) {
    all(451, "451 4.4.2 lost connection with " + c.peer + " while " + stage);
  };
  // With PIPELINING, everything up to DATA goes in one write; otherwise command by command.
  if (c.caps.pipelining) {
    std::string batch;
    for (auto& s : cmds) batch += s;
    if (!co_await c.send(batch, t)) co_return false;
  }
  size_t accepted = 0;
  std::optional<smtp::Reply> r;
  for (size_t i = 0; i < cmds.size(); ++i) {
    if (!c.caps.pipelining && !co_await c.send(cmds[i], t)) co_return false;
    r = co_await c.read_reply(t);
    if (!r) {
      if (i == 0) co_return false;
      lost(i <= n ? "sending the envelope" : "waiting for the DATA reply");
      co_return true;
    }
    if (i == 0) {
      if (r->code / 100 != 2) {
        all(r->code, one_line(*r));
        if (!c.caps.pipelining) break;
      }
    } else if (i <= n) {
      auto& slot = rep.rcpts[i - 1];
      if (slot.code != 0) continue;  // MAIL already failed
      if (r->code / 100 == 2) ++accepted;
      else slot = {r->code, one_line(*r)};
      if (!c.caps.pipelining && i == n && accepted == 0) break;
    }
  }
  bool data_started = r && cmds.size() == n + 2 && r->code == 354;
  if (!data_started) {
    // MAIL or all RCPTs failed, or DATA refused: accepted recipients get the DATA reply.
    if (r) all(r->code / 100 == 2 || r->code == 354 ? 451 : r->code, one_line(*r));
    if (r && r->code == 354) {
      co_await c.send(".\r\n", t);  // nothing to send to nobody: end the empty data
      co_await c.read_reply(t);
    }
    co_await c.send("RSET\r\n", t);
    if (!co_await c.read_reply(t)) c.broken = true;
    co_return true;
  }
  if (accepted == 0) {
    co_await c.send(".\r\n", t);
    co_await c.read_reply(t);
    co_return true;
  }
  std::string payload;
  payload.reserve(m.body->size() + m.body->size() / 64 + 8);
  smtp::dot_stuff(*m.body, payload);
  if (!co_await c.send(payload, 180)) {
    lost("sending the message");
    co_return true;
  }
  auto fin = co_await c.read_reply(600);  // RFC 5321 §4.5.3.2.6
  if (!fin) {
    lost("waiting for the reply to the end of data");
    co_return true;
  }
  all(fin->code, one_line(*fin));
  co_return true;
}

awaitable<void> SmtpClient::Impl::run(std::shared_ptr<Conn> reused, Destination d, OutboundMessage m,
                                      std::function<void(DeliveryReport)> done) {
  auto self = shared_from_this();
  DeliveryReport rep;
  if (reused) {
    bool ok = co_await transact(*reused, m, rep);
    if (ok && !reused->broken) {
      put_idle(d.key, std::move(reused));
      done(std::move(rep));
      co_return;
    }
    reused->close();
    if (ok) {
      done(std::move(rep));
      co_return;
    }
    rep = {};  // the cached connection had died: try a fresh one
  }
  std::string why;
  auto c = co_await connect(d, why);
  if (!c) {
    rep.rcpts.assign(m.recipients.size(), RcptResult{451, "451 4.4.1 " + why});
    done(std::move(rep));
    co_return;
  }
  bool ok = co_await transact(*c, m, rep);
  if (!ok) {
    rep.rcpts.assign(m.recipients.size(),
                     RcptResult{451, "451 4.4.2 lost connection with " + c->peer + " after MAIL FROM"});
  }
  if (ok && !c->broken && cfg.reuse_s > 0) {
    put_idle(d.key, std::move(c));
  } else {
    if (!c->broken) {
      co_await c->send("QUIT\r\n", 10);
      co_await c->read_reply(10);
    }
    c->close();
  }
  done(std::move(rep));
}

SmtpClient::SmtpClient(EventLoop& loop, ClientConfig cfg)
    : impl_(std::make_shared<Impl>(loop, std::move(cfg))) {}

SmtpClient::~SmtpClient() { close_idle(); }

void SmtpClient::deliver(const Destination& d, OutboundMessage m,
                         std::function<void(DeliveryReport)> done) {
  auto reused = impl_->take_idle(d.key);
  asio::any_io_executor ex = reused ? reused->sock.get_executor()
                                    : asio::any_io_executor(asio::make_strand(impl_->loop.context()));
  asio::co_spawn(ex, impl_->run(std::move(reused), d, std::move(m), std::move(done)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& err) {
                     log::error("delivery.crashed", JsonLine().add("error", err.what()));
                   }
                 });
}

void SmtpClient::close_idle() {
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> all;
  {
    std::lock_guard lk(impl_->mu);
    all.swap(impl_->idle);
  }
  for (auto& [k, v] : all) {
    (void)k;
    for (auto& c : v) {
      int idle = Idle;
      if (c->state.compare_exchange_strong(idle, Busy)) {
        asio::post(c->sock.get_executor(), [c] { c->close(); });
      }
    }
  }
}

}  // namespace mm::net
