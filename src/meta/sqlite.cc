#include "meta/sqlite.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace weft::meta {

Statement::Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Status::Io(fmt::format("database error: {}", sqlite3_errmsg(db_)));
}

Status Statement::Run() {
  Result<bool> r = Step();
  while (r.ok() && *r) r = Step();
  Status s = r.ok() ? Status::Ok() : r.status();
  Reset();
  return s;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::Text(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t), n);
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                    SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Status::Io(fmt::format("{}: cannot open the database: {}", path, msg));
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 60000);
  // A large page cache and memory-mapped reads: a run touches a row or two per step, and
  // 10,000-step runs should not pay a pread for each.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                             "PRAGMA foreign_keys=ON", "PRAGMA cache_size=-65536",
                             "PRAGMA mmap_size=268435456", "PRAGMA temp_store=MEMORY"}) {
    // Switching a new database to WAL needs it to itself, and SQLite reports a concurrent
    // opener's hold on it as busy without waiting: several runs may create a workspace at once.
    Status s = db->Exec(pragma);
    for (int tries = 0; !s.ok() && sqlite3_errcode(raw) == SQLITE_BUSY && tries < 600; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + tries % 20));
      s = db->Exec(pragma);
    }
    if (!s.ok()) return s;
  }
  return db;
}

Db::~Db() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close(db_);
}

Result<Statement*> Db::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  Result<Statement> st = Prepare(sql);
  if (!st.ok()) return st.status();
  auto [pos, inserted] =
      cache_.emplace(std::string(sql), std::make_unique<Statement>(std::move(*st)));
  return pos->second.get();
}

Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::Io(fmt::format("database error: {}", msg));
  }
  return Status::Ok();
}

Result<Statement> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return Status::Internal(fmt::format("database error: {} in {}", sqlite3_errmsg(db_), sql));
  }
  return Statement(db_, stmt);
}

void Db::Rollback() { Exec("ROLLBACK").ok(); }

}  // namespace weft::meta
