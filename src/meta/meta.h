// The metadata store: runs, steps, their transitions, fingerprints and their labelled fields,
// inputs and outputs (the lineage edges), and the hash cache of the user's files.
//
// An interface, so that the engine does not depend on a database: SQLite (meta/sqlite_meta.h) is
// the embedded one; PostgreSQL is planned. Writers group their changes between Begin() and
// Commit(): the engine commits once per pass of its event loop, so a transition is durable before
// the engine acts on it, at one commit per pass.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "meta/status.h"
#include "store/store.h"

namespace weft::meta {

struct RunRecord {
  std::string id;  // "r<seq>"
  int64_t seq = 0;
  std::string pipeline_file;
  std::string name;
  std::string experiment;
  RunStatus status = RunStatus::kRunning;
  int64_t created_ns = 0;
  int64_t finished_ns = 0;
  int exit_code = -1;
  bool seeds_reuse = true;  // false for force_rerun pipelines: their results are never reused
  std::string workdir;      // the folder the run was submitted from
  // The weft process running it: "pid=<pid> start=<ticks> boot=<boot id>", then, where its
  // executor tracks its jobs' processes, " group=<path>" (engine/resume.h reads it).
  std::string owner;
  std::vector<std::pair<std::string, std::string>> tags;  // the pipeline's, then `weft run --tag`
  std::string submission;  // JSON: what it was submitted with, for `weft resume` (engine/resume.h)
  std::string resumes;     // the run this one resumes, if any
  std::string project = "local";  // whose run it is (a server's project; "local" for `weft run`)
};

struct StepRecord {
  std::string run_id;
  int64_t index = 0;
  std::string name;
  std::string component;
  StepStatus status = StepStatus::kPending;
  std::string fingerprint;
  std::string reused_run;  // for reused steps: the attempt whose results these are
  int64_t reused_index = -1;
  int64_t attempt = 0;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int64_t exit_code = -1;
  std::string message;
  bool deterministic = true;
  std::string target;  // the compute target it ran on
  std::string job;     // its job's identity there (the executor's own text, opaque); one job
  int64_t jobs = 1;    // how many jobs it has (more than one: their rows are in Jobs())

  // The attempt whose outputs and log are this step's: the one it reuses, or its own.
  std::pair<std::string, int64_t> ResultAttempt() const {
    return status == StepStatus::kReused ? std::make_pair(reused_run, reused_index)
                              : std::make_pair(run_id, index);
  }
};

// One job of a step that has several (a parallel step's mini-batches, a sweep's trials): its own
// attempts, log and metrics. A step with one job has no job rows; the step's row is its job's.
struct JobRecord {
  std::string run_id;
  int64_t index = 0;  // the step
  int64_t job = 0;
  StepStatus status = StepStatus::kPending;
  int64_t attempt = 0;
  std::string target;
  std::string job_id;  // the executor's identity of the running attempt
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int64_t exit_code = -1;
  std::string message;
};

struct OutputRecord {
  std::string name;
  std::string digest;  // hex
  store::ObjectType type = store::ObjectType::kFolder;
  std::string object_name;
  int64_t bytes = 0;
  store::Seal seal;  // the object's when it was made (store::Store::Verify)

  // The stored object it names (nullopt when the digest is not one).
  std::optional<store::ObjectRef> Ref() const;
};

// One value a step logged (JSON lines in $WEFT_METRICS, `weft log-metric`, the MLflow shim).
struct MetricRecord {
  std::string name;
  double value = 0;
  int64_t step = -1;          // the training step it belongs to, -1 when not given
  int64_t timestamp_ms = 0;
};

// A parameter or tag a step logged (MLflow's log_param and set_tag); a name's last value wins.
struct ParamRecord {
  std::string kind;  // param, tag
  std::string name;
  std::string value;
};

struct ReuseCandidate {
  std::string run_id;
  int64_t index = 0;
  std::string name;
  std::vector<OutputRecord> outputs;  // by name
};

struct InputRecord {
  std::string name;
  std::string kind;    // literal, data, step_output, none
  std::string value;   // the rendered literal, or the path/URI, or "step.output"
  std::string digest;  // content digest for data
};

// A registered version of a component, environment, data or model asset (`weft component|
// environment|data create`). Versions are immutable: the same name and version always mean the
// same stored object.
struct AssetRecord {
  std::string kind;      // component, environment, data, model
  std::string registry;  // "" for the workspace's own; else azureml://registries/<registry>/...
  std::string name;
  std::string version;
  std::string digest;    // hex of the store object holding it
  std::string entry;     // components and environments: the YAML file's path inside the object
  std::string type;      // data: uri_file, uri_folder, mltable; components: command, pipeline...
  std::string description;
  std::string source;    // what it was registered from, for people
  int64_t created_ns = 0;
  bool archived = false;
  // The server's project whose own it is (registered through the server, or by a run of the
  // project); "" for the workspace's own, which every project's pipelines may name.
  std::string project;
};

// A step whose input or output port held a given object (lineage).
struct PortUse {
  StepRecord step;
  std::string port;   // the input's or output's name
  std::string value;  // inputs: as recorded (a data input's path or URI, "step.output")
};

// A claim on a fingerprint: the process computing it now. Concurrent runs that need the same
// step wait for the claim to go, then reuse what the holder made; a holder that died (or whose
// heartbeat stopped) is taken over.
struct Claim {
  std::string fingerprint;
  std::string run_id;
  int64_t index = 0;
  std::string owner;  // "pid=P start=T boot=B"
  int64_t heartbeat_ns = 0;
};

// Which runs to list; empty fields match everything. `since_ns`: created at or after.
struct RunFilter {
  std::string experiment;
  std::optional<RunStatus> status;
  int64_t since_ns = 0;
  std::string tag;        // runs with this tag
  std::string tag_value;  // ... and this value, when not empty
  std::string project;    // runs of this project
  int64_t before_seq = 0;  // paging: runs older than this one (0: from the newest)
  // Runs whose id, name, experiment or tags contain this text (case-insensitive, ASCII).
  std::string search;
  // Runs of this pipeline: by its name, or published under it (tag weft.pipeline NAME:VERSION).
  std::string pipeline;
};

// A server's project: whose runs, assets and tokens belong together, with its quotas (0: none).
struct ProjectRecord {
  std::string name;
  std::string description;
  int64_t created_ns = 0;
  double max_cpus = 0;
  int64_t max_gpus = 0;
  int64_t max_memory_mb = 0;
  int64_t max_running = 0;  // running steps
  // The workspace's datastores its runs may read from and publish to (granted by admins), by
  // name, sorted.
  std::vector<std::string> datastores;
};

// A server's bearer token. Only the hash of its secret is kept; the token itself is shown once.
struct TokenRecord {
  std::string id;       // public, the lookup key (part of the token's text)
  std::string name;
  std::string project;  // empty for the server's admins
  std::string role;     // reader, contributor, owner, admin
  std::string hash;     // hex SHA-256 of the secret
  int64_t created_ns = 0;
  int64_t expires_ns = 0;  // 0: never (admins only)
  int64_t revoked_ns = 0;  // 0: not revoked
  std::string created_by;  // the id of the token that created it; empty for the first admin
};

// One entry of the append-only audit log: who did what, when.
struct AuditRecord {
  int64_t seq = 0;
  int64_t at_ns = 0;
  std::string who;      // a token id, "local" for commands on the workspace, "-" when unknown
  std::string project;  // the project it concerns; empty for server-wide changes
  std::string action;   // e.g. token.create, run.submit, auth.failed, output.download
  std::string target;   // what it acted on
  std::string detail;
};

// A version of a published pipeline: files uploaded once, never changed, and which of them is
// the pipeline. Versions of a name are numbered 1, 2, ... within a project.
struct PipelineVersionRecord {
  std::string project;
  std::string name;
  int64_t version = 0;
  std::string digest;  // hex, of the content: the files' tree and the pipeline file's name
  std::string folder;  // the files, relative to the workspace folder (uploads/<sha256>)
  std::string file;    // the pipeline file, relative to `folder`
  std::string description;
  int64_t created_ns = 0;
  std::string created_by;  // a token id
};

// A published pipeline: its versions' name, and the version run when none is named.
struct PipelineRecord {
  std::string project;
  std::string name;
  int64_t default_version = 0;
  int64_t latest_version = 0;
};

// A request made once whatever the number of times it is sent (`Idempotency-Key`): what it was
// (a digest) and the run it started (empty while it is being carried out).
struct IdempotencyRecord {
  std::string project;
  std::string key;
  std::string request;  // hex digest of the request
  std::string run_id;
  int64_t created_ns = 0;
};

// A schedule (docs/server.md): its definition is the schedule file inside an uploaded folder
// (never changed); the rest is its state.
struct ScheduleRecord {
  std::string project;
  std::string name;
  std::string folder;  // the uploaded files, relative to the workspace folder (uploads/<sha256>)
  std::string file;    // the schedule file, relative to `folder`
  bool enabled = true;
  int64_t created_ns = 0;
  std::string created_by;  // a token id
  int64_t updated_ns = 0;
  int64_t next_fire_ns = 0;  // 0: none is due (ended, or a data trigger)
  std::string watch;         // data triggers: what was seen last (JSON)
};

// A firing of a schedule: when it was due, when it was handled, the run it started (if any) and
// what happened ("started", "skipped: ...", "failed: ...").
struct ScheduleFireRecord {
  std::string project;
  std::string name;
  int64_t fire_ns = 0;
  int64_t at_ns = 0;
  std::string run_id;
  std::string outcome;
};

// Where a project's finished runs are announced (POST of a JSON body, signed with `secret`).
struct WebhookRecord {
  int64_t id = 0;
  std::string project;
  std::string url;
  std::string secret;  // the HMAC key the receiver checks signatures with
  int64_t created_ns = 0;
  std::string created_by;
};

// One announcement to one webhook: pending until delivered, or failed after its last attempt.
struct DeliveryRecord {
  int64_t id = 0;
  int64_t webhook = 0;
  std::string run_id;
  std::string body;
  int64_t attempts = 0;
  int64_t next_ns = 0;  // when the next attempt is due
  std::string status;   // pending, delivered, failed
  std::string last_error;
};

// An experiment of the MLflow endpoint (docs/tracking.md), within a project: ids are the
// project's own, 0 is its `Default`.
struct MlflowExperimentRecord {
  std::string project;
  int64_t id = -1;  // -1 when putting a new one: it gets the project's next
  std::string name;
  std::string lifecycle = "active";  // active, deleted
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string tags;  // JSON object
};

// A run made through the MLflow endpoint from outside any step (a step's MLflow run is its
// job). Its metrics, params and tags are lines of a metrics file (engine/metrics.h) in its folder
// `.weft/mlflow/<id>/`, beside its artifacts.
struct MlflowRunRecord {
  std::string id;  // 32 hex digits
  std::string project;
  int64_t experiment = 0;
  std::string name;
  std::string user;
  std::string status = "RUNNING";  // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string lifecycle = "active";
  std::string created_by;  // a token id
};

class MetaStore : public store::HashCache {
 public:
  ~MetaStore() override = default;

  // Writers group their changes in a transaction: Begin waits for the write lock up front (a
  // writer never fails halfway for want of it); Commit makes them durable together.
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // A part of the open transaction that can be undone alone.
  virtual Status BeginPart() = 0;
  virtual Status EndPart() = 0;
  virtual void UndoPart() = 0;

  // Allocates the next run id (call inside Begin/Commit).
  virtual Result<RunRecord> CreateRun(RunRecord run) = 0;
  virtual Status SetRunOwner(const std::string& id, const std::string& owner) = 0;
  // The store objects (hex digests) a run needs kept besides its steps' inputs and outputs: its
  // code snapshots and what it was submitted with (for `weft resume`).
  virtual Status PutRunObjects(const std::string& run, const std::vector<std::string>& digests) = 0;
  // What a run warned of, kept in order so that `weft show` and the server can say it later.
  virtual Status PutWarning(const std::string& run, const std::string& message) = 0;
  virtual Result<std::vector<std::string>> Warnings(const std::string& run) = 0;
  // What an environment identity stands for (env/environment.h), kept once per identity.
  virtual Status PutEnvironment(const std::string& identity, const std::string& description) = 0;
  virtual Result<std::optional<std::string>> EnvironmentDescription(const std::string& identity) = 0;
  virtual Status FinishRun(const std::string& id, RunStatus status, int exit_code,
                   int64_t finished_ns) = 0;
  virtual Status PutStep(const StepRecord& step) = 0;
  virtual Status AddTransition(const std::string& run, int64_t index, StepStatus status,
                       int64_t at_ns) = 0;
  virtual Status PutFingerprint(const std::string& fingerprint,
                        const std::vector<std::pair<std::string, std::string>>& fields) = 0;
  virtual Status PutOutput(const std::string& run, int64_t index, const OutputRecord& out) = 0;
  virtual Status PutInput(const std::string& run, int64_t index, const InputRecord& in) = 0;

  // Succeeded steps that ran (not reused) with this fingerprint, from runs of `project` whose
  // results seed reuse, newest first, each with its outputs (one query). Results are never
  // shared across projects.
  virtual Result<std::vector<ReuseCandidate>> ReuseCandidates(const std::string& fingerprint,
                                                              const std::string& project) = 0;
  virtual Result<std::vector<OutputRecord>> Outputs(const std::string& run, int64_t index) = 0;
  virtual Result<std::vector<InputRecord>> Inputs(const std::string& run, int64_t index) = 0;
  // Lineage: the step attempts that computed `digest` (hex) as an output, and the steps that were
  // given it as an input, oldest run first; the asset versions that hold it.
  virtual Result<std::vector<PortUse>> Producers(const std::string& digest) = 0;
  virtual Result<std::vector<PortUse>> Consumers(const std::string& digest) = 0;
  virtual Result<std::vector<AssetRecord>> AssetsWithDigest(const std::string& digest) = 0;
  // The steps of later runs that reused the attempt (run, index) instead of running.
  virtual Result<std::vector<StepRecord>> Reusers(const std::string& run, int64_t index) = 0;
  // What `weft gc` keeps (hex digests): every asset version's object, and for the newest
  // `keep_runs` runs (all when negative) and every run still marked running, their steps' inputs,
  // outputs (a reused step's: those of the attempt it reuses) and their recorded run objects.
  virtual Result<std::vector<std::string>> ReferencedDigests(int64_t keep_runs) = 0;
  // The digests (hex) that start with `prefix` among outputs, inputs and assets; at most `limit`.
  virtual Result<std::vector<std::string>> DigestsWithPrefix(const std::string& prefix, int64_t limit) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> FingerprintFields(
      const std::string& fingerprint) = 0;
  // The newest step of the same name in the same experiment from an earlier run of the project,
  // else the newest of the project running the same component; for `weft explain`.
  virtual Result<std::optional<StepRecord>> PreviousStep(const std::string& project,
                                                         const std::string& experiment,
                                                 const std::string& name,
                                                 const std::string& component, int64_t before_seq) = 0;

  // The newest runs first.
  virtual Result<std::vector<RunRecord>> Runs(int64_t limit, const RunFilter& filter = {}) = 0;
  // "last", "r12" or "12".
  virtual Result<std::optional<RunRecord>> FindRun(const std::string& ref) = 0;
  virtual Result<std::vector<StepRecord>> Steps(const std::string& run) = 0;
  virtual Result<std::optional<StepRecord>> FindStep(const std::string& run, const std::string& name) = 0;
  virtual Result<std::optional<StepRecord>> StepAt(const std::string& run, int64_t index) = 0;

  // Assets. Find with an empty version means the latest: the newest version not archived; it
  // looks among `project`'s own only ("": the workspace's).
  virtual Status PutAsset(const AssetRecord& asset) = 0;
  virtual Result<std::optional<AssetRecord>> FindAsset(const std::string& kind, const std::string& registry,
                                               const std::string& name, const std::string& version,
                                               const std::string& project = "") = 0;
  // Every version of `kind` (of `name`, when given), of every project, newest first; archived
  // ones only if asked.
  virtual Result<std::vector<AssetRecord>> Assets(const std::string& kind, const std::string& name,
                                          bool archived) = 0;
  // The version an unversioned registration gets: one more than the largest integer version.
  virtual Result<std::string> NextAssetVersion(const std::string& kind, const std::string& registry,
                                       const std::string& name, const std::string& project = "") = 0;
  virtual Status ArchiveAsset(const AssetRecord& asset) = 0;

  // Claims (inside the caller's transaction). Claim takes the claim on `mine.fingerprint` unless
  // another holds it, and returns the holder (`mine` when taken).
  virtual Result<meta::Claim> Claim(const meta::Claim& mine) = 0;
  virtual Result<std::optional<meta::Claim>> ClaimOn(const std::string& fingerprint) = 0;
  // Takes a claim over from `from_owner` (dead, or silent too long); a no-op if another got it.
  virtual Status TakeOverClaim(const meta::Claim& mine, const std::string& from_owner) = 0;
  // Releases run `run_id`'s claim on `fingerprint`, or all its claims when `fingerprint` is empty.
  virtual Status ReleaseClaims(const std::string& run_id, const std::string& fingerprint = "") = 0;
  virtual Status Heartbeat(const std::string& owner, int64_t now_ns) = 0;

  // The metrics, parameters and tags a job's latest attempt logged, in the order logged
  // (replacing that job's earlier attempt's); read back for a step, every job's, by job then
  // order (-1: every job; else that one).
  virtual Status PutMetrics(const std::string& run, int64_t index, int64_t job,
                            const std::vector<MetricRecord>& metrics,
                            const std::vector<ParamRecord>& params) = 0;
  virtual Result<std::vector<MetricRecord>> Metrics(const std::string& run, int64_t index,
                                                    int64_t job = -1) = 0;
  virtual Result<std::vector<ParamRecord>> Params(const std::string& run, int64_t index,
                                                  int64_t job = -1) = 0;

  // The jobs of steps that have several, and the executors' tracking of each run's jobs (what
  // a later weft needs to stop what a dead one left): by compute target.
  virtual Status PutJob(const JobRecord& job) = 0;
  virtual Result<std::vector<JobRecord>> Jobs(const std::string& run, int64_t index) = 0;
  virtual Status PutRunTracking(const std::string& run, const std::string& target,
                                const std::string& tracking) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> RunTracking(
      const std::string& run) = 0;

  // A server's identities. Projects and tokens are written inside Begin/Commit; the audit log
  // only grows (its rows can be neither changed nor deleted).
  virtual Status PutProject(const ProjectRecord& project) = 0;
  virtual Result<std::optional<ProjectRecord>> FindProject(const std::string& name) = 0;
  virtual Result<std::vector<ProjectRecord>> Projects() = 0;
  virtual Status PutToken(const TokenRecord& token) = 0;
  virtual Result<std::optional<TokenRecord>> FindToken(const std::string& id) = 0;
  // A project's tokens (every admin token for ""), newest first.
  virtual Result<std::vector<TokenRecord>> Tokens(const std::string& project) = 0;
  virtual Status AppendAudit(const AuditRecord& entry) = 0;
  // The newest entries first, of one project (every project's and the server's for nullopt),
  // older than `before_seq` when it is not 0.
  virtual Result<std::vector<AuditRecord>> Audit(const std::optional<std::string>& project,
                                                 int64_t limit, int64_t before_seq) = 0;

  // Published pipelines, written inside Begin/Commit. A new name's default version is its first.
  virtual Status PutPipelineVersion(const PipelineVersionRecord& version) = 0;
  // A name's versions, oldest first.
  virtual Result<std::vector<PipelineVersionRecord>> PipelineVersions(const std::string& project,
                                                                      const std::string& name) = 0;
  virtual Status SetDefaultPipelineVersion(const std::string& project, const std::string& name,
                                           int64_t version) = 0;
  // A project's published pipelines by name (every project's for "").
  virtual Result<std::vector<PipelineRecord>> Pipelines(const std::string& project) = 0;

  // Idempotency keys: a key is claimed (inside Begin/Commit) before its request is carried out,
  // then given the run it started, or released if it started none.
  virtual Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(const std::string& project,
                                                                      const std::string& key) = 0;
  virtual Status PutIdempotencyKey(const IdempotencyRecord& record) = 0;
  virtual Status DeleteIdempotencyKey(const std::string& project, const std::string& key) = 0;

  // Schedules. Put creates or replaces one (its firings stay); Delete removes it and them.
  virtual Status PutSchedule(const ScheduleRecord& schedule) = 0;
  virtual Result<std::optional<ScheduleRecord>> FindSchedule(const std::string& project,
                                                             const std::string& name) = 0;
  // A project's schedules by name (every project's for "").
  virtual Result<std::vector<ScheduleRecord>> Schedules(const std::string& project) = 0;
  virtual Status DeleteSchedule(const std::string& project, const std::string& name) = 0;
  // Records a firing, once: false when one at `fire.fire_ns` is recorded already. Its outcome
  // is then updated in place (UpdateScheduleFire).
  virtual Result<bool> AddScheduleFire(const ScheduleFireRecord& fire) = 0;
  virtual Status UpdateScheduleFire(const ScheduleFireRecord& fire) = 0;
  // Webhooks. Put returns the new one's id; Webhooks lists a project's (every one for "").
  virtual Result<int64_t> PutWebhook(const WebhookRecord& webhook) = 0;
  virtual Result<std::vector<WebhookRecord>> Webhooks(const std::string& project) = 0;
  virtual Status DeleteWebhook(const std::string& project, int64_t id) = 0;
  // Deliveries: added once per webhook and run (again: nothing); the pending ones due at `now_ns`;
  // a webhook's, newest first.
  virtual Status AddDelivery(const DeliveryRecord& delivery) = 0;
  virtual Result<std::vector<DeliveryRecord>> DueDeliveries(int64_t now_ns, int64_t limit) = 0;
  virtual Status UpdateDelivery(const DeliveryRecord& delivery) = 0;
  virtual Result<std::vector<DeliveryRecord>> Deliveries(int64_t webhook, int64_t limit) = 0;
  // The MLflow endpoint's experiments (a project's, by id) and its runs made from outside steps.
  // PutMlflowExperiment creates or replaces one and returns its id.
  virtual Result<int64_t> PutMlflowExperiment(const MlflowExperimentRecord& experiment) = 0;
  virtual Result<std::vector<MlflowExperimentRecord>> MlflowExperiments(
      const std::string& project) = 0;
  virtual Status PutMlflowRun(const MlflowRunRecord& run) = 0;
  virtual Result<std::optional<MlflowRunRecord>> FindMlflowRun(const std::string& id) = 0;
  // A project's, oldest first.
  virtual Result<std::vector<MlflowRunRecord>> MlflowRuns(const std::string& project) = 0;
  // A schedule's firings, newest first.
  virtual Result<std::vector<ScheduleFireRecord>> ScheduleFires(const std::string& project,
                                                                const std::string& name,
                                                                int64_t limit) = 0;

  // store::HashCache: the digests of the user's files, by what stat says of them.

};

// Runs `change` inside one transaction (Begin ... Commit): an error from it keeps nothing of it.
template <typename Change>
Status InTransaction(MetaStore& meta, Change change) {
  Status s = meta.Begin();
  if (!s.ok()) return s;
  s = change();
  if (!s.ok()) {
    meta.Rollback();
    return s;
  }
  return meta.Commit();
}

}  // namespace weft::meta
