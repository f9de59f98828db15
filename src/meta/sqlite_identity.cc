// The SQLite metadata store's part for a server: projects, tokens, the audit log, published
// pipelines and idempotency keys.
#include <fmt/format.h>

#include "meta/sqlite_meta_store.h"

namespace weft::meta {
namespace {

constexpr const char* kProjectColumns =
    "name, description, created_ns, max_cpus, max_gpus, max_memory_mb, max_running, datastores";

ProjectRecord ReadProject(const Statement& q) {
  ProjectRecord p{q.Text(0), q.Text(1), q.Int(2), q.Double(3), q.Int(4), q.Int(5), q.Int(6), {}};
  std::string names = q.Text(7);
  for (size_t at = 0; at < names.size();) {
    size_t nl = std::min(names.find('\n', at), names.size());
    p.datastores.push_back(names.substr(at, nl - at));
    at = nl + 1;
  }
  return p;
}

constexpr const char* kTokenColumns =
    "id, name, project, role, hash, created_ns, expires_ns, revoked_ns, created_by";

TokenRecord ReadToken(const Statement& q) {
  return TokenRecord{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4),
                     q.Int(5),  q.Int(6),  q.Int(7),  q.Text(8)};
}

AuditRecord ReadAudit(const Statement& q) {
  return AuditRecord{q.Int(0),  q.Int(1),  q.Text(2), q.Text(3),
                     q.Text(4), q.Text(5), q.Text(6)};
}

}  // namespace

Status SqliteMetaStore::PutProject(const ProjectRecord& p) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT OR REPLACE INTO projects({}) VALUES(?,?,?,?,?,?,?,?)", kProjectColumns));
  if (!q.ok()) return q.status();
  std::string names;
  for (const std::string& d : p.datastores) names += (names.empty() ? "" : "\n") + d;
  q->Bind(1, p.name).Bind(2, p.description).Bind(3, p.created_ns).Bind(4, p.max_cpus);
  q->Bind(5, p.max_gpus).Bind(6, p.max_memory_mb).Bind(7, p.max_running).Bind(8, names);
  return q->Run();
}

Result<std::optional<ProjectRecord>> SqliteMetaStore::FindProject(const std::string& name) {
  Result<Statement> q =
      db_->Prepare(fmt::format("SELECT {} FROM projects WHERE name = ?", kProjectColumns));
  if (q.ok()) q->Bind(1, name);
  Result<std::vector<ProjectRecord>> rows = All<ProjectRecord>(q, ReadProject);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ProjectRecord>();
  return std::optional<ProjectRecord>(rows->front());
}

Result<std::vector<ProjectRecord>> SqliteMetaStore::Projects() {
  Result<Statement> q =
      db_->Prepare(fmt::format("SELECT {} FROM projects ORDER BY name", kProjectColumns));
  return All<ProjectRecord>(q, ReadProject);
}

Status SqliteMetaStore::PutToken(const TokenRecord& t) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT OR REPLACE INTO tokens({}) VALUES(?,?,?,?,?,?,?,?,?)", kTokenColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, t.id).Bind(2, t.name).Bind(3, t.project).Bind(4, t.role).Bind(5, t.hash);
  q->Bind(6, t.created_ns).Bind(7, t.expires_ns).Bind(8, t.revoked_ns).Bind(9, t.created_by);
  return q->Run();
}

Result<std::optional<TokenRecord>> SqliteMetaStore::FindToken(const std::string& id) {
  Result<Statement*> q = db_->Cached(fmt::format("SELECT {} FROM tokens WHERE id = ?", kTokenColumns));
  if (!q.ok()) return q.status();
  (*q)->Bind(1, id);
  Result<std::vector<TokenRecord>> rows = AllRows<TokenRecord>(**q, ReadToken);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(rows->front());
}

Result<std::vector<TokenRecord>> SqliteMetaStore::Tokens(const std::string& project) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM tokens WHERE project = ? ORDER BY created_ns DESC, id", kTokenColumns));
  if (q.ok()) q->Bind(1, project);
  return All<TokenRecord>(q, ReadToken);
}

Status SqliteMetaStore::AppendAudit(const AuditRecord& e) {
  Result<Statement*> q = db_->Cached(
      "INSERT INTO audit(at_ns, who, project, action, target, detail) VALUES(?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, e.at_ns).Bind(2, e.who).Bind(3, e.project).Bind(4, e.action)
      .Bind(5, e.target).Bind(6, e.detail).Run();
}

Result<std::vector<AuditRecord>> SqliteMetaStore::Audit(const std::optional<std::string>& project,
                                                        int64_t limit, int64_t before_seq) {
  Result<Statement> q = db_->Prepare(
      "SELECT seq, at_ns, who, project, action, target, detail FROM audit WHERE (? OR project = ?) "
      "AND (? = 0 OR seq < ?) ORDER BY seq DESC LIMIT ?");
  if (q.ok()) {
    q->Bind(1, int64_t{!project}).Bind(2, project.value_or("")).Bind(3, before_seq);
    q->Bind(4, before_seq).Bind(5, limit);
  }
  return All<AuditRecord>(q, ReadAudit);
}

namespace {

constexpr const char* kVersionColumns =
    "project, name, version, digest, folder, file, description, created_ns, created_by";

PipelineVersionRecord ReadVersion(const Statement& q) {
  return PipelineVersionRecord{q.Text(0), q.Text(1), q.Int(2), q.Text(3), q.Text(4),
                               q.Text(5), q.Text(6), q.Int(7), q.Text(8)};
}

}  // namespace

Status SqliteMetaStore::PutPipelineVersion(const PipelineVersionRecord& v) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT INTO pipeline_versions({}) VALUES(?,?,?,?,?,?,?,?,?)", kVersionColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, v.project).Bind(2, v.name).Bind(3, v.version).Bind(4, v.digest).Bind(5, v.folder);
  q->Bind(6, v.file).Bind(7, v.description).Bind(8, v.created_ns).Bind(9, v.created_by);
  Status s = q->Run();
  if (!s.ok()) return s;
  Result<Statement> d = db_->Prepare(
      "INSERT OR IGNORE INTO pipelines(project, name, default_version) VALUES(?,?,?)");
  if (!d.ok()) return d.status();
  return d->Bind(1, v.project).Bind(2, v.name).Bind(3, v.version).Run();
}

Result<std::vector<PipelineVersionRecord>> SqliteMetaStore::PipelineVersions(
    const std::string& project, const std::string& name) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM pipeline_versions WHERE project = ? AND name = ? ORDER BY version",
      kVersionColumns));
  if (q.ok()) q->Bind(1, project).Bind(2, name);
  return All<PipelineVersionRecord>(q, ReadVersion);
}

Status SqliteMetaStore::SetDefaultPipelineVersion(const std::string& project,
                                                  const std::string& name, int64_t version) {
  Result<Statement> q =
      db_->Prepare("UPDATE pipelines SET default_version = ? WHERE project = ? AND name = ?");
  if (!q.ok()) return q.status();
  return q->Bind(1, version).Bind(2, project).Bind(3, name).Run();
}

Result<std::vector<PipelineRecord>> SqliteMetaStore::Pipelines(const std::string& project) {
  Result<Statement> q = db_->Prepare(
      "SELECT p.project, p.name, p.default_version, MAX(v.version) FROM pipelines p JOIN "
      "pipeline_versions v ON v.project = p.project AND v.name = p.name WHERE (? = '' OR "
      "p.project = ?) GROUP BY p.project, p.name ORDER BY p.project, p.name");
  if (q.ok()) q->Bind(1, project).Bind(2, project);
  return All<PipelineRecord>(q, [](const Statement& s) {
    return PipelineRecord{s.Text(0), s.Text(1), s.Int(2), s.Int(3)};
  });
}

Result<std::optional<IdempotencyRecord>> SqliteMetaStore::FindIdempotencyKey(
    const std::string& project, const std::string& key) {
  Result<Statement> q = db_->Prepare(
      "SELECT project, key, request, run_id, created_ns FROM idempotency_keys WHERE project = ? "
      "AND key = ?");
  if (q.ok()) q->Bind(1, project).Bind(2, key);
  Result<std::vector<IdempotencyRecord>> rows = All<IdempotencyRecord>(q, [](const Statement& s) {
    return IdempotencyRecord{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
  });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<IdempotencyRecord>();
  return std::optional<IdempotencyRecord>(rows->front());
}

Status SqliteMetaStore::PutIdempotencyKey(const IdempotencyRecord& r) {
  Result<Statement> q = db_->Prepare(
      "INSERT OR REPLACE INTO idempotency_keys(project, key, request, run_id, created_ns) "
      "VALUES(?,?,?,?,?)");
  if (!q.ok()) return q.status();
  return q->Bind(1, r.project).Bind(2, r.key).Bind(3, r.request).Bind(4, r.run_id)
      .Bind(5, r.created_ns).Run();
}

Status SqliteMetaStore::DeleteIdempotencyKey(const std::string& project, const std::string& key) {
  Result<Statement> q = db_->Prepare("DELETE FROM idempotency_keys WHERE project = ? AND key = ?");
  if (!q.ok()) return q.status();
  return q->Bind(1, project).Bind(2, key).Run();
}

}  // namespace weft::meta
