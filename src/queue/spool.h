// The durable spool: an append-only, group-committed journal of queued messages.
//
// Layout: <dir>/seg-<16 hex>.log segments appended by one writer thread, and <dir>/lock
// (flock'ed by the process that owns the spool). A record is
//   magic(4) type(1) payload_len(u32 LE) crc32c(type+payload, u32 LE) payload
// with types MESSAGE (metadata + body), STATE (new metadata of a message) and REMOVE.
// The writer takes every queued record, writes them with one pwritev, issues ONE
// fdatasync and only then runs their callbacks: a callback reporting OK means the record
// survives kill -9 and power loss. Segments whose records are all dead are deleted;
// compact() moves long-lived messages out of old segments so those can be deleted too.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::queue {

enum class RcptStatus : uint8_t { Pending, Delivered, Failed };

struct Recipient {
  std::string address;
  RcptStatus status = RcptStatus::Pending;
  std::string last_reply;
  bool operator==(const Recipient&) const = default;
};

struct MessageMeta {
  std::string id;                  // queue id (see make_queue_id)
  std::string sender;              // envelope sender, "" = null sender <>
  std::vector<Recipient> recipients;
  std::string client_ip, helo;     // where it came from
  std::string tenant;              // owning tenant name ("" if none)
  bool smtputf8 = false, eightbit = false, is_dsn = false, held = false;
  bool scan_pending = false;       // accepted but not yet scanned (scanner failed): no delivery until rescanned
  int64_t arrival_s = 0, next_attempt_s = 0;
  uint32_t attempts = 0;
  std::string last_error;          // last deferral reason
  uint64_t size = 0;               // body bytes
  bool operator==(const MessageMeta&) const = default;
};

struct SpoolOptions {
  uint64_t segment_bytes = 64ull << 20;  // start a new segment once the active one would exceed this
  bool fsync = true;                     // false is UNSAFE (no durability): tests/benchmarks only
  int64_t max_batch_delay_us = 0;        // extra wait to grow a batch before writing (0 = none)
};

class Spool {
 public:
  using Done = std::function<void(Status)>;
  struct Stats {
    uint64_t records = 0, fsyncs = 0, bytes = 0;  // written since open (fsyncs: fdatasync calls)
    size_t segments = 0;                          // segment files currently present
  };

  // Opens (creating if needed) the spool in `dir`, takes its lock and replays all segments.
  // Fails if another process/object holds the lock. Recovery problems that were worked
  // around (torn tail truncated, corrupt bytes skipped) are appended to *warnings (may be null).
  static Result<std::unique_ptr<Spool>> open(const std::filesystem::path& dir, SpoolOptions opts,
                                             std::vector<std::string>* warnings);
  // Makes everything submitted so far durable, runs its callbacks, stops the writer and
  // releases the lock. No other method may be running or called during/after destruction.
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Queues a new message (meta.id must be non-empty and unknown; meta.size is set from body).
  // `done` runs on the writer thread once it is durable (OK) or failed: keep it short and
  // never call flush()/compact() from it. get()/list()/read_body() see it once it is durable.
  void submit(MessageMeta meta, std::string body, Done done);
  // Persists new metadata for an existing message (its size is kept). `done` gets an error
  // and nothing is written if the id is unknown (or removed) when the writer reaches it.
  void update(const MessageMeta& meta, Done done = {});
  // Removes a message; `reason` is journaled. Error to `done` if the id is unknown.
  void remove(const std::string& id, const std::string& reason, Done done = {});

  // The body of a durable message (pread from its segment). Any thread.
  Result<std::string> read_body(const std::string& id) const;
  // Current durable metadata of a message, or nullopt.
  std::optional<MessageMeta> get(const std::string& id) const;
  // Snapshot of all messages, ordered by (arrival_s, id).
  std::vector<MessageMeta> list() const;
  // Number of live messages.
  size_t size() const;

  // Re-appends every live message whose body sits in a non-active segment last written at
  // least `older_than_s` seconds ago, so that segment can be deleted. Blocks until done.
  Status compact(int64_t older_than_s);
  // Blocks until everything submitted so far is durable and its callbacks have run.
  void flush();
  Stats stats() const;

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh queue id: 16 chars of [0-9A-Z] (Crockford base32: 52 bits of time in µs, then a
// per-process random tag and a counter). Unique across restarts and processes; sorting the
// ids as strings sorts them by creation time (within one process, strictly).
std::string make_queue_id();

}  // namespace mm::queue
