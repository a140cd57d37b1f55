#include "dns/resolver.h"

#include <arpa/inet.h>
#include <ares.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "net/event_loop.h"

namespace asio = boost::asio;

namespace mm::dns {

const char* to_string(Type t) {
  switch (t) {
    case Type::A: return "A";
    case Type::AAAA: return "AAAA";
    case Type::MX: return "MX";
    case Type::TXT: return "TXT";
    case Type::PTR: return "PTR";
    case Type::CNAME: return "CNAME";
  }
  return "?";
}

const char* to_string(Rcode r) {
  switch (r) {
    case Rcode::Ok: return "ok";
    case Rcode::NxDomain: return "nxdomain";
    case Rcode::NoData: return "nodata";
    case Rcode::TempError: return "temperror";
  }
  return "?";
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string normalize(const std::string& name) {
  std::string n = lower(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

// A minimal reader of a DNS response (c-ares gives the raw message; its parse_* helpers drop TTLs).
class Reader {
 public:
  Reader(const unsigned char* buf, int len) : buf_(buf), len_(len) {}
  bool u16(size_t& pos, uint16_t& v) const {
    if (pos + 2 > size_t(len_)) return false;
    v = static_cast<uint16_t>(buf_[pos] << 8 | buf_[pos + 1]);
    pos += 2;
    return true;
  }
  bool u32(size_t& pos, uint32_t& v) const {
    if (pos + 4 > size_t(len_)) return false;
    v = uint32_t(buf_[pos]) << 24 | uint32_t(buf_[pos + 1]) << 16 | uint32_t(buf_[pos + 2]) << 8 | buf_[pos + 3];
    pos += 4;
    return true;
  }
  bool name(size_t& pos, std::string& out) const {
    if (pos >= size_t(len_)) return false;
    char* s = nullptr;
    long enc = 0;
    if (ares_expand_name(buf_ + pos, buf_, len_, &s, &enc) != ARES_SUCCESS) return false;
    out = normalize(s);
    ares_free_string(s);
    pos += size_t(enc);
    return true;
  }
  const unsigned char* at(size_t pos) const { return buf_ + pos; }
  size_t size() const { return size_t(len_); }

 private:
  const unsigned char* buf_;
  int len_;
};

struct Rr {
  std::string owner;
  uint16_t type = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;
  uint16_t rdlen = 0;
};

// Parses the answer (and, for negative answers, the SOA in the authority section).
// Returns false on a malformed message.
bool parse_message(const Reader& r, std::vector<Rr>& answers, std::vector<Rr>& authority) {
  size_t pos = 4;
  uint16_t qd, an, ns, ar;
  if (!r.u16(pos, qd) || !r.u16(pos, an) || !r.u16(pos, ns) || !r.u16(pos, ar)) return false;
  for (int i = 0; i < qd; ++i) {
    std::string n;
    if (!r.name(pos, n)) return false;
    pos += 4;
  }
  for (int sec = 0; sec < 2; ++sec) {
    int count = sec == 0 ? an : ns;
    for (int i = 0; i < count; ++i) {
      Rr rr;
      uint16_t cls;
      if (!r.name(pos, rr.owner) || !r.u16(pos, rr.type) || !r.u16(pos, cls) || !r.u32(pos, rr.ttl) ||
          !r.u16(pos, rr.rdlen))
        return false;
      rr.rdata = pos;
      pos += rr.rdlen;
      if (pos > r.size()) return false;
      (sec == 0 ? answers : authority).push_back(std::move(rr));
    }
  }
  return true;
}

uint32_t negative_ttl(const Reader& r, const std::vector<Rr>& authority, uint32_t cap) {
  for (auto& rr : authority) {
    if (rr.type != 6) continue;  // SOA
    size_t p = rr.rdata;
    std::string mname, rname;
    uint32_t serial, refresh, retry, expire, minimum;
    if (!r.name(p, mname) || !r.name(p, rname) || !r.u32(p, serial) || !r.u32(p, refresh) ||
        !r.u32(p, retry) || !r.u32(p, expire) || !r.u32(p, minimum))
      break;
    return std::min({rr.ttl, minimum, cap});
  }
  return cap;
}

// Fills `a` from a successful response. Sets *cname_target when the chain ends without data.
void extract(const Reader& r, const std::string& qname, Type type, const std::vector<Rr>& answers,
             Answer& a, std::string* cname_target) {
  std::string cur = qname;
  uint32_t ttl = UINT32_MAX;
  if (type != Type::CNAME) {
    for (int hop = 0; hop < 16; ++hop) {
      auto it = std::find_if(answers.begin(), answers.end(),
                             [&](const Rr& rr) { return rr.type == 5 && rr.owner == cur; });
      if (it == answers.end()) break;
      size_t p = it->rdata;
      std::string target;
      if (!r.name(p, target)) break;
      ttl = std::min(ttl, it->ttl);
      cur = target;
    }
  }
  std::vector<std::pair<uint16_t, std::string>> mx;
  for (auto& rr : answers) {
    if (rr.type != uint16_t(type) || rr.owner != cur) continue;
    size_t p = rr.rdata;
    std::string v;
    switch (type) {
      case Type::A:
      case Type::AAAA: {
        char buf[INET6_ADDRSTRLEN];
        size_t want = type == Type::A ? 4 : 16;
        if (rr.rdlen != want) continue;
        if (!inet_ntop(type == Type::A ? AF_INET : AF_INET6, r.at(p), buf, sizeof buf)) continue;
        v = buf;
        break;
      }
      case Type::MX: {
        uint16_t pref;
        if (!r.u16(p, pref) || !r.name(p, v)) continue;
        mx.push_back({pref, v});
        ttl = std::min(ttl, rr.ttl);
        continue;
      }
      case Type::TXT: {
        size_t end = rr.rdata + rr.rdlen;
        while (p < end) {
          size_t n = *r.at(p);
          ++p;
          if (p + n > end) break;
          v.append(reinterpret_cast<const char*>(r.at(p)), n);
          p += n;
        }
        break;
      }
      case Type::PTR:
      case Type::CNAME:
        if (!r.name(p, v)) continue;
        break;
    }
    ttl = std::min(ttl, rr.ttl);
    a.records.push_back(std::move(v));
  }
  if (!mx.empty()) {
    std::stable_sort(mx.begin(), mx.end(), [](auto& x, auto& y) { return x.first < y.first; });
    for (auto& [pref, host] : mx) {
      a.mx_pref.push_back(pref);
      a.records.push_back(host);
    }
  }
  if (a.records.empty()) {
    a.rcode = Rcode::NoData;
    if (cur != qname && cname_target) *cname_target = cur;
  } else {
    a.rcode = Rcode::Ok;
  }
  a.ttl = ttl == UINT32_MAX ? 0 : ttl;
}

std::once_flag g_ares_init;

}  // namespace

struct AresResolver::Impl : std::enable_shared_from_this<Impl> {
  struct Sock {
    std::unique_ptr<asio::posix::stream_descriptor> desc;
    bool want_read = false, want_write = false, reading = false, writing = false, closed = false;
  };
  struct Pending {
    std::shared_ptr<Impl> self;
    std::string key, name;
    Type type;
    int depth = 0;
  };
  struct Entry {
    Answer answer;
    std::chrono::steady_clock::time_point expires;
  };

  Impl(asio::io_context& c, ResolverOptions o) : ctx(c), strand(asio::make_strand(c)), timer(c), opt(std::move(o)) {}

  asio::io_context& ctx;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  ResolverOptions opt;
  ares_channel ch = nullptr;
  std::map<int, std::shared_ptr<Sock>> socks;  // strand only
  bool closing = false;                         // strand only

  mutable std::mutex mu;  // cache, inflight, stats
  std::unordered_map<std::string, Entry> cache;
  std::unordered_map<std::string, std::vector<Callback>> inflight;
  ResolverStats st;

  static void sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->on_sock_state(fd, readable != 0, writable != 0);
  }

  void on_sock_state(int fd, bool r, bool w) {
    auto it = socks.find(fd);
    if (!r && !w) {
      if (it != socks.end()) {
        it->second->closed = true;
        boost::system::error_code ec;
        it->second->desc->cancel(ec);
        it->second->desc->release();  // c-ares owns and closes the descriptor
        socks.erase(it);
      }
      return;
    }
    if (it == socks.end()) {
      auto s = std::make_shared<Sock>();
      s->desc = std::make_unique<asio::posix::stream_descriptor>(ctx, fd);
      it = socks.emplace(fd, std::move(s)).first;
    }
    it->second->want_read = r;
    it->second->want_write = w;
    arm(fd, it->second);
  }

  void arm(int fd, const std::shared_ptr<Sock>& s) {
    auto self = shared_from_this();
    if (s->want_read && !s->reading) {
      s->reading = true;
      s->desc->async_wait(asio::posix::stream_descriptor::wait_read,
                          asio::bind_executor(strand, [self, fd, s](const boost::system::error_code& ec) {
                            s->reading = false;
                            if (ec || s->closed || self->closing) return;
                            ares_process_fd(self->ch, fd, ARES_SOCKET_BAD);
                            if (!s->closed) self->arm(fd, s);
                            self->update_timer();
                          }));
    }
    if (s->want_write && !s->writing) {
      s->writing = true;
      s->desc->async_wait(asio::posix::stream_descriptor::wait_write,
                          asio::bind_executor(strand, [self, fd, s](const boost::system::error_code& ec) {
                            s->writing = false;
                            if (ec || s->closed || self->closing) return;
                            ares_process_fd(self->ch, ARES_SOCKET_BAD, fd);
                            if (!s->closed) self->arm(fd, s);
                            self->update_timer();
                          }));
    }
  }

  void update_timer() {
    timeval tv{};
    if (!ares_timeout(ch, nullptr, &tv)) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    auto self = shared_from_this();
    timer.async_wait(asio::bind_executor(strand, [self](const boost::system::error_code& ec) {
      if (ec || self->closing) return;
      ares_process_fd(self->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->update_timer();
    }));
  }

  void start(const std::string& key, const std::string& name, Type type, int depth) {
    if (closing) {
      Answer a;
      a.error = "resolver shut down";
      finish(key, a);
      return;
    }
    {
      std::lock_guard lk(mu);
      ++st.sent;
    }
    auto* p = new Pending{shared_from_this(), key, name, type, depth};
    ares_query(ch, name.c_str(), 1 /* C_IN */, static_cast<int>(type), &Impl::on_answer, p);
    update_timer();
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
    if (status == ARES_EDESTRUCTION) return;  // the resolver is being destroyed
    Impl& self = *p->self;
    Answer a;
    std::string cname_target;
    std::vector<Rr> answers, authority;
    Reader r(abuf, alen);
    bool parsed = abuf && alen > 12 && parse_message(r, answers, authority);
    switch (status) {
      case ARES_SUCCESS:
        if (!parsed) {
          a.error = "malformed response";
          break;
        }
        extract(r, normalize(p->name), p->type, answers, a, &cname_target);
        if (a.rcode == Rcode::NoData) a.ttl = negative_ttl(r, authority, self.opt.negative_ttl_s);
        break;
      case ARES_ENODATA:
        a.rcode = Rcode::NoData;
        if (parsed) {
          // NOERROR without data may still carry a CNAME chain to a name to ask again.
          extract(r, normalize(p->name), p->type, answers, a, &cname_target);
          a.rcode = Rcode::NoData;
        }
        a.ttl = parsed ? negative_ttl(r, authority, self.opt.negative_ttl_s) : self.opt.negative_ttl_s;
        break;
      case ARES_ENOTFOUND:
        a.rcode = Rcode::NxDomain;
        a.ttl = parsed ? negative_ttl(r, authority, self.opt.negative_ttl_s) : self.opt.negative_ttl_s;
        break;
      case ARES_EBADNAME:
        a.rcode = Rcode::NxDomain;  // a name that cannot exist
        a.error = "malformed name";
        a.ttl = 0;
        break;
      default:
        a.rcode = Rcode::TempError;
        a.error = status == ARES_ESERVFAIL ? "SERVFAIL" : status == ARES_EREFUSED ? "REFUSED" : ares_strerror(status);
    }
    if (!cname_target.empty() && p->depth < 8) {
      self.start(p->key, cname_target, p->type, p->depth + 1);
      return;
    }
    a.ttl = std::min(a.ttl, self.opt.max_ttl_s);
    self.finish(p->key, a);
  }

  void finish(const std::string& key, const Answer& a) {
    std::vector<Callback> cbs;
    {
      std::lock_guard lk(mu);
      if (a.rcode == Rcode::TempError) ++st.temp_errors;
      if (a.rcode != Rcode::TempError && a.ttl > 0 && opt.cache_entries > 0) {
        auto now = std::chrono::steady_clock::now();
        if (cache.size() >= opt.cache_entries) {
          for (auto it = cache.begin(); it != cache.end();) it = it->second.expires <= now ? cache.erase(it) : std::next(it);
          if (cache.size() >= opt.cache_entries) cache.clear();
        }
        cache[key] = {a, now + std::chrono::seconds(a.ttl)};
      }
      auto it = inflight.find(key);
      if (it != inflight.end()) {
        cbs = std::move(it->second);
        inflight.erase(it);
      }
    }
    for (auto& cb : cbs) cb(a);
  }

  void query(const std::string& name, Type type, Callback cb) {
    std::string n = normalize(name);
    std::string key = n + "/" + to_string(type);
    {
      std::unique_lock lk(mu);
      ++st.queries;
      auto c = cache.find(key);
      if (c != cache.end()) {
        auto now = std::chrono::steady_clock::now();
        if (c->second.expires > now) {
          ++st.cache_hits;
          Answer a = c->second.answer;
          a.from_cache = true;
          a.ttl = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(c->second.expires - now).count());
          lk.unlock();
          cb(a);
          return;
        }
        cache.erase(c);
      }
      auto [it, fresh] = inflight.try_emplace(key);
      it->second.push_back(std::move(cb));
      if (!fresh) {
        ++st.coalesced;
        return;
      }
    }
    if (n.empty() || n.size() > 253) {
      Answer a;
      a.rcode = Rcode::NxDomain;
      a.error = "malformed name";
      finish(key, a);
      return;
    }
    asio::post(strand, [self = shared_from_this(), key, n, type] { self->start(key, n, type, 0); });
  }
};

AresResolver::AresResolver(std::shared_ptr<Impl> i) : impl_(std::move(i)) {}

std::shared_ptr<AresResolver> AresResolver::create(net::EventLoop& loop, ResolverOptions opt, std::string* error) {
  std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto impl = std::make_shared<Impl>(loop.context(), opt);
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
  o.sock_state_cb = &Impl::sock_state;
  o.sock_state_cb_data = impl.get();
  o.timeout = opt.timeout_ms;
  o.tries = opt.tries;
  o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
  o.ednspsz = 1232;
  int rc = ares_init_options(&impl->ch, &o, mask);
  if (rc != ARES_SUCCESS) {
    if (error) *error = std::string("c-ares init: ") + ares_strerror(rc);
    return nullptr;
  }
  if (!opt.servers.empty()) {
    rc = ares_set_servers_ports_csv(impl->ch, opt.servers.c_str());
    if (rc != ARES_SUCCESS) {
      if (error) *error = "DNS servers '" + opt.servers + "': " + ares_strerror(rc);
      ares_destroy(impl->ch);
      impl->ch = nullptr;
      return nullptr;
    }
  }
  return std::make_shared<AresResolver>(std::move(impl));
}

AresResolver::~AresResolver() {
  // The loop is not running any more (or never ran): tear down directly.
  impl_->closing = true;
  boost::system::error_code ec;
  impl_->timer.cancel();
  for (auto& [fd, s] : impl_->socks) {
    s->closed = true;
    s->desc->cancel(ec);
    s->desc->release();
  }
  impl_->socks.clear();
  if (impl_->ch) ares_destroy(impl_->ch);
  impl_->ch = nullptr;
}

void AresResolver::query(const std::string& name, Type type, Callback cb) { impl_->query(name, type, std::move(cb)); }

ResolverStats AresResolver::stats() const {
  std::lock_guard lk(impl_->mu);
  return impl_->st;
}

void AresResolver::clear_cache() {
  std::lock_guard lk(impl_->mu);
  impl_->cache.clear();
}

void AresResolver::shutdown() {
  asio::post(impl_->strand, [impl = impl_] {
    impl->closing = true;
    if (impl->ch) ares_cancel(impl->ch);
    impl->timer.cancel();
  });
}

Answer resolve_blocking(Resolver& r, const std::string& name, Type type, std::chrono::steady_clock::time_point deadline) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Answer a;
  };
  auto s = std::make_shared<State>();
  r.query(name, type, [s](const Answer& a) {
    std::lock_guard lk(s->mu);
    s->a = a;
    s->done = true;
    s->cv.notify_all();
  });
  std::unique_lock lk(s->mu);
  if (!s->cv.wait_until(lk, deadline, [&] { return s->done; })) {
    Answer a;
    a.error = "deadline";
    return a;
  }
  return s->a;
}

std::string reverse_name(const std::string& ip) {
  unsigned char b[16];
  char buf[80];
  std::string out;
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    return buf;
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    static const char* hex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += hex[b[i] & 15];
      out += '.';
      out += hex[b[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return "";
}

std::string list_query_name(const std::string& ip, const std::string& zone) {
  std::string r = reverse_name(ip);
  if (r.empty()) return r;
  auto dot = r.rfind(".in-addr.arpa");
  if (dot == std::string::npos) dot = r.rfind(".ip6.arpa");
  return r.substr(0, dot) + "." + normalize(zone);
}

}  // namespace mm::dns
