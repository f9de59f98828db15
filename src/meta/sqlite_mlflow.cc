// The SQLite metadata store's MLflow experiments and the runs made through the MLflow endpoint.
#include <fmt/format.h>

#include "meta/sqlite_meta_store.h"

namespace weft::meta {
namespace {

constexpr const char* kExperimentColumns =
    "project, id, name, lifecycle, created_ms, updated_ms, tags";

MlflowExperimentRecord ReadExperiment(const Statement& q) {
  return MlflowExperimentRecord{q.Text(0), q.Int(1), q.Text(2), q.Text(3),
                                q.Int(4),  q.Int(5), q.Text(6)};
}

constexpr const char* kRunColumns =
    "id, project, experiment, name, user, status, start_ms, end_ms, lifecycle, created_by";

MlflowRunRecord ReadRun(const Statement& q) {
  return MlflowRunRecord{q.Text(0), q.Text(1), q.Int(2), q.Text(3), q.Text(4),
                         q.Text(5), q.Int(6),  q.Int(7), q.Text(8), q.Text(9)};
}

}  // namespace

Result<int64_t> SqliteMetaStore::PutMlflowExperiment(const MlflowExperimentRecord& e) {
  int64_t id = e.id;
  if (id < 0) {
    Result<Statement> next = db_->Prepare(
        "SELECT COALESCE(MAX(id) + 1, 0) FROM mlflow_experiments WHERE project = ?");
    if (!next.ok()) return next.status();
    next->Bind(1, e.project);
    Result<bool> row = next->Step();
    if (!row.ok()) return row.status();
    id = *row ? next->Int(0) : 0;
  }
  Result<Statement> q = db_->Prepare(fmt::format(
      "INSERT OR REPLACE INTO mlflow_experiments({}) VALUES(?,?,?,?,?,?,?)", kExperimentColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, e.project).Bind(2, id).Bind(3, e.name).Bind(4, e.lifecycle);
  Status s = q->Bind(5, e.created_ms).Bind(6, e.updated_ms).Bind(7, e.tags).Run();
  if (!s.ok()) return s;
  return id;
}

Result<std::vector<MlflowExperimentRecord>> SqliteMetaStore::MlflowExperiments(
    const std::string& project) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM mlflow_experiments WHERE project = ? ORDER BY id", kExperimentColumns));
  if (q.ok()) q->Bind(1, project);
  return All<MlflowExperimentRecord>(q, ReadExperiment);
}

Status SqliteMetaStore::PutMlflowRun(const MlflowRunRecord& r) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT OR REPLACE INTO mlflow_runs({}) VALUES(?,?,?,?,?,?,?,?,?,?)", kRunColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, r.id).Bind(2, r.project).Bind(3, r.experiment).Bind(4, r.name).Bind(5, r.user);
  q->Bind(6, r.status).Bind(7, r.start_ms).Bind(8, r.end_ms).Bind(9, r.lifecycle);
  return q->Bind(10, r.created_by).Run();
}

Result<std::optional<MlflowRunRecord>> SqliteMetaStore::FindMlflowRun(const std::string& id) {
  Result<Statement> q =
      db_->Prepare(fmt::format("SELECT {} FROM mlflow_runs WHERE id = ?", kRunColumns));
  if (q.ok()) q->Bind(1, id);
  Result<std::vector<MlflowRunRecord>> rows = All<MlflowRunRecord>(q, ReadRun);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<MlflowRunRecord>();
  return std::optional<MlflowRunRecord>(std::move(rows->front()));
}

Result<std::vector<MlflowRunRecord>> SqliteMetaStore::MlflowRuns(const std::string& project) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM mlflow_runs WHERE project = ? ORDER BY start_ms, id", kRunColumns));
  if (q.ok()) q->Bind(1, project);
  return All<MlflowRunRecord>(q, ReadRun);
}

}  // namespace weft::meta
