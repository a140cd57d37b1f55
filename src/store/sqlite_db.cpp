#include "store/sqlite_db.h"

namespace mm::store::sql {

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

void Stmt::check(int rc) {
  if (rc != SQLITE_OK) throw DbError(rc, sqlite3_errmsg(db_));
}

void Stmt::bind_int(int64_t v) { check(sqlite3_bind_int64(s_, ++idx_, v)); }
void Stmt::bind_text(std::string_view v) {
  check(sqlite3_bind_text64(s_, ++idx_, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}
void Stmt::bind_null() { check(sqlite3_bind_null(s_, ++idx_)); }
void Stmt::bind_blob(std::string_view v) {
  check(sqlite3_bind_blob64(s_, ++idx_, v.data(), v.size(), SQLITE_TRANSIENT));
}
std::string Stmt::blob(int col) const {
  auto p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

bool Stmt::next() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw DbError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
}

void Stmt::run() {
  while (next()) {
  }
}

std::string Stmt::text(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Stmt Db::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(s);
      throw DbError(rc, std::string(sqlite3_errmsg(db_)) + " in: " + sql);
    }
    it = cache_.emplace(sql, s).first;
  }
  return Stmt(db_, it->second);
}

void Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DbError(sqlite3_extended_errcode(db_), msg);
  }
}

void Db::rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace mm::store::sql
