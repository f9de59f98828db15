// The metadata store in one SQLite file: the embedded default (meta/meta.h is the interface).
//
// WAL mode with synchronous=NORMAL; every write transaction begins with BEGIN IMMEDIATE (writers
// wait for the lock up front). The schema is versioned by numbered migrations (docs/metadata.md);
// sqlite.cc is the only file that includes sqlite3.h.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "meta/meta.h"

namespace weft::meta {

// Opens (creating it when missing) and migrates the database at `path`. A database newer than
// this weft understands is refused.
Result<std::unique_ptr<MetaStore>> OpenSqliteMeta(const std::string& path);

}  // namespace weft::meta
