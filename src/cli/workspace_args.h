// What the subcommands that touch a workspace share: --workspace, opening it through the
// application layer (app/session.h), and printing errors.
#pragma once

#include <memory>
#include <string>

#include "app/session.h"
#include "base/status.h"

namespace CLI {
class App;
}

namespace weft::cli {

struct WorkspaceArgs {
  std::string dir;
  void AddTo(CLI::App& sub);
};

// The folder weft was started in.
std::string Cwd();

// Opens the workspace (app::Session::Open); configuration problems are printed as warnings.
Result<std::unique_ptr<app::Session>> Open(const WorkspaceArgs& args, bool settle = true);
// For `weft gc` and `weft fsck`: the workspace with its lock held exclusively.
Result<std::unique_ptr<app::Session>> OpenAlone(const WorkspaceArgs& args, bool wait,
                                                const std::string& command);

// Prints `status` as "weft: error: ..." and returns its exit code.
int Fail(const Status& status);

}  // namespace weft::cli
