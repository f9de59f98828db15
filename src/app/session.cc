#include "app/session.h"

#include <fmt/format.h>

#include "engine/resume.h"
#include "exec/podman.h"
#include "exec/slurm.h"
#include "meta/sqlite_meta.h"

namespace weft::app {

Session::Session(ws::Workspace ws, const Os& os, std::string cwd)
    : ws_(std::move(ws)), os_(os), cwd_(std::move(cwd)) {
  const ws::Config& c = ws_.config;
  local_ = exec::LocalOptions{c.sandbox, c.cpus, c.memory_mb, c.gpus,
                              exec::ContainersConfPath(ws_.dir)};
  // Made on first use, with the options as they are then (`-j` may come after opening).
  targets_.Add("local", [this]() -> Result<std::unique_ptr<exec::Executor>> {
    Result<std::unique_ptr<exec::LocalExecutor>> ex = exec::LocalExecutor::Create(local_);
    if (!ex.ok()) return ex.status();
    return std::unique_ptr<exec::Executor>(std::move(*ex));
  });
  for (const auto& [name, compute] : c.computes) {
    if (compute.type != "slurm") {
      targets_.Alias(name, "local");
      continue;
    }
    exec::SlurmOptions o{compute.partition, compute.account, compute.qos, compute.sbatch_args,
                         compute.setup,     compute.export_vars, compute.weft, compute.max_cpus,
                         c.sandbox};
    targets_.Add(name, [name, o]() -> Result<std::unique_ptr<exec::Executor>> {
      Result<std::unique_ptr<exec::SlurmExecutor>> ex = exec::SlurmExecutor::Create(name, o);
      if (!ex.ok()) return ex.status();
      return std::unique_ptr<exec::Executor>(std::move(*ex));
    });
  }
}

void Session::SetLocalCpus(int64_t cpus) {
  if (local_.cpus == cpus) return;
  local_.cpus = cpus;
  targets_.Forget("local");  // made to settle dead runs: made again with this capacity
}

Result<std::unique_ptr<Session>> Session::Open(const OpenOptions& options, Diagnostics& diags,
                                               const Os& os) {
  std::string dir = options.workspace;
  if (dir.empty()) dir = os.GetEnv("WEFT_WORKSPACE").value_or("");
  Result<ws::Workspace> ws = ws::OpenWorkspace(dir, options.cwd, diags);
  if (!ws.ok()) return ws.status();
  if (diags.has_errors()) return Status::Invalid("the workspace configuration is invalid");
  std::unique_ptr<Session> s(new Session(std::move(*ws), os, options.cwd));
  Result<ws::WorkspaceLock> lock = ws::WorkspaceLock::Acquire(s->ws_, options.lock, options.wait);
  if (!lock.ok()) return lock.status();
  s->lock_ = std::move(*lock);
  Result<std::unique_ptr<meta::MetaStore>> meta = meta::OpenSqliteMeta(s->ws_.db_path());
  if (!meta.ok()) return meta.status();
  s->meta_ = std::move(*meta);
  s->store_ = std::make_unique<store::Store>(s->ws_.store_dir(), os);
  Status st = s->store_->Init();
  if (!st.ok()) return st;
  s->registry_ = std::make_unique<assets::WorkspaceRegistry>(s->ws_, *s->meta_, *s->store_);
  if (options.settle) {
    Result<std::vector<std::string>> settled = engine::SettleDeadRuns(*s->meta_, s->targets_, os);
    if (!settled.ok()) return settled.status();
  }
  return s;
}

namespace {

Status InUse(const std::string& command) {
  return Status::Busy(fmt::format("weft {}: other weft commands (runs) are using this workspace; "
                                  "nothing was changed. Try again when they finish, or pass --wait",
                                  command));
}

}  // namespace

Result<std::unique_ptr<Session>> Session::OpenAlone(OpenOptions options, Diagnostics& diags,
                                                    const std::string& command) {
  options.lock = ws::WorkspaceLock::Mode::kExclusive;
  Result<std::unique_ptr<Session>> s = Open(options, diags);
  if (!s.ok() && s.status().code() == Code::kBusy) return InUse(command);
  return s;
}

Status Session::Alone(const std::string& command, const std::function<Status()>& task) {
  using Mode = ws::WorkspaceLock::Mode;
  if (!lock_) return task();
  Status alone = lock_->Change(Mode::kExclusive, false);
  if (!alone.ok()) {
    Status back = lock_->Change(Mode::kShared, true);  // (a failed change let it go)
    if (!back.ok()) return back;
    return alone.code() == Code::kBusy ? InUse(command) : alone;
  }
  Status s = task();
  Status back = lock_->Change(Mode::kShared, true);
  return s.ok() ? back : s;
}

Result<meta::RunRecord> Session::FindRun(const std::string& ref) {
  Result<std::optional<meta::RunRecord>> run = meta_->FindRun(ref);
  if (!run.ok()) return run.status();
  if (!*run) {
    return Status::NotFound(ref == "last" ? "this workspace has no runs yet"
                                          : fmt::format("no run `{}` in this workspace; `weft runs` "
                                                        "lists them",
                                                        ref));
  }
  return **run;
}

Result<meta::StepRecord> Session::FindStep(const meta::RunRecord& run, const std::string& step) {
  return app::FindStep(*meta_, run, step);
}

Result<meta::StepRecord> FindStep(meta::MetaStore& meta, const meta::RunRecord& run,
                                  const std::string& step) {
  Result<std::optional<meta::StepRecord>> s = meta.FindStep(run.id, step);
  if (!s.ok()) return s.status();
  if (!*s) return Status::NotFound(fmt::format("run {} has no step `{}`", run.id, step));
  return **s;
}

}  // namespace weft::app
