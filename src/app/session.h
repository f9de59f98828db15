// The application layer: what every front end (the CLI today; the server and its web UI next)
// calls to work with a workspace. A Session is one open workspace: its configuration, its lock,
// its metadata store and object store, and its compute targets. Nothing here prints, reads the
// process's working folder or changes it: the caller says where it stands (OpenOptions::cwd).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assets/registry.h"
#include "base/diag.h"
#include "base/os.h"
#include "base/status.h"
#include "engine/targets.h"
#include "exec/local.h"
#include "meta/meta.h"
#include "store/store.h"
#include "workspace/workspace.h"

namespace weft::app {

struct OpenOptions {
  // The workspace folder (--workspace); empty: $WEFT_WORKSPACE, else the nearest `.weft` above
  // `cwd`, else a new one in `cwd`.
  std::string workspace;
  std::string cwd;  // where the caller stands (required)
  // Shared: with runs and queries; exclusive: `weft gc` and `weft fsck`. Without `wait`, a lock
  // held by others is Status::Busy.
  ws::WorkspaceLock::Mode lock = ws::WorkspaceLock::Mode::kShared;
  bool wait = true;
  // Runs whose weft process is gone are settled first (engine::SettleDeadRuns): what they left
  // running is stopped and they show as `interrupted`.
  bool settle = true;
};

class Session {
 public:
  // Configuration problems go to `diags` (errors make it fail).
  static Result<std::unique_ptr<Session>> Open(const OpenOptions& options, Diagnostics& diags,
                                               const Os& os = RealOs());
  // The same, with the lock exclusive: while others hold it, a Busy error that says `command`
  // changed nothing.
  static Result<std::unique_ptr<Session>> OpenAlone(OpenOptions options, Diagnostics& diags,
                                                    const std::string& command);

  const ws::Workspace& workspace() const { return ws_; }
  meta::MetaStore& meta() { return *meta_; }
  store::Store& store() { return *store_; }
  const Os& os() const { return os_; }
  const std::string& cwd() const { return cwd_; }
  assets::WorkspaceRegistry& registry() { return *registry_; }
  // The compute targets: `local` (this machine), and the configuration's `computes:`. Their
  // executors are made when first used.
  engine::Targets& targets() { return targets_; }
  // The local target's CPUs (`weft run -j`), before it is first used.
  void SetLocalCpus(int64_t cpus);

  // Runs `task` with the workspace's lock exclusive (as `weft gc` and `weft fsck` need it), then
  // shared again; while other weft commands hold it, a Busy error that says `command` changed
  // nothing.
  Status Alone(const std::string& command, const std::function<Status()>& task);

  // A run by "last", "r12" or "12"; an unknown one is NotFound with what to do.
  Result<meta::RunRecord> FindRun(const std::string& ref);
  // A step of a run, by name.
  Result<meta::StepRecord> FindStep(const meta::RunRecord& run, const std::string& step);

 private:
  Session(ws::Workspace ws, const Os& os, std::string cwd);

  ws::Workspace ws_;
  const Os& os_;
  std::string cwd_;
  std::optional<ws::WorkspaceLock> lock_;
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<assets::WorkspaceRegistry> registry_;
  exec::LocalOptions local_;
  engine::Targets targets_;
};

// A step of a run, by name; NotFound naming both otherwise.
Result<meta::StepRecord> FindStep(meta::MetaStore& meta, const meta::RunRecord& run,
                                  const std::string& step);

}  // namespace weft::app
