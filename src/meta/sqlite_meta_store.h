// The SQLite implementation of the metadata store, shared by the files that implement it by
// concept: sqlite_meta.cc (runs, steps, reuse, assets, claims, metrics, the hash cache) and
// sqlite_identity.cc (a server's projects, tokens and audit log). Only meta/ includes this.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "meta/sqlite.h"

namespace weft::meta {

// Every row of a statement, read by `read`; the statement is reset for its next use.
template <typename T, typename Read>
Result<std::vector<T>> AllRows(Statement& q, Read read) {
  std::vector<T> out;
  while (true) {
    Result<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(read(q));
  }
  q.Reset();
  return out;
}

template <typename T, typename Read>
Result<std::vector<T>> All(Result<Statement>& q, Read read) {
  if (!q.ok()) return q.status();
  return AllRows<T>(*q, read);
}

// The metadata store in one SQLite file (WAL mode, numbered migrations).
class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Status Migrate();

  Status Begin() override { return db_->BeginImmediate(); }
  Status Commit() override { return db_->Commit(); }
  void Rollback() override { db_->Rollback(); }
  Status BeginPart() override { return db_->Exec("SAVEPOINT part"); }
  Status EndPart() override { return db_->Exec("RELEASE part"); }
  void UndoPart() override {
    db_->Exec("ROLLBACK TO part").ok();
    db_->Exec("RELEASE part").ok();
  }

  Result<RunRecord> CreateRun(RunRecord run) override;
  Status SetRunOwner(const std::string& id, const std::string& owner) override;
  Status PutRunObjects(const std::string& run, const std::vector<std::string>& digests) override;
  Status PutWarning(const std::string& run, const std::string& message) override;
  Result<std::vector<std::string>> Warnings(const std::string& run) override;
  Status PutEnvironment(const std::string& identity, const std::string& description) override;
  Result<std::optional<std::string>> EnvironmentDescription(const std::string& identity) override;
  Status FinishRun(const std::string& id, RunStatus status, int exit_code,
                   int64_t finished_ns) override;
  Status PutStep(const StepRecord& step) override;
  Status AddTransition(const std::string& run, int64_t index, StepStatus status,
                       int64_t at_ns) override;
  Status PutFingerprint(const std::string& fingerprint,
                        const std::vector<std::pair<std::string, std::string>>& fields) override;
  Status PutOutput(const std::string& run, int64_t index, const OutputRecord& out) override;
  Status PutInput(const std::string& run, int64_t index, const InputRecord& in) override;
  Result<std::vector<ReuseCandidate>> ReuseCandidates(const std::string& fingerprint,
                                                      const std::string& project) override;
  Result<std::vector<OutputRecord>> Outputs(const std::string& run, int64_t index) override;
  Result<std::vector<InputRecord>> Inputs(const std::string& run, int64_t index) override;
  Result<std::vector<PortUse>> Producers(const std::string& digest) override;
  Result<std::vector<PortUse>> Consumers(const std::string& digest) override;
  Result<std::vector<AssetRecord>> AssetsWithDigest(const std::string& digest) override;
  Result<std::vector<StepRecord>> Reusers(const std::string& run, int64_t index) override;
  Result<std::vector<std::string>> ReferencedDigests(int64_t keep_runs) override;
  Result<std::vector<std::string>> DigestsWithPrefix(const std::string& prefix, int64_t limit) override;
  Result<std::vector<std::pair<std::string, std::string>>> FingerprintFields(
      const std::string& fingerprint) override;
  Result<std::optional<StepRecord>> PreviousStep(const std::string& project,
                                                 const std::string& experiment,
                                                 const std::string& name,
                                                 const std::string& component, int64_t before_seq) override;
  Result<std::vector<RunRecord>> Runs(int64_t limit, const RunFilter& filter) override;
  Result<std::optional<RunRecord>> FindRun(const std::string& ref) override;
  Result<std::vector<StepRecord>> Steps(const std::string& run) override;
  Result<std::optional<StepRecord>> FindStep(const std::string& run, const std::string& name) override;
  Result<std::optional<StepRecord>> StepAt(const std::string& run, int64_t index) override;
  Status PutAsset(const AssetRecord& asset) override;
  Result<std::optional<AssetRecord>> FindAsset(const std::string& kind, const std::string& registry,
                                               const std::string& name, const std::string& version,
                                               const std::string& project) override;
  Result<std::vector<AssetRecord>> Assets(const std::string& kind, const std::string& name,
                                          bool archived) override;
  Result<std::string> NextAssetVersion(const std::string& kind, const std::string& registry,
                                       const std::string& name,
                                       const std::string& project) override;
  Status ArchiveAsset(const AssetRecord& asset) override;
  Result<meta::Claim> Claim(const meta::Claim& mine) override;
  Result<std::optional<meta::Claim>> ClaimOn(const std::string& fingerprint) override;
  Status TakeOverClaim(const meta::Claim& mine, const std::string& from_owner) override;
  Status ReleaseClaims(const std::string& run_id, const std::string& fingerprint) override;
  Status Heartbeat(const std::string& owner, int64_t now_ns) override;
  Status PutMetrics(const std::string& run, int64_t index, int64_t job,
                    const std::vector<MetricRecord>& metrics,
                    const std::vector<ParamRecord>& params) override;
  Result<std::vector<MetricRecord>> Metrics(const std::string& run, int64_t index,
                                            int64_t job) override;
  Result<std::vector<ParamRecord>> Params(const std::string& run, int64_t index,
                                          int64_t job) override;
  Status PutJob(const JobRecord& job) override;
  Result<std::vector<JobRecord>> Jobs(const std::string& run, int64_t index) override;
  Status PutRunTracking(const std::string& run, const std::string& target,
                        const std::string& tracking) override;
  Result<std::vector<std::pair<std::string, std::string>>> RunTracking(const std::string& run) override;
  Status PutProject(const ProjectRecord& project) override;
  Result<std::optional<ProjectRecord>> FindProject(const std::string& name) override;
  Result<std::vector<ProjectRecord>> Projects() override;
  Status PutToken(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> FindToken(const std::string& id) override;
  Result<std::vector<TokenRecord>> Tokens(const std::string& project) override;
  Status AppendAudit(const AuditRecord& entry) override;
  Status PutPipelineVersion(const PipelineVersionRecord& version) override;
  Result<std::vector<PipelineVersionRecord>> PipelineVersions(const std::string& project,
                                                              const std::string& name) override;
  Status SetDefaultPipelineVersion(const std::string& project, const std::string& name,
                                   int64_t version) override;
  Result<std::vector<PipelineRecord>> Pipelines(const std::string& project) override;
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(const std::string& project,
                                                              const std::string& key) override;
  Status PutIdempotencyKey(const IdempotencyRecord& record) override;
  Status DeleteIdempotencyKey(const std::string& project, const std::string& key) override;
  Status PutSchedule(const ScheduleRecord& schedule) override;
  Result<std::optional<ScheduleRecord>> FindSchedule(const std::string& project,
                                                     const std::string& name) override;
  Result<std::vector<ScheduleRecord>> Schedules(const std::string& project) override;
  Status DeleteSchedule(const std::string& project, const std::string& name) override;
  Result<bool> AddScheduleFire(const ScheduleFireRecord& fire) override;
  Status UpdateScheduleFire(const ScheduleFireRecord& fire) override;
  Result<int64_t> PutWebhook(const WebhookRecord& webhook) override;
  Result<std::vector<WebhookRecord>> Webhooks(const std::string& project) override;
  Status DeleteWebhook(const std::string& project, int64_t id) override;
  Status AddDelivery(const DeliveryRecord& delivery) override;
  Result<std::vector<DeliveryRecord>> DueDeliveries(int64_t now_ns, int64_t limit) override;
  Status UpdateDelivery(const DeliveryRecord& delivery) override;
  Result<std::vector<DeliveryRecord>> Deliveries(int64_t webhook, int64_t limit) override;
  Result<std::vector<ScheduleFireRecord>> ScheduleFires(const std::string& project,
                                                        const std::string& name,
                                                        int64_t limit) override;
  Result<int64_t> PutMlflowExperiment(const MlflowExperimentRecord& experiment) override;
  Result<std::vector<MlflowExperimentRecord>> MlflowExperiments(
      const std::string& project) override;
  Status PutMlflowRun(const MlflowRunRecord& run) override;
  Result<std::optional<MlflowRunRecord>> FindMlflowRun(const std::string& id) override;
  Result<std::vector<MlflowRunRecord>> MlflowRuns(const std::string& project) override;
  Result<std::vector<AuditRecord>> Audit(const std::optional<std::string>& project, int64_t limit,
                                         int64_t before_seq) override;

  std::optional<Digest> Lookup(const std::string& path, const struct stat& st) override;
  void Record(const std::string& path, const struct stat& st, const Digest& digest,
              int64_t hashed_at_ns) override;

 private:
  Result<std::vector<PortUse>> PortUses(const char* table, const std::string& digest);
  std::unique_ptr<Db> db_;
};

}  // namespace weft::meta
