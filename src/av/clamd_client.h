// A blocking clamd client for the scan worker threads: INSTREAM (the bytes are streamed in
// length-prefixed chunks, clamd answers "stream: OK" or "stream: <Name> FOUND"), PING, VERSION,
// RELOAD, over a Unix socket or TCP. Every call opens its own connection and honours a deadline
// (non-blocking socket + poll), so any number of threads may call one client at once and a hung
// clamd costs at most the deadline. Errors are values, never exceptions.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace mm::av {

using Deadline = std::chrono::steady_clock::time_point;

struct ClamdAddress {
  std::string unix_path;  // set for a Unix socket
  std::string host;       // else host (IPv4/IPv6 literal or name) and port
  uint16_t port = 0;
  // "/run/clamav/clamd.ctl", "unix:/path", "127.0.0.1:3310", "[::1]:3310", "localhost:3310".
  static Result<ClamdAddress> parse(const std::string&);
  std::string str() const;
};

struct ScanResult {
  enum Kind { Clean, Found, Error } kind = Error;
  std::string signature;  // Found: the signature name ("Eicar-Signature", "Local.X.UNOFFICIAL")
  std::string error;      // Error: what went wrong (connect refused, timeout, clamd's ERROR line)
};

class ClamdClient {
 public:
  explicit ClamdClient(ClamdAddress addr, size_t chunk_bytes = 256 << 10)
      : addr_(std::move(addr)), chunk_(chunk_bytes) {}
  const ClamdAddress& address() const { return addr_; }

  ScanResult scan(std::string_view data, Deadline deadline) const;
  // A one-line command ("PING", "VERSION", "RELOAD"): clamd's answer without the terminator.
  Result<std::string> command(const std::string& cmd, Deadline deadline) const;
  bool ping(Deadline deadline) const;

 private:
  ClamdAddress addr_;
  size_t chunk_;
};

}  // namespace mm::av
