// A thin SQLite adapter (sqlite.cc is the only file that includes sqlite3.h).
//
// One Db per process and workspace. Write transactions begin with BEGIN IMMEDIATE, so a writer
// waits for the lock up front (busy timeout) instead of failing halfway with "database is locked".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace weft::meta {

class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& BindNull(int index);
  // Advances; true when a row is available.
  Result<bool> Step();
  // Runs to completion (for writes).
  Status Run();
  void Reset();

  std::string Text(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  bool IsNull(int column) const;

 private:
  friend class Db;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  // Opens (creating) the database file in WAL mode with synchronous=NORMAL.
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // A statement prepared once and kept for the Db's lifetime (reset before it is returned), for
  // the statements a run executes per step. The SQL text must be a literal or otherwise stable.
  Result<Statement*> Cached(std::string_view sql);
  Status BeginImmediate() { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() { return Exec("COMMIT"); }
  void Rollback();

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

}  // namespace weft::meta
