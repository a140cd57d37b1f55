// The SQLite implementation of ReputationStore (internal to src/store).
#pragma once
#include <memory>
#include <mutex>

#include "store/reputation_store.h"
#include "store/sqlite_db.h"

namespace mm::store {

std::unique_ptr<ReputationStore> make_sqlite_reputation(sql::Db& db, std::mutex& mu);

}  // namespace mm::store
