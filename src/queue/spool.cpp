#include "queue/spool.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "queue/crc32c.h"
#include "util/clock.h"

namespace fs = std::filesystem;

namespace mm::queue {
namespace {

// ---------------------------------------------------------------------------------------
// Record framing
constexpr unsigned char kMagic[4] = {0xC5, 'M', 'Q', 0x01};
constexpr size_t kHeader = 13;  // magic(4) type(1) len(4) crc(4)
constexpr uint32_t kMaxPayload = 1u << 31;
enum RecType : uint8_t { kMessage = 1, kState = 2, kRemove = 3 };
constexpr uint8_t kMetaVersion = 1;

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

void put_u32(std::string& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_str(std::string& o, std::string_view s) {
  put_u32(o, static_cast<uint32_t>(s.size()));
  o.append(s);
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  bool need(size_t n) {
    if (!ok || static_cast<size_t>(end - p) < n) ok = false;
    return ok;
  }
  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(*p++);
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = get_u32(p);
    p += 4;
    return v;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    p += 8;
    return v;
  }
  std::string str() {
    uint32_t n = u32();
    if (!need(n)) return {};
    std::string s(p, n);
    p += n;
    return s;
  }
};

void encode_meta(std::string& o, const MessageMeta& m) {
  o.push_back(static_cast<char>(kMetaVersion));
  put_str(o, m.id);
  put_str(o, m.sender);
  put_u32(o, static_cast<uint32_t>(m.recipients.size()));
  for (const auto& r : m.recipients) {
    put_str(o, r.address);
    o.push_back(static_cast<char>(r.status));
    put_str(o, r.last_reply);
  }
  put_str(o, m.client_ip);
  put_str(o, m.helo);
  put_str(o, m.tenant);
  uint8_t flags = (m.smtputf8 ? 1 : 0) | (m.eightbit ? 2 : 0) | (m.is_dsn ? 4 : 0) | (m.held ? 8 : 0) |
                  (m.scan_pending ? 16 : 0);
  o.push_back(static_cast<char>(flags));
  put_u64(o, static_cast<uint64_t>(m.arrival_s));
  put_u64(o, static_cast<uint64_t>(m.next_attempt_s));
  put_u32(o, m.attempts);
  put_str(o, m.last_error);
  put_u64(o, m.size);
}

bool decode_meta(Reader& r, MessageMeta& m) {
  if (r.u8() != kMetaVersion) return false;
  m.id = r.str();
  m.sender = r.str();
  uint32_t n = r.u32();
  if (!r.ok || n > static_cast<size_t>(r.end - r.p)) return false;  // each needs >= 9 bytes
  m.recipients.clear();
  m.recipients.reserve(n);
  for (uint32_t i = 0; i < n && r.ok; ++i) {
    Recipient rc;
    rc.address = r.str();
    uint8_t st = r.u8();
    if (st > static_cast<uint8_t>(RcptStatus::Failed)) return false;
    rc.status = static_cast<RcptStatus>(st);
    rc.last_reply = r.str();
    m.recipients.push_back(std::move(rc));
  }
  m.client_ip = r.str();
  m.helo = r.str();
  m.tenant = r.str();
  uint8_t flags = r.u8();
  m.smtputf8 = flags & 1;
  m.eightbit = flags & 2;
  m.is_dsn = flags & 4;
  m.held = flags & 8;
  m.scan_pending = flags & 16;
  m.arrival_s = static_cast<int64_t>(r.u64());
  m.next_attempt_s = static_cast<int64_t>(r.u64());
  m.attempts = r.u32();
  m.last_error = r.str();
  m.size = r.u64();
  return r.ok && !m.id.empty();
}

// Fills the 13-byte header at the start of `head` (which already has room for it) given the
// payload = head[kHeader:] + tail.
void seal_record(std::string& head, uint8_t type, std::string_view tail) {
  uint32_t len = static_cast<uint32_t>(head.size() - kHeader + tail.size());
  uint32_t crc = crc32c(0, &type, 1);
  crc = crc32c(crc, head.data() + kHeader, head.size() - kHeader);
  crc = crc32c(crc, tail.data(), tail.size());
  std::memcpy(head.data(), kMagic, 4);
  head[4] = static_cast<char>(type);
  for (int i = 0; i < 4; ++i) head[5 + i] = static_cast<char>((len >> (8 * i)) & 0xFF);
  for (int i = 0; i < 4; ++i) head[9 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

std::string seg_name(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "seg-%016llx.log", static_cast<unsigned long long>(seq));
  return buf;
}

std::optional<uint64_t> parse_seg_name(const std::string& name) {
  if (name.size() != 4 + 16 + 4 || name.compare(0, 4, "seg-") != 0 ||
      name.compare(20, 4, ".log") != 0)
    return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 4; i < 20; ++i) {
    char c = name[i];
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

Status pwrite_all(int fd, std::vector<iovec> iov, uint64_t off) {
  size_t idx = 0;
  while (idx < iov.size() && iov[idx].iov_len == 0) ++idx;
  while (idx < iov.size()) {
    int cnt = static_cast<int>(std::min<size_t>(iov.size() - idx, IOV_MAX));
    ssize_t n = ::pwritev(fd, &iov[idx], cnt, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::error(errno_text("spool write", errno));
    }
    off += static_cast<uint64_t>(n);
    auto left = static_cast<size_t>(n);
    while (idx < iov.size() && left >= iov[idx].iov_len) left -= iov[idx++].iov_len;
    if (left > 0) {
      iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + left;
      iov[idx].iov_len -= left;
    }
    while (idx < iov.size() && iov[idx].iov_len == 0) ++idx;
  }
  return Status::ok();
}

Status pread_all(int fd, char* dst, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, dst, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::error(errno_text("spool read", errno));
    }
    if (r == 0) return Status::error("spool read: unexpected end of segment");
    dst += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::ok();
}

struct File {
  int fd = -1;
  explicit File(int f) : fd(f) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
};

}  // namespace

// ---------------------------------------------------------------------------------------
struct Spool::Impl {
  struct Entry {
    MessageMeta meta;
    uint64_t body_seg = 0, body_off = 0;  // where the body of the latest MESSAGE record is
    uint64_t state_seg = 0;               // segment of the record holding the latest state
    std::vector<uint64_t> msg_segs;       // segments that hold a MESSAGE record of this id
  };
  // A REMOVE record must outlive every older segment still holding a MESSAGE record of the
  // id, or recovery would resurrect the message: it pins its segment until `deps` are gone.
  struct Tomb {
    uint64_t seg = 0;
    std::vector<uint64_t> deps;
  };
  struct Seg {
    std::shared_ptr<File> file;
    uint64_t size = 0;
    int64_t last_write_s = 0;
    uint32_t refs = 0;  // live entries (body + state) and pinned tombstones
    std::vector<std::string> tomb_dependents;
  };
  enum class OpKind { Submit, Update, Remove, Relocate, Barrier };
  struct Op {
    OpKind kind;
    MessageMeta meta;  // Submit, Update
    std::string body;  // Submit, Relocate
    std::string id;    // Remove, Relocate
    std::string reason;
    Done done;
  };

  fs::path dir;
  SpoolOptions opt;
  int lock_fd = -1;
  int dir_fd = -1;

  // Index: mutated only by the writer thread (or open()), always under `mu`.
  mutable std::mutex mu;
  std::map<uint64_t, Seg> segs;
  uint64_t active = 0;
  std::unordered_map<std::string, Entry> index;
  std::unordered_map<std::string, Tomb> tombs;
  Stats st;

  // Submission queue.
  std::mutex qmu;
  std::condition_variable qcv;
  std::vector<Op> queue;
  bool stopping = false;
  std::thread writer;
  Status broken;  // writer thread only: sticky after a failed fdatasync

  ~Impl() {
    if (dir_fd >= 0) ::close(dir_fd);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  void enqueue(Op op) {
    {
      std::lock_guard lk(qmu);
      queue.push_back(std::move(op));
    }
    qcv.notify_one();
  }

  Status sync_dir() {
    if (!opt.fsync) return Status::ok();
    if (::fsync(dir_fd) != 0) return Status::error(errno_text("spool fsync(dir)", errno));
    return Status::ok();
  }

  // --- index maintenance (caller holds mu, or is open() before the writer starts) ---
  void ref(uint64_t s, int d) {
    auto it = segs.find(s);
    if (it != segs.end()) it->second.refs = static_cast<uint32_t>(int64_t(it->second.refs) + d);
  }
  void add_refs(const Entry& e) {
    ref(e.body_seg, +1);
    ref(e.state_seg, +1);
  }
  void drop_refs(const Entry& e) {
    ref(e.body_seg, -1);
    ref(e.state_seg, -1);
  }
  void drop_tomb(const std::string& id) {
    auto t = tombs.find(id);
    if (t == tombs.end()) return;
    ref(t->second.seg, -1);
    tombs.erase(t);
  }
  void apply_message(MessageMeta m, uint64_t seg, uint64_t body_off) {
    drop_tomb(m.id);
    auto it = index.find(m.id);
    if (it == index.end()) {
      Entry e;
      e.msg_segs.push_back(seg);
      it = index.emplace(m.id, std::move(e)).first;
    } else {
      drop_refs(it->second);
      if (it->second.msg_segs.back() != seg) it->second.msg_segs.push_back(seg);
    }
    Entry& e = it->second;
    e.meta = std::move(m);
    e.body_seg = e.state_seg = seg;
    e.body_off = body_off;
    add_refs(e);
  }
  bool apply_state(MessageMeta m, uint64_t seg) {
    auto it = index.find(m.id);
    if (it == index.end()) return false;
    Entry& e = it->second;
    drop_refs(e);
    m.size = e.meta.size;
    e.meta = std::move(m);
    e.state_seg = seg;
    add_refs(e);
    return true;
  }
  void apply_remove(const std::string& id, uint64_t seg) {
    auto it = index.find(id);
    if (it == index.end()) return;
    drop_refs(it->second);
    Tomb t{seg, {}};
    for (uint64_t s : it->second.msg_segs)
      if (s != seg && segs.count(s)) t.deps.push_back(s);
    index.erase(it);
    if (t.deps.empty()) return;
    for (uint64_t s : t.deps) segs[s].tomb_dependents.push_back(id);
    ref(seg, +1);
    tombs[id] = std::move(t);
  }

  // Deletes every non-active segment nothing refers to; a deletion is made durable before
  // the tombstones that depended on it are released (which may free further segments).
  void collect_garbage() {
    for (;;) {
      std::vector<std::pair<uint64_t, std::vector<std::string>>> victims;
      {
        std::lock_guard lk(mu);
        for (auto it = segs.begin(); it != segs.end();) {
          if (it->second.refs == 0 && it->first != active) {
            victims.emplace_back(it->first, std::move(it->second.tomb_dependents));
            it = segs.erase(it);
          } else {
            ++it;
          }
        }
      }
      if (victims.empty()) return;
      for (auto& v : victims) ::unlink((dir / seg_name(v.first)).c_str());
      (void)sync_dir();
      std::lock_guard lk(mu);
      for (auto& [seq, ids] : victims) {
        for (const auto& id : ids) {
          auto t = tombs.find(id);
          if (t == tombs.end()) continue;
          std::erase(t->second.deps, seq);
          if (t->second.deps.empty()) drop_tomb(id);
        }
      }
    }
  }

  Status create_segment(uint64_t seq) {
    int fd = ::open((dir / seg_name(seq)).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Status::error(errno_text("spool: create " + seg_name(seq), errno));
    auto file = std::make_shared<File>(fd);
    if (auto s = sync_dir(); !s) return s;
    std::lock_guard lk(mu);
    Seg sg;
    sg.file = std::move(file);
    sg.last_write_s = now_s();
    segs[seq] = std::move(sg);
    active = seq;
    return Status::ok();
  }

  // --- recovery ---
  void replay_segment(uint64_t seq, bool is_last, std::vector<std::string>* warnings);

  // --- writer ---
  void writer_loop();
  void process(std::vector<Op>& ops);
};

void Spool::Impl::replay_segment(uint64_t seq, bool is_last, std::vector<std::string>* warnings) {
  auto warn = [&](const std::string& w) {
    if (warnings) warnings->push_back(seg_name(seq) + ": " + w);
  };
  Seg& sg = segs[seq];
  int fd = sg.file->fd;
  struct stat stbuf {};
  if (::fstat(fd, &stbuf) != 0) {
    warn(errno_text("fstat", errno));
    return;
  }
  sg.last_write_s = stbuf.st_mtime;
  std::string buf(static_cast<size_t>(stbuf.st_size), '\0');
  if (auto s = pread_all(fd, buf.data(), buf.size(), 0); !s) {
    warn(s.message());
    return;
  }
  const size_t n = buf.size();
  const char* base = buf.data();
  std::string_view magic(reinterpret_cast<const char*>(kMagic), 4);
  size_t off = 0;
  int64_t bad_start = -1;
  while (off < n) {
    // Try to parse a record at `off`.
    bool valid = false;
    size_t rec_len = 0;
    if (n - off >= kHeader && std::memcmp(base + off, kMagic, 4) == 0) {
      uint8_t type = static_cast<uint8_t>(base[off + 4]);
      uint32_t len = get_u32(base + off + 5);
      uint32_t crc = get_u32(base + off + 9);
      if (type >= kMessage && type <= kRemove && len <= n - off - kHeader) {
        const char* pl = base + off + kHeader;
        uint32_t c = crc32c(0, &type, 1);
        c = crc32c(c, pl, len);
        if (c == crc) {
          valid = true;
          rec_len = kHeader + len;
          Reader r{pl, pl + len};
          bool decoded = false;
          if (type == kMessage) {
            uint32_t meta_len = r.u32();
            if (r.ok && meta_len <= len - 4) {
              Reader mr{r.p, r.p + meta_len};
              MessageMeta m;
              if (decode_meta(mr, m) && mr.p == mr.end) {
                uint64_t body_off = off + kHeader + 4 + meta_len;
                m.size = len - 4 - meta_len;
                apply_message(std::move(m), seq, body_off);
                decoded = true;
              }
            }
          } else if (type == kState) {
            MessageMeta m;
            if (decode_meta(r, m)) {
              apply_state(std::move(m), seq);  // unknown id: message already gone, ignore
              decoded = true;
            }
          } else {
            std::string id = r.str();
            std::string reason = r.str();
            if (r.ok) {
              apply_remove(id, seq);
              decoded = true;
            }
          }
          if (!decoded) {
            warn("undecodable record (type " + std::to_string(type) + ") at offset " +
                 std::to_string(off) + " skipped");
          }
        }
      }
    }
    if (valid) {
      if (bad_start >= 0) {
        warn("corrupt data at offsets " + std::to_string(bad_start) + ".." + std::to_string(off) +
             " skipped (" + std::to_string(off - static_cast<size_t>(bad_start)) + " bytes)");
        bad_start = -1;
      }
      off += rec_len;
      continue;
    }
    if (bad_start < 0) bad_start = static_cast<int64_t>(off);
    auto next = std::string_view(base, n).find(magic, off + 1);
    off = next == std::string_view::npos ? n : next;
  }
  if (bad_start >= 0) {
    auto from = static_cast<uint64_t>(bad_start);
    if (is_last) {
      // The tail of a write that was never acknowledged: cut it off so appends stay clean.
      if (::ftruncate(fd, static_cast<off_t>(from)) == 0) {
        if (opt.fsync) (void)::fdatasync(fd);
        warn("truncated torn record at end (" + std::to_string(n - from) + " bytes at offset " +
             std::to_string(from) + ")");
        sg.size = from;
        return;
      }
      warn(errno_text("ftruncate of torn tail failed", errno));
    } else {
      warn("corrupt trailing data at offsets " + std::to_string(from) + ".." + std::to_string(n) +
           " ignored");
    }
  }
  sg.size = n;
}

void Spool::Impl::writer_loop() {
  for (;;) {
    std::vector<Op> batch;
    {
      std::unique_lock lk(qmu);
      qcv.wait(lk, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping and drained
      if (opt.max_batch_delay_us > 0 && !stopping)
        qcv.wait_for(lk, std::chrono::microseconds(opt.max_batch_delay_us), [&] { return stopping; });
      batch.swap(queue);
    }
    process(batch);
  }
}

void Spool::Impl::process(std::vector<Op>& ops) {
  struct Rec {
    size_t op;
    uint8_t type;
    std::string head;  // header + payload prefix (everything but the body)
    const std::string* body = nullptr;
    MessageMeta meta;  // Message / State
    std::string id;    // Remove
    uint64_t seg = 0, off = 0;
    size_t total() const { return head.size() + (body ? body->size() : 0); }
  };
  std::vector<Status> status(ops.size());
  std::vector<Rec> recs;
  recs.reserve(ops.size());

  // Validate against the index plus the effects of earlier ops of this batch.
  std::unordered_map<std::string, std::optional<MessageMeta>> overlay;
  auto current = [&](const std::string& id) -> const MessageMeta* {
    if (auto it = overlay.find(id); it != overlay.end()) return it->second ? &*it->second : nullptr;
    if (auto it = index.find(id); it != index.end()) return &it->second.meta;  // writer: no lock
    return nullptr;
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    if (op.kind == OpKind::Barrier) continue;
    if (!broken.is_ok()) {
      status[i] = broken;
      continue;
    }
    Rec r;
    r.op = i;
    r.head.assign(kHeader, '\0');
    switch (op.kind) {
      case OpKind::Submit: {
        if (op.meta.id.empty()) {
          status[i] = Status::error("spool: message without id");
          continue;
        }
        if (current(op.meta.id)) {
          status[i] = Status::error("spool: duplicate message id " + op.meta.id);
          continue;
        }
        op.meta.size = op.body.size();
        r.meta = op.meta;
        [[fallthrough]];
      }
      case OpKind::Relocate: {
        if (op.kind == OpKind::Relocate) {
          const MessageMeta* cur = current(op.id);
          if (!cur) continue;  // removed meanwhile: nothing to move
          if (cur->size != op.body.size()) {
            status[i] = Status::error("spool: relocate size mismatch for " + op.id);
            continue;
          }
          r.meta = *cur;
        }
        r.type = kMessage;
        std::string meta_bytes;
        encode_meta(meta_bytes, r.meta);
        put_u32(r.head, static_cast<uint32_t>(meta_bytes.size()));
        r.head += meta_bytes;
        r.body = &op.body;
        break;
      }
      case OpKind::Update: {
        const MessageMeta* cur = current(op.meta.id);
        if (!cur) {
          status[i] = Status::error("spool: update of unknown message " + op.meta.id);
          continue;
        }
        r.meta = op.meta;
        r.meta.size = cur->size;
        r.type = kState;
        encode_meta(r.head, r.meta);
        break;
      }
      case OpKind::Remove: {
        if (!current(op.id)) {
          status[i] = Status::error("spool: remove of unknown message " + op.id);
          continue;
        }
        r.type = kRemove;
        r.id = op.id;
        put_str(r.head, op.id);
        put_str(r.head, op.reason);
        break;
      }
      case OpKind::Barrier:
        break;
    }
    if (r.total() - kHeader >= kMaxPayload) {
      status[i] = Status::error("spool: record too large");
      continue;
    }
    seal_record(r.head, r.type, r.body ? std::string_view(*r.body) : std::string_view());
    if (r.type == kRemove)
      overlay[r.id] = std::nullopt;
    else
      overlay[r.meta.id] = r.meta;
    recs.push_back(std::move(r));
  }

  // Write in chunks, one per segment touched (normally one), each followed by fdatasync.
  size_t committed = 0;  // recs[0, committed) are durable
  uint64_t fsyncs = 0, bytes = 0;
  Status failure;
  while (committed < recs.size()) {
    Seg* sg = &segs.at(active);  // writer thread: segs only changes here
    if (sg->size > 0 && sg->size + recs[committed].total() > opt.segment_bytes) {
      if (auto s = create_segment(active + 1); !s) {
        failure = s;
        break;
      }
      sg = &segs.at(active);
    }
    uint64_t base = sg->size, end = base;
    size_t j = committed;
    std::vector<iovec> iov;
    while (j < recs.size() && (j == committed || end + recs[j].total() <= opt.segment_bytes)) {
      Rec& r = recs[j];
      r.seg = active;
      r.off = end;
      iov.push_back({r.head.data(), r.head.size()});
      if (r.body && !r.body->empty())
        iov.push_back({const_cast<char*>(r.body->data()), r.body->size()});
      end += r.total();
      ++j;
    }
    int fd = sg->file->fd;
    Status s = pwrite_all(fd, std::move(iov), base);
    if (!s) {
      if (::ftruncate(fd, static_cast<off_t>(base)) != 0) broken = s;  // can't undo: stop
      failure = s;
      break;
    }
    if (opt.fsync) {
      ++fsyncs;
      if (::fdatasync(fd) != 0) {
        // After a failed fdatasync the page cache state is unknown: refuse further writes.
        failure = broken = Status::error(errno_text("spool fdatasync", errno));
        break;
      }
    }
    bytes += end - base;
    {
      std::lock_guard lk(mu);
      sg->size = end;
      sg->last_write_s = now_s();
      for (size_t k = committed; k < j; ++k) {
        Rec& r = recs[k];
        if (r.type == kMessage)
          apply_message(std::move(r.meta), r.seg, r.off + r.head.size());
        else if (r.type == kState)
          apply_state(std::move(r.meta), r.seg);
        else
          apply_remove(r.id, r.seg);
      }
      st.records += j - committed;
    }
    committed = j;
  }
  for (size_t k = committed; k < recs.size(); ++k) status[recs[k].op] = failure;
  {
    std::lock_guard lk(mu);
    st.fsyncs += fsyncs;
    st.bytes += bytes;
  }
  collect_garbage();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].done) continue;
    try {
      ops[i].done(status[i]);
    } catch (...) {  // a throwing callback must not kill the writer
    }
  }
}

// ---------------------------------------------------------------------------------------
Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Spool>> Spool::open(const fs::path& dir, SpoolOptions opts,
                                           std::vector<std::string>* warnings) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::error("spool: cannot create " + dir.string() + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->opt = opts;
  if (impl->opt.segment_bytes == 0) impl->opt.segment_bytes = 1;

  std::string lock_path = (dir / "lock").string();
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl->lock_fd < 0) return Status::error(errno_text("spool: open " + lock_path, errno));
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) return Status::error(errno_text("spool: flock " + lock_path, err));
    char buf[32] = {};
    ssize_t n = ::pread(impl->lock_fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::error("spool " + dir.string() + " is in use by another process (pid " +
                         (pid.empty() ? "unknown" : pid) + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(impl->lock_fd, 0) != 0 ||
      ::pwrite(impl->lock_fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Status::error(errno_text("spool: write " + lock_path, errno));

  impl->dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (impl->dir_fd < 0) return Status::error(errno_text("spool: open " + dir.string(), errno));

  std::vector<uint64_t> seqs;
  for (const auto& de : fs::directory_iterator(dir, ec))
    if (auto seq = parse_seg_name(de.path().filename().string())) seqs.push_back(*seq);
  if (ec) return Status::error("spool: cannot list " + dir.string() + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::string name = seg_name(seqs[i]);
    int fd = ::open((dir / name).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::error(errno_text("spool: open " + name, errno));
    impl->segs[seqs[i]].file = std::make_shared<File>(fd);
    impl->replay_segment(seqs[i], i + 1 == seqs.size(), warnings);
  }
  // Always append to a fresh segment: never write after bytes recovery could not read.
  if (auto s = impl->create_segment(seqs.empty() ? 1 : seqs.back() + 1); !s) return s;
  impl->collect_garbage();
  impl->writer = std::thread([p = impl.get()] { p->writer_loop(); });
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

Spool::~Spool() {
  {
    std::lock_guard lk(impl_->qmu);
    impl_->stopping = true;
  }
  impl_->qcv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  // An active segment that never got a record is just noise for the next open.
  auto it = impl_->segs.find(impl_->active);
  if (it != impl_->segs.end() && it->second.size == 0) {
    ::unlink((impl_->dir / seg_name(impl_->active)).c_str());
    (void)impl_->sync_dir();
  }
}

void Spool::submit(MessageMeta meta, std::string body, Done done) {
  meta.size = body.size();
  impl_->enqueue({Impl::OpKind::Submit, std::move(meta), std::move(body), {}, {}, std::move(done)});
}

void Spool::update(const MessageMeta& meta, Done done) {
  impl_->enqueue({Impl::OpKind::Update, meta, {}, {}, {}, std::move(done)});
}

void Spool::remove(const std::string& id, const std::string& reason, Done done) {
  impl_->enqueue({Impl::OpKind::Remove, {}, {}, id, reason, std::move(done)});
}

Result<std::string> Spool::read_body(const std::string& id) const {
  std::shared_ptr<File> file;
  uint64_t off = 0, size = 0;
  {
    std::lock_guard lk(impl_->mu);
    auto it = impl_->index.find(id);
    if (it == impl_->index.end()) return Status::error("spool: unknown message " + id);
    auto sg = impl_->segs.find(it->second.body_seg);
    if (sg == impl_->segs.end()) return Status::error("spool: segment missing for " + id);
    file = sg->second.file;
    off = it->second.body_off;
    size = it->second.meta.size;
  }
  std::string body(size, '\0');
  if (auto s = pread_all(file->fd, body.data(), body.size(), off); !s) return s;
  return body;
}

std::optional<MessageMeta> Spool::get(const std::string& id) const {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->index.find(id);
  if (it == impl_->index.end()) return std::nullopt;
  return it->second.meta;
}

std::vector<MessageMeta> Spool::list() const {
  std::vector<MessageMeta> out;
  {
    std::lock_guard lk(impl_->mu);
    out.reserve(impl_->index.size());
    for (const auto& [id, e] : impl_->index) out.push_back(e.meta);
  }
  std::sort(out.begin(), out.end(), [](const MessageMeta& a, const MessageMeta& b) {
    return a.arrival_s != b.arrival_s ? a.arrival_s < b.arrival_s : a.id < b.id;
  });
  return out;
}

size_t Spool::size() const {
  std::lock_guard lk(impl_->mu);
  return impl_->index.size();
}

void Spool::flush() {
  std::promise<void> p;
  auto f = p.get_future();
  impl_->enqueue({Impl::OpKind::Barrier, {}, {}, {}, {}, [&p](const Status&) { p.set_value(); }});
  f.wait();
}

Status Spool::compact(int64_t older_than_s) {
  const int64_t now = now_s();
  std::vector<std::string> ids;
  {
    std::lock_guard lk(impl_->mu);
    for (const auto& [id, e] : impl_->index) {
      if (e.body_seg == impl_->active) continue;
      auto sg = impl_->segs.find(e.body_seg);
      if (sg != impl_->segs.end() && now - sg->second.last_write_s >= older_than_s)
        ids.push_back(id);
    }
  }
  std::mutex emu;
  Status result;
  auto note = [&](const Status& s) {
    if (s.is_ok()) return;
    std::lock_guard lk(emu);
    if (result.is_ok()) result = s;
  };
  uint64_t in_flight = 0;
  for (const auto& id : ids) {
    auto body = read_body(id);
    if (!body) {
      if (get(id)) note(body.status());  // gone meanwhile is fine
      continue;
    }
    in_flight += body->size();
    impl_->enqueue({Impl::OpKind::Relocate, {}, std::move(*body), id, {}, note});
    if (in_flight > (32u << 20)) {  // bound memory held by queued bodies
      flush();
      in_flight = 0;
    }
  }
  flush();
  return result;
}

Spool::Stats Spool::stats() const {
  std::lock_guard lk(impl_->mu);
  Stats s = impl_->st;
  s.segments = impl_->segs.size();
  return s;
}

// ---------------------------------------------------------------------------------------
std::string make_queue_id() {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // ASCII-sorted
  static std::mutex m;
  static int64_t last_us = 0;
  static uint32_t counter = 0;
  static pid_t tag_pid = 0;
  static uint32_t tag = 0;

  uint64_t t;
  uint32_t c, g;
  {
    std::lock_guard lk(m);
    pid_t pid = ::getpid();
    if (pid != tag_pid) {  // first use, or we are a fork()ed child: new random tag
      std::random_device rd;
      tag = (rd() ^ static_cast<uint32_t>(pid) * 2654435761u) & 0xFFF;
      tag_pid = pid;
      counter = 0;
    }
    int64_t now = std::max(now_us(), last_us);
    if (now == last_us) {
      if (++counter > 0xFFFF) {
        ++now;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    last_us = now;
    t = static_cast<uint64_t>(now) & ((1ull << 52) - 1);
    c = counter;
    g = tag;
  }
  // 80 bits: time(52) | tag(12) | counter(16), emitted 5 bits at a time from the top.
  uint64_t hi = t >> 12;                                       // top 40 bits
  uint64_t lo = ((t & 0xFFF) << 28) | (uint64_t(g) << 16) | c;  // low 40 bits
  std::string id(16, '0');
  for (int i = 0; i < 8; ++i) {
    id[7 - i] = kAlphabet[(hi >> (5 * i)) & 31];
    id[15 - i] = kAlphabet[(lo >> (5 * i)) & 31];
  }
  return id;
}

}  // namespace mm::queue
