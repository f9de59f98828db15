#include "meta/sqlite_meta.h"

#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/json.h"
#include "meta/sqlite.h"
#include "meta/sqlite_meta_store.h"
#include "meta/sqlite_schema.h"

namespace weft::meta {
namespace {

constexpr int64_t kClockTickNs = 10'000'000;  // mtimes within this of hashing are not trusted

int64_t Ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

StepRecord ReadStep(const Statement& q) {
  StepRecord s;
  s.run_id = q.Text(0);
  s.index = q.Int(1);
  s.name = q.Text(2);
  s.component = q.Text(3);
  s.status = ParseStepStatus(q.Text(4)).value_or(StepStatus::kPending);
  s.fingerprint = q.Text(5);
  s.reused_run = q.Text(6);
  s.reused_index = q.IsNull(7) ? -1 : q.Int(7);
  s.attempt = q.Int(8);
  s.started_ns = q.Int(9);
  s.finished_ns = q.Int(10);
  s.exit_code = q.IsNull(11) ? -1 : q.Int(11);
  s.message = q.Text(12);
  s.deterministic = q.Int(13) != 0;
  s.job = q.Text(14);
  s.target = q.Text(15);
  s.jobs = q.Int(16);
  return s;
}

// An output's columns, from `first` on: name, digest, type, object_name, bytes, inode, mtime_ns.
OutputRecord ReadOutput(const Statement& q, int first) {
  return OutputRecord{q.Text(first), q.Text(first + 1),
                      store::ParseObjectType(q.Text(first + 2)).value_or(store::ObjectType::kFolder),
                      q.Text(first + 3), q.Int(first + 4),
                      store::Seal{q.Int(first + 5), q.Int(first + 6)}};
}

constexpr const char* kStepColumns =
    "s.run_id, s.idx, s.name, s.component, s.status, s.fingerprint, s.reused_run, s.reused_idx, "
    "s.attempt, s.started_ns, s.finished_ns, s.exit_code, s.message, s.deterministic, s.job, "
    "s.target, s.jobs";
constexpr int kStepColumnCount = 17;

RunRecord ReadRun(const Statement& q) {
  RunRecord r;
  r.id = q.Text(0);
  r.seq = q.Int(1);
  r.pipeline_file = q.Text(2);
  r.name = q.Text(3);
  r.experiment = q.Text(4);
  r.status = ParseRunStatus(q.Text(5)).value_or(RunStatus::kRunning);
  r.created_ns = q.Int(6);
  r.finished_ns = q.Int(7);
  r.exit_code = q.IsNull(8) ? -1 : static_cast<int>(q.Int(8));
  r.seeds_reuse = q.Int(9) != 0;
  r.workdir = q.Text(10);
  r.owner = q.Text(11);
  if (std::optional<Json> tags = Json::Parse(q.Text(12)); tags && tags->Members()) {
    for (const auto& [k, v] : *tags->Members()) {
      if (v.String()) r.tags.emplace_back(k, *v.String());
    }
  }
  r.submission = q.Text(13);
  r.resumes = q.Text(14);
  r.project = q.Text(15);
  return r;
}

constexpr const char* kRunColumns =
    "id, seq, pipeline_file, name, experiment, status, created_ns, finished_ns, exit_code, "
    "seeds_reuse, workdir, owner, tags, submission, resumes, project";

constexpr const char* kAssetColumns =
    "kind, registry, name, version, digest, entry, type, description, source, created_ns, archived, "
    "project";

AssetRecord ReadAsset(const Statement& q) {
  return AssetRecord{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5),
                     q.Text(6), q.Text(7), q.Text(8), q.Int(9),  q.Int(10) != 0, q.Text(11)};
}

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenSqliteMeta(const std::string& path) {
  Result<std::unique_ptr<Db>> db = Db::Open(path);
  if (!db.ok()) return db.status();
  auto m = std::make_unique<SqliteMetaStore>(std::move(*db));
  Status s = m->Migrate();
  if (!s.ok()) return s;
  return std::unique_ptr<MetaStore>(std::move(m));
}

Status SqliteMetaStore::Migrate() {
  Status s = db_->BeginImmediate();
  if (!s.ok()) return s;
  int64_t version = 0;
  {  // finished before migrating: a pending statement would keep schema changes from running
    Result<Statement> q = db_->Prepare("PRAGMA user_version");
    if (!q.ok()) {
      db_->Rollback();
      return q.status();
    }
    Result<bool> row = q->Step();
    if (row.ok() && *row) version = q->Int(0);
  }
  std::span<const char* const> migrations = Migrations();
  int64_t latest = static_cast<int64_t>(migrations.size());
  if (version > latest) {
    db_->Rollback();
    return Status::Invalid(fmt::format("the workspace database has schema version {}, newer than "
                                       "this weft understands ({}); upgrade weft",
                                       version, latest));
  }
  for (int64_t v = version; v < latest; ++v) {
    s = db_->Exec(migrations[v]);
    if (s.ok()) s = db_->Exec(fmt::format("PRAGMA user_version = {}", v + 1));
    if (!s.ok()) {
      db_->Rollback();
      return s;
    }
  }
  return db_->Commit();
}

Result<RunRecord> SqliteMetaStore::CreateRun(RunRecord run) {
  Result<Statement> q = db_->Prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs");
  if (!q.ok()) return q.status();
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  run.seq = q->Int(0);
  run.id = fmt::format("r{}", run.seq);
  Result<Statement> ins = db_->Prepare(fmt::format(
      "INSERT INTO runs({}) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", kRunColumns));
  if (!ins.ok()) return ins.status();
  ins->Bind(1, run.id).Bind(2, run.seq).Bind(3, run.pipeline_file).Bind(4, run.name);
  ins->Bind(5, run.experiment).Bind(6, std::string(Name(run.status))).Bind(7, run.created_ns);
  ins->Bind(8, run.finished_ns).Bind(9, int64_t{run.exit_code});
  ins->Bind(10, int64_t{run.seeds_reuse}).Bind(11, run.workdir).Bind(12, run.owner);
  Json tags = Json::MakeObject();
  for (const auto& [k, v] : run.tags) tags.Set(k, v);
  ins->Bind(13, tags.Dump(-1)).Bind(14, run.submission).Bind(15, run.resumes);
  ins->Bind(16, run.project);
  Status s = ins->Run();
  if (!s.ok()) return s;
  return run;
}

Status SqliteMetaStore::PutEnvironment(const std::string& identity, const std::string& description) {
  Result<Statement*> q =
      db_->Cached("INSERT OR IGNORE INTO environments(identity, description) VALUES(?, ?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, identity).Bind(2, description).Run();
}

Result<std::optional<std::string>> SqliteMetaStore::EnvironmentDescription(const std::string& identity) {
  Result<Statement> q = db_->Prepare("SELECT description FROM environments WHERE identity = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, identity);
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q->Text(0));
}

Status SqliteMetaStore::PutRunObjects(const std::string& run, const std::vector<std::string>& digests) {
  Result<Statement*> q = db_->Cached("INSERT OR IGNORE INTO run_objects VALUES(?, ?)");
  if (!q.ok()) return q.status();
  for (const std::string& d : digests) {
    Status s = (*q)->Bind(1, run).Bind(2, d).Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SqliteMetaStore::PutWarning(const std::string& run, const std::string& message) {
  Result<Statement*> q = db_->Cached(
      "INSERT INTO run_warnings VALUES(?1, "
      "(SELECT COALESCE(MAX(seq), -1) + 1 FROM run_warnings WHERE run_id = ?1), ?2)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run).Bind(2, message).Run();
}

Result<std::vector<std::string>> SqliteMetaStore::Warnings(const std::string& run) {
  Result<Statement> q = db_->Prepare("SELECT message FROM run_warnings WHERE run_id = ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, run);
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(q->Text(0));
  }
}

Status SqliteMetaStore::SetRunOwner(const std::string& id, const std::string& owner) {
  Result<Statement> q = db_->Prepare("UPDATE runs SET owner=? WHERE id=?");
  if (!q.ok()) return q.status();
  return q->Bind(1, owner).Bind(2, id).Run();
}

Status SqliteMetaStore::FinishRun(const std::string& id, RunStatus status, int exit_code,
                            int64_t finished_ns) {
  Result<Statement> q =
      db_->Prepare("UPDATE runs SET status=?, exit_code=?, finished_ns=? WHERE id=?");
  if (!q.ok()) return q.status();
  return q->Bind(1, std::string(Name(status))).Bind(2, int64_t{exit_code}).Bind(3, finished_ns)
      .Bind(4, id).Run();
}

Status SqliteMetaStore::PutStep(const StepRecord& st) {
  Result<Statement*> r = db_->Cached(
      "INSERT OR REPLACE INTO steps(run_id, idx, name, component, status, fingerprint, "
      "reused_run, reused_idx, attempt, started_ns, finished_ns, exit_code, message, "
      "deterministic, job, target, jobs) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!r.ok()) return r.status();
  Statement& q = **r;
  q.Bind(1, st.run_id).Bind(2, st.index).Bind(3, st.name).Bind(4, st.component);
  q.Bind(5, std::string(Name(st.status))).Bind(6, st.fingerprint).Bind(7, st.reused_run);
  if (st.reused_index >= 0) q.Bind(8, st.reused_index); else q.BindNull(8);
  q.Bind(9, st.attempt).Bind(10, st.started_ns).Bind(11, st.finished_ns);
  if (st.exit_code >= 0) q.Bind(12, st.exit_code); else q.BindNull(12);
  q.Bind(13, st.message).Bind(14, int64_t{st.deterministic}).Bind(15, st.job);
  q.Bind(16, st.target).Bind(17, st.jobs);
  return q.Run();
}

Status SqliteMetaStore::AddTransition(const std::string& run, int64_t index, StepStatus status,
                                int64_t at_ns) {
  Result<Statement*> q = db_->Cached("INSERT INTO transitions VALUES(?,?,?,?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run).Bind(2, index).Bind(3, std::string(Name(status))).Bind(4, at_ns).Run();
}

Status SqliteMetaStore::PutFingerprint(const std::string& fingerprint,
                                 const std::vector<std::pair<std::string, std::string>>& fields) {
  // A fingerprint's fields never change: write them once.
  Result<Statement*> known =
      db_->Cached("SELECT 1 FROM fingerprint_fields WHERE fingerprint = ? LIMIT 1");
  if (!known.ok()) return known.status();
  (*known)->Bind(1, fingerprint);
  Result<bool> row = (*known)->Step();
  (*known)->Reset();
  if (!row.ok()) return row.status();
  if (*row) return Status::Ok();
  Result<Statement*> q = db_->Cached("INSERT OR IGNORE INTO fingerprint_fields VALUES(?,?,?,?)");
  if (!q.ok()) return q.status();
  for (size_t i = 0; i < fields.size(); ++i) {
    Status s = (*q)->Bind(1, fingerprint)
                   .Bind(2, static_cast<int64_t>(i))
                   .Bind(3, fields[i].first)
                   .Bind(4, fields[i].second)
                   .Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SqliteMetaStore::PutOutput(const std::string& run, int64_t index, const OutputRecord& o) {
  Result<Statement*> q = db_->Cached("INSERT OR REPLACE INTO step_outputs VALUES(?,?,?,?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run).Bind(2, index).Bind(3, o.name).Bind(4, o.digest)
      .Bind(5, std::string(store::TypeName(o.type))).Bind(6, o.object_name).Bind(7, o.bytes)
      .Bind(8, o.seal.inode).Bind(9, o.seal.mtime_ns).Run();
}

Status SqliteMetaStore::PutInput(const std::string& run, int64_t index, const InputRecord& in) {
  Result<Statement*> q = db_->Cached("INSERT OR REPLACE INTO step_inputs VALUES(?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run).Bind(2, index).Bind(3, in.name).Bind(4, in.kind).Bind(5, in.value)
      .Bind(6, in.digest).Run();
}

Result<std::vector<ReuseCandidate>> SqliteMetaStore::ReuseCandidates(const std::string& fingerprint,
                                                                    const std::string& project) {
  Result<Statement*> r = db_->Cached(
      "SELECT s.run_id, s.idx, s.name, o.name, o.digest, o.type, o.object_name, o.bytes, o.inode, "
      "o.mtime_ns FROM steps s JOIN runs r ON r.id = s.run_id LEFT JOIN step_outputs o ON "
      "o.run_id = s.run_id AND o.idx = s.idx WHERE s.fingerprint = ? AND s.status = 'succeeded' "
      "AND r.seeds_reuse = 1 AND r.project = ? ORDER BY s.finished_ns DESC LIMIT 256");  // outputs follow their step
  if (!r.ok()) return r.status();
  Statement& q = **r;
  q.Bind(1, fingerprint).Bind(2, project);
  std::vector<ReuseCandidate> out;
  while (true) {
    Result<bool> row = q.Step();
    if (!row.ok()) {
      q.Reset();
      return row.status();
    }
    if (!*row) break;
    // Rows of one step come together in practice; grouping does not rely on it.
    std::string run = q.Text(0);
    int64_t idx = q.Int(1);
    auto it = std::find_if(out.rbegin(), out.rend(), [&](const ReuseCandidate& c) {
      return c.index == idx && c.run_id == run;
    });
    ReuseCandidate& c = it != out.rend() ? *it : out.emplace_back(ReuseCandidate{run, idx, q.Text(2), {}});
    if (!q.IsNull(3)) {
      c.outputs.push_back(ReadOutput(q, 3));
    }
  }
  q.Reset();
  for (ReuseCandidate& c : out) {
    std::sort(c.outputs.begin(), c.outputs.end(),
              [](const OutputRecord& a, const OutputRecord& b) { return a.name < b.name; });
  }
  return out;
}

Result<std::vector<OutputRecord>> SqliteMetaStore::Outputs(const std::string& run, int64_t index) {
  Result<Statement*> q = db_->Cached(
      "SELECT name, digest, type, object_name, bytes, inode, mtime_ns FROM step_outputs WHERE "
      "run_id = ? AND idx = ? ORDER BY name");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run).Bind(2, index);
  return AllRows<OutputRecord>(**q, [](const Statement& s) { return ReadOutput(s, 0); });
}

Result<std::vector<InputRecord>> SqliteMetaStore::Inputs(const std::string& run, int64_t index) {
  Result<Statement> q = db_->Prepare(
      "SELECT name, kind, value, digest FROM step_inputs WHERE run_id = ? AND idx = ? ORDER BY "
      "name");
  if (q.ok()) q->Bind(1, run).Bind(2, index);
  return All<InputRecord>(q, [](const Statement& s) {
    return InputRecord{s.Text(0), s.Text(1), s.Text(2), s.Text(3)};
  });
}

Result<Claim> SqliteMetaStore::Claim(const meta::Claim& mine) {
  Result<Statement*> ins = db_->Cached("INSERT OR IGNORE INTO claims VALUES(?,?,?,?,?)");
  if (!ins.ok()) return ins.status();
  Status s = (*ins)->Bind(1, mine.fingerprint).Bind(2, mine.run_id).Bind(3, mine.index)
                 .Bind(4, mine.owner).Bind(5, mine.heartbeat_ns).Run();
  if (!s.ok()) return s;
  Result<std::optional<meta::Claim>> holder = ClaimOn(mine.fingerprint);
  if (!holder.ok()) return holder.status();
  if (!*holder) return Status::Internal("a claim vanished inside its transaction");
  return **holder;
}

Result<std::optional<Claim>> SqliteMetaStore::ClaimOn(const std::string& fingerprint) {
  Result<Statement*> q = db_->Cached(
      "SELECT fingerprint, run_id, idx, owner, heartbeat_ns FROM claims WHERE fingerprint = ?");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, fingerprint);
  Result<std::vector<meta::Claim>> rows = AllRows<meta::Claim>(**q, [](const Statement& r) {
    return meta::Claim{r.Text(0), r.Text(1), r.Int(2), r.Text(3), r.Int(4)};
  });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<meta::Claim>();
  return std::optional<meta::Claim>(rows->front());
}

Status SqliteMetaStore::TakeOverClaim(const meta::Claim& mine, const std::string& from_owner) {
  Result<Statement*> q = db_->Cached(
      "UPDATE claims SET run_id = ?, idx = ?, owner = ?, heartbeat_ns = ? WHERE fingerprint = ? "
      "AND owner = ?");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, mine.run_id).Bind(2, mine.index).Bind(3, mine.owner).Bind(4, mine.heartbeat_ns)
      .Bind(5, mine.fingerprint).Bind(6, from_owner).Run();
}

Status SqliteMetaStore::ReleaseClaims(const std::string& run_id, const std::string& fingerprint) {
  // One claim by its key (the table's index), else all of the run's.
  Result<Statement*> q = fingerprint.empty()
                             ? db_->Cached("DELETE FROM claims WHERE run_id = ? AND ? = ''")
                             : db_->Cached("DELETE FROM claims WHERE run_id = ? AND fingerprint = ?");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, run_id).Bind(2, fingerprint).Run();
}

Status SqliteMetaStore::Heartbeat(const std::string& owner, int64_t now_ns) {
  Result<Statement*> q = db_->Cached("UPDATE claims SET heartbeat_ns = ? WHERE owner = ?");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, now_ns).Bind(2, owner).Run();
}

// The steps whose inputs or outputs (`table`) held `digest`, oldest run first, with the port and
// (inputs only) its recorded value.
Result<std::vector<PortUse>> SqliteMetaStore::PortUses(const char* table, const std::string& digest) {
  bool inputs = std::string_view(table) == "step_inputs";
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {}, p.name, {} FROM {} p JOIN steps s ON s.run_id = p.run_id AND s.idx = p.idx "
      "JOIN runs r ON r.id = s.run_id WHERE p.digest = ? ORDER BY r.seq, s.idx, p.name",
      kStepColumns, inputs ? "p.value" : "''", table));
  if (q.ok()) q->Bind(1, digest);
  return All<PortUse>(q, [](const Statement& s) {
    return PortUse{ReadStep(s), s.Text(kStepColumnCount), s.Text(kStepColumnCount + 1)};
  });
}

Result<std::vector<PortUse>> SqliteMetaStore::Producers(const std::string& digest) {
  return PortUses("step_outputs", digest);
}

Result<std::vector<PortUse>> SqliteMetaStore::Consumers(const std::string& digest) {
  return PortUses("step_inputs", digest);
}

Result<std::vector<StepRecord>> SqliteMetaStore::Reusers(const std::string& run, int64_t index) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM steps s JOIN runs r ON r.id = s.run_id WHERE s.reused_run = ? AND "
      "s.reused_idx = ? ORDER BY r.seq",
      kStepColumns));
  if (q.ok()) q->Bind(1, run).Bind(2, index);
  return All<StepRecord>(q, ReadStep);
}

Result<std::vector<AssetRecord>> SqliteMetaStore::AssetsWithDigest(const std::string& digest) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM assets WHERE digest = ? ORDER BY kind, name, created_ns", kAssetColumns));
  if (q.ok()) q->Bind(1, digest);
  return All<AssetRecord>(q, ReadAsset);
}

Result<std::vector<std::string>> SqliteMetaStore::ReferencedDigests(int64_t keep_runs) {
  Result<Statement> q = db_->Prepare(
      "WITH kept(id) AS (SELECT id FROM runs WHERE ?1 < 0 OR status = 'running' OR "
      "  seq > (SELECT COALESCE(MAX(seq), 0) FROM runs) - ?1) "
      "SELECT digest FROM assets "
      "UNION SELECT i.digest FROM step_inputs i JOIN kept k ON i.run_id = k.id "
      "UNION SELECT o.digest FROM step_outputs o JOIN kept k ON o.run_id = k.id "
      "UNION SELECT o.digest FROM steps s JOIN kept k ON s.run_id = k.id JOIN step_outputs o ON "
      "  o.run_id = s.reused_run AND o.idx = s.reused_idx "
      "UNION SELECT o.digest FROM run_objects o JOIN kept k ON o.run_id = k.id");
  if (q.ok()) q->Bind(1, keep_runs);
  Result<std::vector<std::string>> all = All<std::string>(q, [](const Statement& s) { return s.Text(0); });
  if (all.ok()) std::erase(*all, std::string());
  return all;
}

Result<std::vector<std::string>> SqliteMetaStore::DigestsWithPrefix(const std::string& prefix,
                                                              int64_t limit) {
  // Ranges, so that each table's digest index is used.
  Result<Statement> q = db_->Prepare(
      "SELECT digest FROM step_outputs WHERE digest >= ?1 AND digest < ?1 || 'g' UNION "
      "SELECT digest FROM step_inputs WHERE digest >= ?1 AND digest < ?1 || 'g' UNION "
      "SELECT digest FROM assets WHERE digest >= ?1 AND digest < ?1 || 'g' LIMIT ?2");
  if (q.ok()) q->Bind(1, prefix).Bind(2, limit);
  return All<std::string>(q, [](const Statement& s) { return s.Text(0); });
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteMetaStore::FingerprintFields(
    const std::string& fingerprint) {
  Result<Statement> q = db_->Prepare(
      "SELECT label, value FROM fingerprint_fields WHERE fingerprint = ? ORDER BY ord");
  if (q.ok()) q->Bind(1, fingerprint);
  return All<std::pair<std::string, std::string>>(
      q, [](const Statement& s) { return std::make_pair(s.Text(0), s.Text(1)); });
}

Result<std::optional<StepRecord>> SqliteMetaStore::PreviousStep(const std::string& project,
                                                          const std::string& experiment,
                                                          const std::string& name,
                                                          const std::string& component,
                                                          int64_t before_seq) {
  for (int pass = 0; pass < 2; ++pass) {
    Result<Statement> q = db_->Prepare(fmt::format(
        "SELECT {} FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.seq < ? AND r.project = ? "
        "AND s.fingerprint != '' AND {} ORDER BY r.seq DESC LIMIT 1",
        kStepColumns, pass == 0 ? "r.experiment = ? AND s.name = ?" : "s.component = ?"));
    if (!q.ok()) return q.status();
    q->Bind(1, before_seq).Bind(2, project);
    if (pass == 0) {
      q->Bind(3, experiment).Bind(4, name);
    } else {
      if (component.empty() || component == "(inline)") break;
      q->Bind(3, component);
    }
    Result<std::vector<StepRecord>> rows = All<StepRecord>(q, ReadStep);
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) return std::optional<StepRecord>(rows->front());
  }
  return std::optional<StepRecord>();
}

Status SqliteMetaStore::PutAsset(const AssetRecord& a) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT INTO assets({}) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", kAssetColumns));
  if (!q.ok()) return q.status();
  return q->Bind(1, a.kind).Bind(2, a.registry).Bind(3, a.name).Bind(4, a.version)
      .Bind(5, a.digest).Bind(6, a.entry).Bind(7, a.type).Bind(8, a.description)
      .Bind(9, a.source).Bind(10, a.created_ns).Bind(11, int64_t{a.archived})
      .Bind(12, a.project).Run();
}

Result<std::optional<AssetRecord>> SqliteMetaStore::FindAsset(const std::string& kind,
                                                        const std::string& registry,
                                                        const std::string& name,
                                                        const std::string& version,
                                                        const std::string& project) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM assets WHERE kind = ? AND registry = ? AND name = ? AND {} AND project = ? "
      "ORDER BY created_ns DESC, rowid DESC LIMIT 1",
      kAssetColumns, version.empty() ? "archived = 0 AND ? = ''" : "version = ?"));
  if (q.ok()) q->Bind(1, kind).Bind(2, registry).Bind(3, name).Bind(4, version).Bind(5, project);
  Result<std::vector<AssetRecord>> rows = All<AssetRecord>(q, ReadAsset);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AssetRecord>();
  return std::optional<AssetRecord>(rows->front());
}

Result<std::vector<AssetRecord>> SqliteMetaStore::Assets(const std::string& kind, const std::string& name,
                                                   bool archived) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM assets WHERE kind = ? AND (? = '' OR name = ?) AND (? OR archived = 0) "
      "ORDER BY name, created_ns DESC, rowid DESC",
      kAssetColumns));
  if (q.ok()) q->Bind(1, kind).Bind(2, name).Bind(3, name).Bind(4, int64_t{archived});
  return All<AssetRecord>(q, ReadAsset);
}

Result<std::string> SqliteMetaStore::NextAssetVersion(const std::string& kind,
                                                const std::string& registry,
                                                const std::string& name,
                                                const std::string& project) {
  Result<Statement> q = db_->Prepare(
      "SELECT COALESCE(MAX(CAST(version AS INTEGER)), 0) + 1 FROM assets WHERE kind = ? AND "
      "registry = ? AND name = ? AND project = ? AND version GLOB '[0-9]*' AND version NOT GLOB "
      "'*[^0-9]*'");
  if (!q.ok()) return q.status();
  q->Bind(1, kind).Bind(2, registry).Bind(3, name).Bind(4, project);
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return std::to_string(q->Int(0));
}

Status SqliteMetaStore::ArchiveAsset(const AssetRecord& a) {
  Result<Statement> q = db_->Prepare(
      "UPDATE assets SET archived = 1 WHERE kind = ? AND registry = ? AND name = ? AND version = ? "
      "AND project = ?");
  if (!q.ok()) return q.status();
  return q->Bind(1, a.kind).Bind(2, a.registry).Bind(3, a.name).Bind(4, a.version)
      .Bind(5, a.project).Run();
}

Status SqliteMetaStore::PutMetrics(const std::string& run, int64_t index, int64_t job,
                                   const std::vector<MetricRecord>& metrics,
                                   const std::vector<ParamRecord>& params) {
  for (const char* table : {"metrics", "params"}) {  // an earlier attempt's
    Result<Statement*> clear =
        db_->Cached(fmt::format("DELETE FROM {} WHERE run_id = ? AND idx = ? AND job = ?", table));
    if (!clear.ok()) return clear.status();
    Status cleared = (*clear)->Bind(1, run).Bind(2, index).Bind(3, job).Run();
    if (!cleared.ok()) return cleared;
  }
  Result<Statement*> p = db_->Cached(
      "INSERT OR REPLACE INTO params(run_id, idx, job, kind, name, value, seq) VALUES(?,?,?,?,?,?,?)");
  if (!p.ok()) return p.status();
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamRecord& r = params[i];
    Status s = (*p)->Bind(1, run).Bind(2, index).Bind(3, job).Bind(4, r.kind).Bind(5, r.name)
                   .Bind(6, r.value).Bind(7, static_cast<int64_t>(i)).Run();
    if (!s.ok()) return s;
  }
  Result<Statement*> q = db_->Cached(
      "INSERT OR REPLACE INTO metrics(run_id, idx, job, seq, name, value, step, timestamp_ms) "
      "VALUES(?,?,?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  for (size_t i = 0; i < metrics.size(); ++i) {
    const MetricRecord& m = metrics[i];
    Statement& st = **q;
    st.Bind(1, run).Bind(2, index).Bind(3, job).Bind(4, static_cast<int64_t>(i)).Bind(5, m.name);
    st.Bind(6, m.value);
    if (m.step >= 0) st.Bind(7, m.step); else st.BindNull(7);
    Status s = st.Bind(8, m.timestamp_ms).Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<MetricRecord>> SqliteMetaStore::Metrics(const std::string& run, int64_t index,
                                                           int64_t job) {
  Result<Statement> q = db_->Prepare(
      "SELECT name, value, step, timestamp_ms FROM metrics WHERE run_id = ? AND idx = ? AND "
      "(? < 0 OR job = ?) ORDER BY job, seq");
  if (q.ok()) q->Bind(1, run).Bind(2, index).Bind(3, job).Bind(4, job);
  return All<MetricRecord>(q, [](const Statement& s) {
    return MetricRecord{s.Text(0), s.Double(1), s.IsNull(2) ? -1 : s.Int(2), s.Int(3)};
  });
}

Result<std::vector<ParamRecord>> SqliteMetaStore::Params(const std::string& run, int64_t index,
                                                         int64_t job) {
  Result<Statement> q = db_->Prepare(
      "SELECT kind, name, value FROM params WHERE run_id = ? AND idx = ? AND (? < 0 OR job = ?) "
      "ORDER BY kind, job, seq");
  if (q.ok()) q->Bind(1, run).Bind(2, index).Bind(3, job).Bind(4, job);
  return All<ParamRecord>(q, [](const Statement& s) {
    return ParamRecord{s.Text(0), s.Text(1), s.Text(2)};
  });
}

Status SqliteMetaStore::PutJob(const JobRecord& j) {
  Result<Statement*> r = db_->Cached("INSERT OR REPLACE INTO jobs VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  if (!r.ok()) return r.status();
  Statement& q = **r;
  q.Bind(1, j.run_id).Bind(2, j.index).Bind(3, j.job).Bind(4, std::string(Name(j.status)));
  q.Bind(5, j.attempt).Bind(6, j.target).Bind(7, j.job_id).Bind(8, j.started_ns);
  q.Bind(9, j.finished_ns);
  if (j.exit_code >= 0) q.Bind(10, j.exit_code); else q.BindNull(10);
  return q.Bind(11, j.message).Run();
}

Result<std::vector<JobRecord>> SqliteMetaStore::Jobs(const std::string& run, int64_t index) {
  Result<Statement> q = db_->Prepare(
      "SELECT run_id, idx, job, status, attempt, target, job_id, started_ns, finished_ns, "
      "exit_code, message FROM jobs WHERE run_id = ? AND idx = ? ORDER BY job");
  if (q.ok()) q->Bind(1, run).Bind(2, index);
  return All<JobRecord>(q, [](const Statement& s) {
    return JobRecord{s.Text(0), s.Int(1), s.Int(2),
                     ParseStepStatus(s.Text(3)).value_or(StepStatus::kPending), s.Int(4), s.Text(5),
                     s.Text(6), s.Int(7), s.Int(8), s.IsNull(9) ? -1 : s.Int(9), s.Text(10)};
  });
}

Status SqliteMetaStore::PutRunTracking(const std::string& run, const std::string& target,
                                       const std::string& tracking) {
  Result<Statement> q = db_->Prepare("INSERT OR REPLACE INTO run_tracking VALUES(?, ?, ?)");
  if (!q.ok()) return q.status();
  return q->Bind(1, run).Bind(2, target).Bind(3, tracking).Run();
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteMetaStore::RunTracking(
    const std::string& run) {
  Result<Statement> q =
      db_->Prepare("SELECT target, tracking FROM run_tracking WHERE run_id = ? ORDER BY target");
  if (q.ok()) q->Bind(1, run);
  return All<std::pair<std::string, std::string>>(
      q, [](const Statement& s) { return std::make_pair(s.Text(0), s.Text(1)); });
}

Result<std::vector<RunRecord>> SqliteMetaStore::Runs(int64_t limit, const RunFilter& filter) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM runs WHERE (? = '' OR experiment = ?) AND (? = '' OR status = ?) AND "
      "created_ns >= ? AND (? = '' OR EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE key = ? "
      "AND (? = '' OR value = ?))) AND (? = '' OR project = ?) AND (? = 0 OR seq < ?) "
      "AND (? = '' OR instr(lower(id || ' ' || name || ' ' || experiment || ' ' || tags), lower(?)) > 0) "
      "AND (? = '' OR name = ? OR EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE "
      "key = 'weft.pipeline' AND substr(value, 1, length(?) + 1) = ? || ':')) "
      "ORDER BY seq DESC LIMIT ?",
      kRunColumns));
  if (q.ok()) {
    std::string status = filter.status ? std::string(Name(*filter.status)) : "";
    q->Bind(1, filter.experiment).Bind(2, filter.experiment).Bind(3, status);
    q->Bind(4, status).Bind(5, filter.since_ns).Bind(6, filter.tag).Bind(7, filter.tag);
    q->Bind(8, filter.tag_value).Bind(9, filter.tag_value).Bind(10, filter.project);
    q->Bind(11, filter.project).Bind(12, filter.before_seq).Bind(13, filter.before_seq);
    q->Bind(14, filter.search).Bind(15, filter.search);
    q->Bind(16, filter.pipeline).Bind(17, filter.pipeline).Bind(18, filter.pipeline);
    q->Bind(19, filter.pipeline).Bind(20, limit);
  }
  return All<RunRecord>(q, ReadRun);
}

Result<std::optional<RunRecord>> SqliteMetaStore::FindRun(const std::string& ref) {
  std::string sql = ref == "last"
                        ? fmt::format("SELECT {} FROM runs ORDER BY seq DESC LIMIT 1", kRunColumns)
                        : fmt::format("SELECT {} FROM runs WHERE id = ? OR id = 'r' || ?",
                                      kRunColumns);
  Result<Statement*> q = db_->Cached(sql);
  if (!q.ok()) return q.status();
  if (ref != "last") (*q)->Bind(1, ref).Bind(2, ref);
  Result<std::vector<RunRecord>> rows = AllRows<RunRecord>(**q, ReadRun);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<RunRecord>();
  return std::optional<RunRecord>(rows->front());
}

Result<std::vector<StepRecord>> SqliteMetaStore::Steps(const std::string& run) {
  Result<Statement*> q = db_->Cached(
      fmt::format("SELECT {} FROM steps s WHERE s.run_id = ? ORDER BY s.idx", kStepColumns));
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run);
  return AllRows<StepRecord>(**q, ReadStep);
}

Result<std::optional<StepRecord>> SqliteMetaStore::FindStep(const std::string& run,
                                                      const std::string& name) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM steps s WHERE s.run_id = ? AND s.name = ?", kStepColumns));
  if (q.ok()) q->Bind(1, run).Bind(2, name);
  Result<std::vector<StepRecord>> rows = All<StepRecord>(q, ReadStep);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<StepRecord>();
  return std::optional<StepRecord>(rows->front());
}

Result<std::optional<StepRecord>> SqliteMetaStore::StepAt(const std::string& run, int64_t index) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM steps s WHERE s.run_id = ? AND s.idx = ?", kStepColumns));
  if (q.ok()) q->Bind(1, run).Bind(2, index);
  Result<std::vector<StepRecord>> rows = All<StepRecord>(q, ReadStep);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<StepRecord>();
  return std::optional<StepRecord>(rows->front());
}

std::optional<Digest> SqliteMetaStore::Lookup(const std::string& path, const struct stat& st) {
  Result<Statement*> r = db_->Cached(
      "SELECT digest, hashed_at_ns FROM hash_cache WHERE path = ? AND dev = ? AND ino = ? AND "
      "size = ? AND mtime_ns = ? AND ctime_ns = ?");
  if (!r.ok()) return std::nullopt;
  Statement* q = *r;
  q->Bind(1, path).Bind(2, static_cast<int64_t>(st.st_dev)).Bind(3, static_cast<int64_t>(st.st_ino));
  q->Bind(4, static_cast<int64_t>(st.st_size)).Bind(5, Ns(st.st_mtim)).Bind(6, Ns(st.st_ctim));
  Result<bool> row = q->Step();
  if (!row.ok() || !*row) {
    q->Reset();
    return std::nullopt;
  }
  int64_t hashed_at = q->Int(1);
  std::string digest = q->Text(0);
  q->Reset();
  // Git's racy-clean rule: a file modified in the same clock tick as its hashing may have changed
  // again without its mtime moving; such an entry is never trusted.
  if (Ns(st.st_mtim) + kClockTickNs > hashed_at) return std::nullopt;
  return store::ParseHex(digest);
}

void SqliteMetaStore::Record(const std::string& path, const struct stat& st, const Digest& digest,
                       int64_t hashed_at_ns) {
  Result<Statement*> r = db_->Cached("INSERT OR REPLACE INTO hash_cache VALUES(?,?,?,?,?,?,?,?)");
  if (!r.ok()) return;
  Statement* q = *r;
  q->Bind(1, path).Bind(2, static_cast<int64_t>(st.st_dev)).Bind(3, static_cast<int64_t>(st.st_ino));
  q->Bind(4, static_cast<int64_t>(st.st_size)).Bind(5, Ns(st.st_mtim)).Bind(6, Ns(st.st_ctim));
  q->Bind(7, ToHex(digest)).Bind(8, hashed_at_ns);
  q->Run().ok();
}

}  // namespace weft::meta
