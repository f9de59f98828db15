// What the subcommands that touch a workspace share: --workspace, and opening its parts.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "engine/workspace.h"
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
  engine::Workspace ws;
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<store::Store> store;
};

// Finds or creates the workspace and opens its database and store. Configuration problems are
// printed as warnings.
Result<OpenWorkspaceResult> OpenWorkspace(const WorkspaceArgs& args);

// Prints `status` as "weft: error: ..." and returns its exit code.
int Fail(const Status& status);

// Finds a run by "last", "r12" or "12"; an unknown one is a usage error.
Result<meta::RunRecord> FindRun(meta::MetaStore& meta, const std::string& ref);

}  // namespace weft::cli
