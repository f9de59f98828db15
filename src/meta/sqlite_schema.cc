#include "meta/sqlite_schema.h"

namespace weft::meta {
namespace {

constexpr const char* kMigrations[] = {
    // 1: runs, steps, transitions, fingerprints, inputs and outputs, hash cache.
    R"sql(
CREATE TABLE runs(
  id TEXT PRIMARY KEY, seq INTEGER UNIQUE NOT NULL, pipeline_file TEXT, name TEXT,
  experiment TEXT, status TEXT, created_ns INTEGER, finished_ns INTEGER, exit_code INTEGER,
  seeds_reuse INTEGER, workdir TEXT);
CREATE TABLE steps(
  run_id TEXT NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, name TEXT, component TEXT,
  status TEXT, fingerprint TEXT, reused_run TEXT, reused_idx INTEGER, attempt INTEGER,
  started_ns INTEGER, finished_ns INTEGER, exit_code INTEGER, message TEXT,
  deterministic INTEGER, job TEXT, PRIMARY KEY(run_id, idx));
CREATE INDEX steps_by_fingerprint ON steps(fingerprint, status, finished_ns);
CREATE TABLE transitions(run_id TEXT, idx INTEGER, status TEXT, at_ns INTEGER);
CREATE TABLE fingerprint_fields(fingerprint TEXT, ord INTEGER, label TEXT, value TEXT,
  PRIMARY KEY(fingerprint, ord));
CREATE TABLE step_outputs(run_id TEXT, idx INTEGER, name TEXT, digest TEXT, type TEXT,
  object_name TEXT, bytes INTEGER, inode INTEGER, mtime_ns INTEGER,
  PRIMARY KEY(run_id, idx, name));
CREATE INDEX outputs_by_digest ON step_outputs(digest);
CREATE TABLE step_inputs(run_id TEXT, idx INTEGER, name TEXT, kind TEXT, value TEXT,
  digest TEXT, PRIMARY KEY(run_id, idx, name));
CREATE INDEX inputs_by_digest ON step_inputs(digest);
CREATE TABLE hash_cache(path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER,
  mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT, hashed_at_ns INTEGER);
)sql",
    // 2: reuse looks up succeeded steps only; an index of just those is not written for the
    // reused, skipped and failed rows that most runs mostly add.
    R"sql(
DROP INDEX steps_by_fingerprint;
CREATE INDEX succeeded_by_fingerprint ON steps(fingerprint, finished_ns) WHERE status = 'succeeded';
)sql",
    // 3: registered assets (components, environments, data, models).
    R"sql(
CREATE TABLE assets(kind TEXT NOT NULL, registry TEXT NOT NULL, name TEXT NOT NULL,
  version TEXT NOT NULL, digest TEXT NOT NULL, entry TEXT, type TEXT, description TEXT,
  source TEXT, created_ns INTEGER, archived INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(kind, registry, name, version));
CREATE INDEX assets_by_digest ON assets(digest);
)sql",
    // 4: metrics logged by steps.
    R"sql(
CREATE TABLE metrics(run_id TEXT NOT NULL, idx INTEGER NOT NULL, seq INTEGER NOT NULL,
  name TEXT NOT NULL, value REAL, step INTEGER, timestamp_ms INTEGER,
  PRIMARY KEY(run_id, idx, seq));
)sql",
    // 5: which process runs a run, for `weft cancel`.
    R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT;
)sql",
    // 6: tags on runs (a JSON object).
    R"sql(
ALTER TABLE runs ADD COLUMN tags TEXT;
)sql",
    // 7: parameters and tags logged by steps (MLflow's log_param, set_tag).
    R"sql(
CREATE TABLE params(run_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,
  name TEXT NOT NULL, value TEXT, seq INTEGER, PRIMARY KEY(run_id, idx, kind, name));
)sql",
    // 8: what a run was submitted with (for `weft resume`), and the run a run resumes.
    R"sql(
ALTER TABLE runs ADD COLUMN submission TEXT;
ALTER TABLE runs ADD COLUMN resumes TEXT;
)sql",
    // 9: claims on fingerprints, so that concurrent runs compute each step once.
    R"sql(
CREATE TABLE claims(fingerprint TEXT PRIMARY KEY, run_id TEXT NOT NULL, idx INTEGER NOT NULL,
  owner TEXT NOT NULL, heartbeat_ns INTEGER NOT NULL);
)sql",
    // 10: what each environment identity stands for (interpreter and distributions), for explain.
    R"sql(
CREATE TABLE environments(identity TEXT PRIMARY KEY, description TEXT NOT NULL);
)sql",
    // 11: the objects each run needs kept besides its steps' inputs and outputs (code snapshots,
    // what it was submitted with), recorded by the engine rather than read out of its formats;
    // the runs recorded before are converted once.
    R"sql(
CREATE TABLE run_objects(run_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(run_id, digest));
INSERT OR IGNORE INTO run_objects SELECT s.run_id, substr(f.value, 8) FROM steps s JOIN
  fingerprint_fields f ON f.fingerprint = s.fingerprint WHERE f.label = 'code' AND
  f.value LIKE 'sha256:%';
INSERT OR IGNORE INTO run_objects SELECT r.id, json_extract(p.value, '$.digest') FROM runs r,
  json_each(r.submission, '$.paths') p WHERE json_valid(r.submission) AND
  json_extract(p.value, '$.digest') IS NOT NULL;
)sql",
    // 12: compute targets and jobs: the target each step ran on and how many jobs it has, the
    // rows of the jobs of steps with several, each executor's tracking of a run's jobs (the local
    // one's cgroup folder, until now the tail of runs.owner), and metrics and params by job.
    R"sql(
ALTER TABLE steps ADD COLUMN target TEXT NOT NULL DEFAULT 'local';
ALTER TABLE steps ADD COLUMN jobs INTEGER NOT NULL DEFAULT 1;
CREATE TABLE jobs(run_id TEXT NOT NULL, idx INTEGER NOT NULL, job INTEGER NOT NULL, status TEXT,
  attempt INTEGER, target TEXT, job_id TEXT, started_ns INTEGER, finished_ns INTEGER,
  exit_code INTEGER, message TEXT, PRIMARY KEY(run_id, idx, job));
CREATE TABLE run_tracking(run_id TEXT NOT NULL, target TEXT NOT NULL, tracking TEXT NOT NULL,
  PRIMARY KEY(run_id, target));
INSERT INTO run_tracking SELECT id, 'local', substr(owner, instr(owner, ' group=') + 7) FROM runs
  WHERE instr(owner, ' group=') > 0;
UPDATE runs SET owner = substr(owner, 1, instr(owner, ' group=') - 1) WHERE instr(owner, ' group=') > 0;
CREATE TABLE metrics_by_job(run_id TEXT NOT NULL, idx INTEGER NOT NULL, job INTEGER NOT NULL,
  seq INTEGER NOT NULL, name TEXT NOT NULL, value REAL, step INTEGER, timestamp_ms INTEGER,
  PRIMARY KEY(run_id, idx, job, seq));
INSERT INTO metrics_by_job SELECT run_id, idx, 0, seq, name, value, step, timestamp_ms FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_by_job RENAME TO metrics;
CREATE TABLE params_by_job(run_id TEXT NOT NULL, idx INTEGER NOT NULL, job INTEGER NOT NULL,
  kind TEXT NOT NULL, name TEXT NOT NULL, value TEXT, seq INTEGER,
  PRIMARY KEY(run_id, idx, job, kind, name));
INSERT INTO params_by_job SELECT run_id, idx, 0, kind, name, value, seq FROM params;
DROP TABLE params;
ALTER TABLE params_by_job RENAME TO params;
)sql",
    // 13: a server's identities: each run's project, projects with their quotas, tokens (only
    // their secrets' hashes), and the audit log, which triggers keep append-only.
    R"sql(
ALTER TABLE runs ADD COLUMN project TEXT NOT NULL DEFAULT 'local';
CREATE INDEX runs_by_project ON runs(project, seq);
CREATE TABLE projects(name TEXT PRIMARY KEY, description TEXT NOT NULL, created_ns INTEGER NOT NULL,
  max_cpus REAL NOT NULL, max_gpus INTEGER NOT NULL, max_memory_mb INTEGER NOT NULL,
  max_running INTEGER NOT NULL);
CREATE TABLE tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL, project TEXT NOT NULL,
  role TEXT NOT NULL, hash TEXT NOT NULL, created_ns INTEGER NOT NULL, expires_ns INTEGER NOT NULL,
  revoked_ns INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ns INTEGER NOT NULL, who TEXT NOT NULL,
  project TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    // 14: published pipelines (immutable versions, a default per name) and idempotency keys.
    R"sql(
CREATE TABLE pipelines(project TEXT NOT NULL, name TEXT NOT NULL, default_version INTEGER NOT NULL,
  PRIMARY KEY(project, name));
CREATE TABLE pipeline_versions(project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
  digest TEXT NOT NULL, folder TEXT NOT NULL, file TEXT NOT NULL, description TEXT NOT NULL,
  created_ns INTEGER NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY(project, name, version),
  UNIQUE(project, name, digest));
CREATE TRIGGER pipeline_versions_are_immutable BEFORE UPDATE ON pipeline_versions
  BEGIN SELECT RAISE(ABORT, 'a published pipeline version cannot change'); END;
CREATE TABLE idempotency_keys(project TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,
  run_id TEXT NOT NULL, created_ns INTEGER NOT NULL, PRIMARY KEY(project, key));
)sql",
    // 15: schedules, and each of their firings (one row per firing time: none fires twice);
    // projects' webhooks and their deliveries (one per webhook and run).
    R"sql(
CREATE TABLE webhooks(id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL,
  url TEXT NOT NULL, secret TEXT NOT NULL, created_ns INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE webhook_deliveries(id INTEGER PRIMARY KEY AUTOINCREMENT, webhook INTEGER NOT NULL,
  run_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL, next_ns INTEGER NOT NULL,
  status TEXT NOT NULL, last_error TEXT NOT NULL, UNIQUE(webhook, run_id));
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_ns);
CREATE TABLE schedules(project TEXT NOT NULL, name TEXT NOT NULL, folder TEXT NOT NULL,
  file TEXT NOT NULL, enabled INTEGER NOT NULL, created_ns INTEGER NOT NULL,
  created_by TEXT NOT NULL, updated_ns INTEGER NOT NULL, next_fire_ns INTEGER NOT NULL,
  watch TEXT NOT NULL, PRIMARY KEY(project, name));
CREATE TABLE schedule_fires(project TEXT NOT NULL, name TEXT NOT NULL, fire_ns INTEGER NOT NULL,
  at_ns INTEGER NOT NULL, run_id TEXT NOT NULL, outcome TEXT NOT NULL,
  PRIMARY KEY(project, name, fire_ns));
)sql",
    // 16: the MLflow endpoint's experiments and the runs made through it from outside steps.
    R"sql(
CREATE TABLE mlflow_experiments(project TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL,
  lifecycle TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  tags TEXT NOT NULL, PRIMARY KEY(project, id), UNIQUE(project, name));
CREATE TABLE mlflow_runs(id TEXT PRIMARY KEY, project TEXT NOT NULL, experiment INTEGER NOT NULL,
  name TEXT NOT NULL, user TEXT NOT NULL, status TEXT NOT NULL, start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL, lifecycle TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE INDEX mlflow_runs_by_project ON mlflow_runs(project, experiment);
)sql",
    // 17: assets belong to a project ('' for the workspace's own, which every project may name).
    R"sql(
CREATE TABLE assets_by_project(kind TEXT NOT NULL, registry TEXT NOT NULL, name TEXT NOT NULL,
  version TEXT NOT NULL, digest TEXT NOT NULL, entry TEXT, type TEXT, description TEXT,
  source TEXT, created_ns INTEGER, archived INTEGER NOT NULL DEFAULT 0,
  project TEXT NOT NULL DEFAULT '', PRIMARY KEY(project, kind, registry, name, version));
INSERT INTO assets_by_project(kind, registry, name, version, digest, entry, type, description,
  source, created_ns, archived, project)
  SELECT kind, registry, name, version, digest, entry, type, description, source, created_ns,
  archived, '' FROM assets;
DROP TABLE assets;
ALTER TABLE assets_by_project RENAME TO assets;
CREATE INDEX assets_by_digest ON assets(digest);
)sql",
    // 18: the datastores a project is granted (names, one per line).
    R"sql(
ALTER TABLE projects ADD COLUMN datastores TEXT NOT NULL DEFAULT '';
)sql",
    // 19: what a run warned of (planning and while it ran), in order, so that it can be shown later.
    R"sql(
CREATE TABLE run_warnings(run_id TEXT NOT NULL, seq INTEGER NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY(run_id, seq));
)sql",
};

}  // namespace

std::span<const char* const> Migrations() { return kMigrations; }

}  // namespace weft::meta
