// The SQLite implementation of TenancyStore, sharing the connection and lock of SqliteStore
// (internal to src/store).
#pragma once
#include <memory>
#include <mutex>

#include "store/sqlite_db.h"
#include "store/tenancy_store.h"

namespace mm::store {

std::unique_ptr<TenancyStore> make_sqlite_tenancy(sql::Db& db, std::mutex& mu);

}  // namespace mm::store
