// Thin RAII layer over the SQLite C API for this module only: cached prepared statements with
// `?` placeholders, failures thrown as DbError and turned into Status by transaction().
#pragma once
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "util/status.h"

namespace mm::store::sql {

struct DbError : std::runtime_error {
  DbError(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
  bool busy() const { return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED; }
  int code;
};

// Binary data to bind as a BLOB (strings bind as TEXT).
struct Blob {
  std::string_view data;
};

// A cached statement borrowed for one use; reset (and unbound) when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binds the next placeholders in order: integers, bool, strings, nullptr.
  template <class... A>
  Stmt& bind(const A&... args) {
    (bind_one(args), ...);
    return *this;
  }
  // Steps once; true while a row is available.
  bool next();
  // Steps to completion (statements without result rows).
  void run();
  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const;
  std::string blob(int col) const;

 private:
  template <class T>
  void bind_one(const T& v) {
    if constexpr (std::is_same_v<T, bool>)
      bind_int(v ? 1 : 0);
    else if constexpr (std::is_integral_v<T>)
      bind_int(static_cast<int64_t>(v));
    else if constexpr (std::is_same_v<T, std::nullptr_t>)
      bind_null();
    else if constexpr (std::is_same_v<T, Blob>)
      bind_blob(v.data);
    else
      bind_text(std::string_view(v));
  }
  void bind_int(int64_t v);
  void bind_text(std::string_view v);
  void bind_null();
  void bind_blob(std::string_view v);
  void check(int rc);

  sqlite3* db_;
  sqlite3_stmt* s_;
  int idx_ = 0;
};

class Db {
 public:
  explicit Db(sqlite3* db) : db_(db) {}  // takes ownership
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Prepares (once, then cached) a single statement.
  Stmt prepare(const std::string& sql);
  // Runs one or more statements without parameters.
  void exec(const char* sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() { return db_; }

  // Runs fn() in a transaction (write: BEGIN IMMEDIATE, so concurrent writers queue on the
  // busy timeout instead of failing on lock upgrade). Commits only if fn returns ok; retries
  // the whole transaction a few times on SQLITE_BUSY; database failures become Status.
  template <class F>
  Status transaction(bool write, F&& fn) {
    for (int attempt = 0;; ++attempt) {
      try {
        exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
        Status st = fn();
        if (!st) {
          rollback();
          return st;
        }
        exec("COMMIT");
        return st;
      } catch (const DbError& e) {
        rollback();
        if (e.busy() && attempt < 5) {
          // Busy despite the busy timeout (lock upgrade or WAL recovery): back off, start over.
          std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
          continue;
        }
        return Status::error(std::string("database error: ") + e.what());
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

 private:
  void rollback();
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// The stores' pattern over one shared connection: fn runs in a transaction while `mu` (the
// connection's lock) is held. locked_read's fn returns nothing; locked_write's returns Status
// (an error rolls the transaction back).
template <class F>
Status locked_read(Db& db, std::mutex& mu, F&& fn) {
  std::lock_guard lock(mu);
  return db.transaction(false, [&]() -> Status {
    fn();
    return Status::ok();
  });
}
template <class F>
Status locked_write(Db& db, std::mutex& mu, F&& fn) {
  std::lock_guard lock(mu);
  return db.transaction(true, std::forward<F>(fn));
}

}  // namespace mm::store::sql
