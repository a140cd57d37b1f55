// mailmoat's own clamd ([antivirus] mode = "managed"): a generated clamd.conf in var/, the socket
// and pid file in var/run, temporary files on tmpfs (/dev/shm) when available, the signature directory from the
// configuration. A supervisor thread starts clamd, restarts it (with backoff) when it dies, and sends
// RELOAD when the signature files change; clamd reloads concurrently, so scans go on with the old
// signatures meanwhile. Only one process owns the clamd (flock on var/run/clamd.lock): a second
// mailmoat process (e.g. `mailmoat scan` while the server runs) uses it, and takes over if the
// owner goes away. Within a process one instance is shared per configuration (acquire()), so a
// rebuilt scan engine keeps the same clamd.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "av/clamd_client.h"

namespace mm::av {

struct ManagedOptions {
  std::string clamd_path = "/usr/sbin/clamd";
  std::string var_dir = "var";        // clamd.conf, run/clamd.sock, run/clamd.lock, log/clamd.log
  std::string database_dir;           // signatures (*.cvd, *.cld, *.ndb, *.hdb, ...)
  std::string temp_dir;               // "" = /dev/shm/mailmoat-clamd-<id> if /dev/shm exists, else <var>/tmp/clamd
  uint64_t max_scan_size = 64ull << 20;  // MaxScanSize; StreamMaxLength is a little larger
  uint64_t max_file_size = 32ull << 20;  // MaxFileSize
  int max_recursion = 8;              // MaxRecursion (archive depth)
  int max_files = 1000;               // MaxFiles
  int scan_time_limit_ms = 30000;     // MaxScanTime
  int max_threads = 8;                // MaxThreads
  int reload_check_s = 5;             // how often the signature files are checked for changes
  // level 0 info, 1 warn, 2 error; event like "clamd.started"; detail free text.
  std::function<void(int level, const std::string& event, const std::string& detail)> log;
};

class ManagedClamd {
 public:
  // The process-wide instance for these options (started on first use).
  static std::shared_ptr<ManagedClamd> acquire(const ManagedOptions&);
  explicit ManagedClamd(ManagedOptions);
  ~ManagedClamd();  // stops the supervisor and the clamd this process started
  ManagedClamd(const ManagedClamd&) = delete;
  ManagedClamd& operator=(const ManagedClamd&) = delete;

  ClamdAddress address() const;
  // Waits until clamd answers PING (true), or the time is up or clamd died twice meanwhile (false).
  bool wait_ready(std::chrono::milliseconds) const;
  // The pid of the clamd this process runs (0 if none, e.g. another process owns it).
  int child_pid() const;
  int restarts() const;
  int exits() const;  // how often the clamd this process ran has died
  int reloads() const;
  const std::string& conf_path() const { return conf_path_; }
  const std::string& temp_dir() const { return temp_dir_; }

 private:
  struct State;
  void supervise();
  ManagedOptions opt_;
  std::string conf_path_, socket_path_, lock_path_, pid_path_, log_path_, temp_dir_;
  std::unique_ptr<State> st_;
};

// The project's own signature database built at build time (see scripts/make_signatures.py).
std::string default_database_dir();

}  // namespace mm::av
