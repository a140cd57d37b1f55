// The SQLite implementation of ApiStore, sharing the connection and lock of SqliteStore
// (internal to src/store).
#pragma once
#include <memory>
#include <mutex>

#include "store/api_store.h"
#include "store/sqlite_db.h"

namespace mm::store {

std::unique_ptr<ApiStore> make_sqlite_api(sql::Db& db, std::mutex& mu);

}  // namespace mm::store
