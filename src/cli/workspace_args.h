// What the subcommands that touch a workspace share: --workspace, and opening its parts.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "workspace/workspace.h"
#include "meta/meta.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace weft::cli {

struct WorkspaceArgs {
  std::string dir;
  void AddTo(CLI::App& sub);
};

struct OpenWorkspaceResult {
  ws::Workspace ws;
  std::optional<ws::WorkspaceLock> lock;  // held until the command ends
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<store::Store> store;
};

// Finds or creates the workspace, takes its lock (shared: waits while `weft gc` runs) and opens
// its database and store. Configuration problems are printed as warnings. `weft gc` asks for the
// lock exclusively, and without `wait` fails with Status::Busy while other commands hold it.
// With `settle`, runs whose weft process is gone are settled first (engine::SettleDeadRuns):
// whatever they left running is stopped and they show as `interrupted`.
Result<OpenWorkspaceResult> OpenWorkspace(
    const WorkspaceArgs& args,
    ws::WorkspaceLock::Mode mode = ws::WorkspaceLock::Mode::kShared, bool wait = true,
    bool settle = true);

// For `weft gc` and `weft fsck`: the workspace with its lock held exclusively; while other commands
// hold it, a Busy error that says `command` changed nothing (or, with `wait`, it waits).
Result<OpenWorkspaceResult> OpenWorkspaceAlone(const WorkspaceArgs& args, bool wait,
                                               const std::string& command);

// Prints `status` as "weft: error: ..." and returns its exit code.
int Fail(const Status& status);

// Finds a run by "last", "r12" or "12"; an unknown one is a usage error.
Result<meta::RunRecord> FindRun(meta::MetaStore& meta, const std::string& ref);

}  // namespace weft::cli
