// Host and domain lists the link checks match against: the operator's block list file (re-read when
// it changes on disk), tenants' lists from the store, and the project's data files (URL shorteners,
// free-mail providers). An entry "evil.test" matches evil.test and every name below it
// (www.evil.test); an IP entry matches that address. One entry per line, '#' starts a comment.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "util/status.h"

namespace mm::links {

class DomainSet {
 public:
  DomainSet() = default;
  explicit DomainSet(const std::vector<std::string>& entries);
  // Adds an entry (lower-cased, IDN to punycode, trailing dot dropped); false if it is not a host.
  bool add(std::string_view entry);
  // The entry that matches host or one of its parent names, "" if none.
  std::string match(std::string_view host) const;
  bool contains(std::string_view host) const { return !match(host).empty(); }
  size_t size() const { return set_.size(); }
  const std::unordered_set<std::string>& entries() const { return set_; }

 private:
  std::unordered_set<std::string> set_;
};

// Lines of a list file without comments and blank lines (trimmed).
Result<std::vector<std::string>> read_list_file(const std::filesystem::path&);
// A host/domain entry normalised for storage and matching ("" when it is not a valid one).
std::string normalize_entry(std::string_view entry);

// A DomainSet loaded from a file and re-read when the file's modification time or size changes
// (checked at most once per `interval`). A missing or unreadable file keeps the last good list.
class FileDomainSet {
 public:
  explicit FileDomainSet(std::filesystem::path path, std::chrono::milliseconds interval = std::chrono::seconds(2));
  std::shared_ptr<const DomainSet> get() const;  // thread-safe
  const std::filesystem::path& path() const { return path_; }
  std::string last_error() const;

 private:
  void reload_locked() const;
  std::filesystem::path path_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const DomainSet> set_;
  mutable std::chrono::steady_clock::time_point checked_{};
  mutable std::filesystem::file_time_type mtime_{};
  mutable uintmax_t size_ = static_cast<uintmax_t>(-1);
  mutable std::string error_;
};

}  // namespace mm::links
