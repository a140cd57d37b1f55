// Numbered schema migrations of the SQLite backend, applied in order and recorded in
// schema_migrations. Append new ones; never edit an applied one.
#pragma once
#include <span>

namespace mm::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // one or more statements
};

// All migrations, ascending by version.
std::span<const Migration> sqlite_migrations();

}  // namespace mm::store
