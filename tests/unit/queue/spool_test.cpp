#include "queue/spool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <semaphore>
#include <set>
#include <thread>

#include "queue/crc32c.h"

namespace fs = std::filesystem;
using namespace mm::queue;
using mm::Status;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mm-spool-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

SpoolOptions fast() {
  SpoolOptions o;
  o.fsync = false;
  return o;
}

std::unique_ptr<Spool> open_ok(const fs::path& dir, SpoolOptions o = fast(),
                               std::vector<std::string>* warnings = nullptr) {
  auto r = Spool::open(dir, o, warnings);
  EXPECT_TRUE(r.is_ok()) << (r.is_ok() ? "" : r.error());
  return r.is_ok() ? std::move(*r) : nullptr;
}

// Deterministic body of a message, from its id alone.
std::string body_for(const std::string& id, size_t n = 0) {
  if (n == 0) n = 50 + std::hash<std::string>{}(id) % 3000;
  std::string b = "Subject: " + id + "\r\n\r\n";
  while (b.size() < n) b += id + " line of text\r\n";
  b.resize(n);
  return b;
}

MessageMeta meta_for(const std::string& id, int i = 0) {
  MessageMeta m;
  m.id = id;
  m.sender = i % 5 == 0 ? "" : "sender" + std::to_string(i) + "@example.org";
  m.recipients = {{"a" + std::to_string(i) + "@x.test", RcptStatus::Pending, ""},
                  {"b@y.test", RcptStatus::Delivered, "250 2.0.0 ok"},
                  {"\xc3\xbc@z.test", RcptStatus::Failed, "550 5.1.1 nope"}};
  m.client_ip = "192.0.2." + std::to_string(i % 250);
  m.helo = "client.example";
  m.tenant = i % 2 ? "acme" : "";
  m.smtputf8 = i % 3 == 0;
  m.eightbit = i % 4 == 0;
  m.is_dsn = i % 7 == 0;
  m.arrival_s = 1700000000 + i;
  m.next_attempt_s = 1700000100 + i;
  return m;
}

Status submit_wait(Spool& s, MessageMeta m, std::string body) {
  std::promise<Status> p;
  s.submit(std::move(m), std::move(body), [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}
Status update_wait(Spool& s, const MessageMeta& m) {
  std::promise<Status> p;
  s.update(m, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}
Status remove_wait(Spool& s, const std::string& id) {
  std::promise<Status> p;
  s.remove(id, "test", [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("seg-", 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

std::string read_file(const fs::path& p) {
  std::string data(fs::file_size(p), '\0');
  std::ifstream f(p, std::ios::binary);
  f.read(data.data(), static_cast<std::streamsize>(data.size()));
  return data;
}
void write_file(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string s = "The quick brown fox jumps over the lazy dog, many times over";
  EXPECT_EQ(crc32c(crc32c(0, s.data(), 13), s.data() + 13, s.size() - 13), crc32c(0, s.data(), s.size()));
}

TEST(Spool, GroupCommitFromManyThreads) {
  TempDir d;
  SpoolOptions o;  // real fdatasync: what group commit is about
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  constexpr int kThreads = 4, kPer = 300;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto id = make_queue_id();
        sp->submit(meta_for(id, t * kPer + i), body_for(id), [&](Status s) { (s ? ok : failed)++; });
      }
    });
  }
  for (auto& th : threads) th.join();
  sp->flush();
  EXPECT_EQ(ok.load(), kThreads * kPer);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(sp->size(), size_t(kThreads * kPer));
  auto st = sp->stats();
  EXPECT_EQ(st.records, uint64_t(kThreads * kPer));
  EXPECT_GT(st.fsyncs, 0u);
  EXPECT_LT(st.fsyncs, st.records) << "no group commit happened";
  // Everything acknowledged is readable.
  for (const auto& m : sp->list()) {
    auto b = sp->read_body(m.id);
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(*b, body_for(m.id));
  }
}

TEST(Spool, ReopenRecoversMetadataBodiesUpdatesAndRemovals) {
  TempDir d;
  std::map<std::string, MessageMeta> expect;
  std::map<std::string, std::string> bodies;
  std::set<std::string> removed;
  {
    auto sp = open_ok(d.path());
    ASSERT_TRUE(sp);
    for (int i = 0; i < 60; ++i) {
      auto id = make_queue_id();
      std::string body = i == 0 ? "" : i == 1 ? std::string(1 << 20, 'x') : body_for(id);
      body += i == 2 ? std::string("\0binary\xff\xfe", 10) : "";
      auto m = meta_for(id, i);
      sp->submit(m, body, {});
      m.size = body.size();
      expect[id] = m;
      bodies[id] = body;
    }
    sp->flush();
    int i = 0;
    for (auto& [id, m] : expect) {
      if (i % 3 == 0) {
        m.recipients[0].status = RcptStatus::Delivered;
        m.recipients[0].last_reply = "250 ok";
        m.attempts = 3;
        m.next_attempt_s += 999;
        m.held = true;
        m.last_error = "451 4.7.1 greylisted";
        m.size = 12345;  // ignored: the spool keeps the body size
        ASSERT_TRUE(update_wait(*sp, m).is_ok());
        m.size = bodies[id].size();
      }
      if (i % 5 == 1) removed.insert(id);
      ++i;
    }
    for (const auto& id : removed) ASSERT_TRUE(remove_wait(*sp, id).is_ok());
    for (const auto& id : removed) expect.erase(id);
    // Visible before reopen too.
    EXPECT_EQ(sp->size(), expect.size());
    for (const auto& [id, m] : expect) EXPECT_EQ(*sp->get(id), m);
  }
  std::vector<std::string> warnings;
  auto sp = open_ok(d.path(), fast(), &warnings);
  ASSERT_TRUE(sp);
  EXPECT_TRUE(warnings.empty()) << join(warnings);
  ASSERT_EQ(sp->size(), expect.size());
  auto all = sp->list();
  ASSERT_EQ(all.size(), expect.size());
  for (size_t k = 1; k < all.size(); ++k) EXPECT_LE(all[k - 1].arrival_s, all[k].arrival_s);
  for (const auto& [id, m] : expect) {
    auto got = sp->get(id);
    ASSERT_TRUE(got) << id;
    EXPECT_EQ(*got, m);
    auto b = sp->read_body(id);
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(*b, bodies[id]);
  }
  for (const auto& id : removed) {
    EXPECT_FALSE(sp->get(id));
    EXPECT_FALSE(sp->read_body(id).is_ok());
  }
}

TEST(Spool, UnknownIdsAndDuplicatesAreErrors) {
  TempDir d;
  auto sp = open_ok(d.path());
  ASSERT_TRUE(sp);
  auto m = meta_for("NOSUCHID");
  EXPECT_FALSE(update_wait(*sp, m).is_ok());
  EXPECT_FALSE(remove_wait(*sp, "NOSUCHID").is_ok());
  m.id = make_queue_id();
  EXPECT_TRUE(submit_wait(*sp, m, "x").is_ok());
  EXPECT_FALSE(submit_wait(*sp, m, "y").is_ok());
  m.id = "";
  EXPECT_FALSE(submit_wait(*sp, m, "y").is_ok());
  EXPECT_EQ(sp->size(), 1u);
  EXPECT_EQ(sp->stats().records, 1u);
}

TEST(Spool, TornTailAtEveryOffsetLosesOnlyTheTornRecord) {
  TempDir base;
  std::vector<std::string> ids;
  MessageMeta updated;
  uint64_t start = 0, end = 0;
  {
    auto sp = open_ok(base.path());
    ASSERT_TRUE(sp);
    for (int i = 0; i < 4; ++i) {
      ids.push_back(make_queue_id());
      ASSERT_TRUE(submit_wait(*sp, meta_for(ids.back(), i), body_for(ids.back(), 300)).is_ok());
    }
    updated = *sp->get(ids[0]);
    updated.attempts = 9;
    updated.last_error = "deferred";
    ASSERT_TRUE(update_wait(*sp, updated).is_ok());
    auto segs = segments(base.path());
    ASSERT_EQ(segs.size(), 1u);
    start = fs::file_size(segs[0]);
    ids.push_back(make_queue_id());  // the one that will be torn
    ASSERT_TRUE(submit_wait(*sp, meta_for(ids.back(), 4), body_for(ids.back(), 300)).is_ok());
    end = fs::file_size(segs[0]);
  }
  auto segs = segments(base.path());
  ASSERT_EQ(segs.size(), 1u);
  ASSERT_GT(end, start + 300);
  for (uint64_t off = start; off < end; ++off) {
    SCOPED_TRACE("truncated at " + std::to_string(off));
    TempDir d;
    copy_dir(base.path(), d.path());
    fs::resize_file(d.path() / segs[0].filename(), off);
    std::vector<std::string> warnings;
    std::string extra = make_queue_id();
    {
      auto sp = open_ok(d.path(), fast(), &warnings);
      ASSERT_TRUE(sp);
      EXPECT_EQ(warnings.empty(), off == start) << join(warnings);
      ASSERT_EQ(sp->size(), 4u);
      for (int i = 0; i < 4; ++i) {
        auto b = sp->read_body(ids[i]);
        ASSERT_TRUE(b.is_ok());
        EXPECT_EQ(*b, body_for(ids[i], 300));
      }
      EXPECT_EQ(*sp->get(ids[0]), updated);
      EXPECT_FALSE(sp->get(ids[4]));
      ASSERT_TRUE(submit_wait(*sp, meta_for(extra, 9), body_for(extra)).is_ok());
    }
    warnings.clear();
    auto sp = open_ok(d.path(), fast(), &warnings);
    ASSERT_TRUE(sp);
    EXPECT_TRUE(warnings.empty()) << join(warnings);
    EXPECT_EQ(sp->size(), 5u);
    auto b = sp->read_body(extra);
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(*b, body_for(extra));
    EXPECT_EQ(fs::file_size(d.path() / segs[0].filename()), start);
  }
}

TEST(Spool, CorruptionInTheMiddleIsSkippedWithWarning) {
  TempDir base;
  std::vector<std::string> ids;
  std::vector<uint64_t> offsets;
  fs::path seg;
  {
    auto sp = open_ok(base.path());
    ASSERT_TRUE(sp);
    seg = segments(base.path()).at(0);
    for (int i = 0; i < 20; ++i) {
      offsets.push_back(fs::file_size(seg));
      ids.push_back(make_queue_id());
      ASSERT_TRUE(submit_wait(*sp, meta_for(ids.back(), i), body_for(ids.back(), 500)).is_ok());
    }
  }
  const std::string original = read_file(seg);
  // magic, type, length, crc, metadata, body of record #10
  for (uint64_t delta : {0, 2, 4, 6, 10, 30, 400}) {
    SCOPED_TRACE("corrupt byte at record 10 + " + std::to_string(delta));
    TempDir d;
    copy_dir(base.path(), d.path());
    std::string data = original;
    data[offsets[10] + delta] ^= 0x5A;
    write_file(d.path() / seg.filename(), data);
    std::vector<std::string> warnings;
    auto sp = open_ok(d.path(), fast(), &warnings);
    ASSERT_TRUE(sp);
    EXPECT_FALSE(warnings.empty());
    EXPECT_EQ(sp->size(), 19u);
    EXPECT_FALSE(sp->get(ids[10]));
    for (int i = 0; i < 20; ++i) {
      if (i == 10) continue;
      auto b = sp->read_body(ids[i]);
      ASSERT_TRUE(b.is_ok()) << i;
      EXPECT_EQ(*b, body_for(ids[i], 500));
    }
    EXPECT_EQ(fs::file_size(d.path() / seg.filename()), original.size()) << "middle must not be cut";
  }
}

TEST(Spool, SurvivesKill9OfTheWriter) {
  TempDir d;
  int pfd[2];
  ASSERT_EQ(::pipe(pfd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pfd[0]);
    auto r = Spool::open(d.path(), SpoolOptions{}, nullptr);
    if (!r.is_ok()) ::_exit(2);
    auto& sp = *r;
    std::counting_semaphore<1024> window(256);
    for (int i = 0; i < 200000; ++i) {
      window.acquire();
      std::string id = make_queue_id();
      sp->submit(meta_for(id, i), body_for(id), [&window, id, fd = pfd[1]](Status s) {
        if (s) {
          std::string line = id + "\n";
          if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
        }
        window.release();
      });
    }
    ::_exit(0);
  }
  ::close(pfd[1]);
  std::vector<std::string> acked;
  std::string buf;
  bool killed = false;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(pfd[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.push_back(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
    if (!killed && acked.size() >= 2000) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(pfd[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  ASSERT_TRUE(killed) << "child ended before it was killed (status " << wstatus << ")";
  EXPECT_TRUE(WIFSIGNALED(wstatus));

  std::vector<std::string> warnings;
  auto sp = open_ok(d.path(), fast(), &warnings);
  ASSERT_TRUE(sp);
  EXPECT_GE(sp->size(), acked.size());
  for (const auto& id : acked) {
    auto m = sp->get(id);
    ASSERT_TRUE(m) << "acknowledged message lost: " << id;
    auto b = sp->read_body(id);
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(*b, body_for(id));
    EXPECT_EQ(m->recipients.size(), 3u);
  }
}

TEST(Spool, RotatesDeletesDeadSegmentsAndNeverResurrects) {
  TempDir d;
  SpoolOptions o = fast();
  o.segment_bytes = 4096;
  std::vector<std::string> ids;
  {
    auto sp = open_ok(d.path(), o);
    ASSERT_TRUE(sp);
    for (int i = 0; i < 30; ++i) {
      ids.push_back(make_queue_id());
      ASSERT_TRUE(submit_wait(*sp, meta_for(ids.back(), i), body_for(ids.back(), 1000)).is_ok());
    }
    auto segs = segments(d.path());
    EXPECT_GE(segs.size(), 6u);
    EXPECT_EQ(sp->stats().segments, segs.size());
    for (const auto& s : segs) EXPECT_LE(fs::file_size(s), 4096u) << s;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(remove_wait(*sp, ids[i]).is_ok());
    EXPECT_FALSE(fs::exists(segs[0])) << "fully removed segment still there";
    EXPECT_FALSE(fs::exists(segs[1]));
    EXPECT_TRUE(fs::exists(segs.back()));
    EXPECT_EQ(sp->stats().segments, segments(d.path()).size());
    auto m = *sp->get(ids[10]);
    m.attempts = 7;  // state record lands in the active segment, body stays in an old one
    ASSERT_TRUE(update_wait(*sp, m).is_ok());
  }
  {
    std::vector<std::string> warnings;
    auto sp = open_ok(d.path(), o, &warnings);
    ASSERT_TRUE(sp);
    EXPECT_TRUE(warnings.empty()) << join(warnings);
    EXPECT_EQ(sp->size(), 20u);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(sp->get(ids[i])) << "resurrected " << i;
    EXPECT_EQ(sp->get(ids[10])->attempts, 7u);
    for (int i = 10; i < 30; ++i) EXPECT_EQ(*sp->read_body(ids[i]), body_for(ids[i], 1000));
    for (int i = 10; i < 30; ++i) ASSERT_TRUE(remove_wait(*sp, ids[i]).is_ok());
    EXPECT_EQ(segments(d.path()).size(), 1u) << "only the active segment should remain";
  }
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->size(), 0u);
  EXPECT_EQ(sp->stats().segments, 1u);
}

TEST(Spool, CompactMovesLiveMessagesOutOfOldSegments) {
  TempDir d;
  SpoolOptions o = fast();
  o.segment_bytes = 4096;
  std::vector<std::string> ids;
  MessageMeta held;
  std::vector<fs::path> before;
  {
    auto sp = open_ok(d.path(), o);
    ASSERT_TRUE(sp);
    for (int i = 0; i < 16; ++i) {
      ids.push_back(make_queue_id());
      ASSERT_TRUE(submit_wait(*sp, meta_for(ids.back(), i), body_for(ids.back(), 1000)).is_ok());
    }
    for (int i = 0; i < 16; ++i)
      if (i != 0 && i != 7) {
        ASSERT_TRUE(remove_wait(*sp, ids[i]).is_ok());
      }
    held = *sp->get(ids[0]);
    held.held = true;
    held.last_error = "421 try later";
    ASSERT_TRUE(update_wait(*sp, held).is_ok());
    before = segments(d.path());
    ASSERT_GE(before.size(), 3u);

    ASSERT_TRUE(sp->compact(3600).is_ok());  // nothing is that old
    EXPECT_EQ(segments(d.path()), before);

    ASSERT_TRUE(sp->compact(0).is_ok());
    for (size_t k = 0; k + 1 < before.size(); ++k) EXPECT_FALSE(fs::exists(before[k])) << before[k];
    EXPECT_EQ(sp->size(), 2u);
    EXPECT_EQ(*sp->get(ids[0]), held);
    EXPECT_EQ(*sp->read_body(ids[0]), body_for(ids[0], 1000));
    EXPECT_EQ(*sp->read_body(ids[7]), body_for(ids[7], 1000));
  }
  std::vector<std::string> warnings;
  auto sp = open_ok(d.path(), o, &warnings);
  ASSERT_TRUE(sp);
  EXPECT_TRUE(warnings.empty()) << join(warnings);
  EXPECT_EQ(sp->size(), 2u);
  EXPECT_EQ(*sp->get(ids[0]), held);
  EXPECT_EQ(*sp->read_body(ids[0]), body_for(ids[0], 1000));
  EXPECT_EQ(*sp->read_body(ids[7]), body_for(ids[7], 1000));
  for (int i = 1; i < 16; ++i)
    if (i != 7) {
      EXPECT_FALSE(sp->get(ids[i])) << "resurrected " << i;
    }
  EXPECT_LE(segments(d.path()).size(), 3u);
}

TEST(Spool, SecondOpenOfLockedSpoolFailsClearly) {
  TempDir d;
  auto first = open_ok(d.path());
  ASSERT_TRUE(first);
  auto second = Spool::open(d.path(), fast(), nullptr);
  ASSERT_FALSE(second.is_ok());
  EXPECT_NE(second.error().find("is in use by another process (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error();
  first.reset();
  auto third = Spool::open(d.path(), fast(), nullptr);
  EXPECT_TRUE(third.is_ok());
}

TEST(Spool, ConcurrentReadersDuringWrites) {
  TempDir d;
  SpoolOptions o = fast();
  o.segment_bytes = 64 << 10;  // rotations and deletions while readers run
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      for (const auto& m : sp->list()) {
        auto b = sp->read_body(m.id);
        if (b.is_ok() && *b != body_for(m.id)) ++bad;  // not ok = removed meanwhile
      }
    }
  });
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i) {
      ids.push_back(make_queue_id());
      sp->submit(meta_for(ids.back(), i), body_for(ids.back()), {});
    }
    sp->flush();
    for (size_t i = 0; i < ids.size(); i += 2) sp->remove(ids[i], "done");
  }
  sp->flush();
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(sp->size(), 20u * 25u);
}

TEST(QueueId, UniqueSortableCharset) {
  std::vector<std::string> ids;
  ids.reserve(100000);
  for (int i = 0; i < 100000; ++i) ids.push_back(make_queue_id());
  std::set<std::string> uniq(ids.begin(), ids.end());
  EXPECT_EQ(uniq.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i].size(), 16u);
    for (char c : ids[i]) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) << ids[i];
    if (i) {
      ASSERT_LT(ids[i - 1], ids[i]);
    }
  }
  // Ids from another thread interleave by time but stay unique.
  std::vector<std::string> other;
  std::thread t([&] {
    for (int i = 0; i < 20000; ++i) other.push_back(make_queue_id());
  });
  for (int i = 0; i < 20000; ++i) uniq.insert(make_queue_id());
  t.join();
  uniq.insert(other.begin(), other.end());
  EXPECT_EQ(uniq.size(), 140000u);
}

// A REMOVE record must not be deleted while an older segment still holds the message.
TEST(Spool, RemoveRecordOutlivesTheMessageItKilled) {
  TempDir d;
  SpoolOptions o = fast();
  o.segment_bytes = 4096;
  std::string x = make_queue_id(), y = make_queue_id(), f = make_queue_id(), z = make_queue_id();
  {
    auto sp = open_ok(d.path(), o);
    ASSERT_TRUE(sp);
    ASSERT_TRUE(submit_wait(*sp, meta_for(x), body_for(x, 1000)).is_ok());  // seg 1
    ASSERT_TRUE(submit_wait(*sp, meta_for(y), body_for(y, 1000)).is_ok());  // seg 1
    ASSERT_TRUE(submit_wait(*sp, meta_for(f), body_for(f, 3000)).is_ok());  // seg 2
    ASSERT_TRUE(remove_wait(*sp, x).is_ok());                               // seg 2
    ASSERT_TRUE(submit_wait(*sp, meta_for(z), body_for(z, 5000)).is_ok());  // seg 3
    ASSERT_TRUE(remove_wait(*sp, f).is_ok());                               // seg 3 or 4
    EXPECT_GE(segments(d.path()).size(), 3u);
  }
  {
    auto sp = open_ok(d.path(), o);
    ASSERT_TRUE(sp);
    EXPECT_FALSE(sp->get(x)) << "removed message resurrected";
    EXPECT_FALSE(sp->get(f));
    EXPECT_TRUE(sp->get(y));
    EXPECT_TRUE(sp->get(z));
    auto segs = segments(d.path());
    ASSERT_GE(segs.size(), 3u);
    EXPECT_TRUE(fs::exists(segs[1])) << "seg 2 must be kept alive by x's REMOVE record";
    ASSERT_TRUE(remove_wait(*sp, y).is_ok());
    EXPECT_FALSE(fs::exists(segs[0]));
    EXPECT_FALSE(fs::exists(segs[1])) << "tombstone segment not freed after its target went";
  }
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->size(), 1u);
  EXPECT_TRUE(sp->get(z));
}

// The latest STATE of a live message pins its segment even when nothing else there lives.
TEST(Spool, LatestStateIsKeptWhenItsSegmentDiesOtherwise) {
  TempDir d;
  SpoolOptions o = fast();
  o.segment_bytes = 4096;
  std::string m = make_queue_id(), f = make_queue_id(), z = make_queue_id();
  MessageMeta state;
  {
    auto sp = open_ok(d.path(), o);
    ASSERT_TRUE(sp);
    ASSERT_TRUE(submit_wait(*sp, meta_for(m), body_for(m, 1000)).is_ok());  // seg 1
    ASSERT_TRUE(submit_wait(*sp, meta_for(f), body_for(f, 3500)).is_ok());  // seg 2
    state = *sp->get(m);
    state.attempts = 5;
    state.recipients[0].status = RcptStatus::Delivered;
    ASSERT_TRUE(update_wait(*sp, state).is_ok());                           // seg 2
    ASSERT_TRUE(submit_wait(*sp, meta_for(z), body_for(z, 5000)).is_ok());  // seg 3
    ASSERT_TRUE(remove_wait(*sp, f).is_ok());                               // seg 3
    EXPECT_EQ(*sp->get(m), state);
  }
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  EXPECT_EQ(*sp->get(m), state);
  ASSERT_TRUE(sp->compact(0).is_ok());
  sp.reset();
  sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  EXPECT_EQ(*sp->get(m), state);
  EXPECT_EQ(*sp->read_body(m), body_for(m, 1000));
}

TEST(Spool, BatchDelayGroupsEvenASlowTrickle) {
  TempDir d;
  SpoolOptions o = fast();
  o.fsync = true;
  o.max_batch_delay_us = 20000;
  auto sp = open_ok(d.path(), o);
  ASSERT_TRUE(sp);
  std::atomic<int> ok{0};
  for (int i = 0; i < 40; ++i) {
    auto id = make_queue_id();
    sp->submit(meta_for(id, i), body_for(id), [&](Status s) { ok += s ? 1 : 0; });
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  sp->flush();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_LE(sp->stats().fsyncs, 10u);
}
