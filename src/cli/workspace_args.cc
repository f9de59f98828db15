#include "cli/workspace_args.h"

#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "engine/resume.h"
#include "meta/sqlite_meta.h"

namespace weft::cli {

void WorkspaceArgs::AddTo(CLI::App& sub) {
  sub.add_option("--workspace", dir,
                 "the workspace folder (default: the nearest .weft above here, or $WEFT_WORKSPACE)");
}

Result<OpenWorkspaceResult> OpenWorkspace(const WorkspaceArgs& args, ws::WorkspaceLock::Mode mode,
                                          bool wait, bool settle) {
  Diagnostics diags;
  Result<ws::Workspace> ws =
      ws::OpenWorkspace(args.dir, std::filesystem::current_path().string(), diags);
  std::string report = diags.FormatAll();
  std::fputs(report.c_str(), stderr);
  if (!ws.ok()) return ws.status();
  if (diags.has_errors()) return Status::Invalid("the workspace configuration is invalid");
  OpenWorkspaceResult out{*ws, std::nullopt, nullptr, nullptr};
  Result<ws::WorkspaceLock> lock = ws::WorkspaceLock::Acquire(out.ws, mode, wait);
  if (!lock.ok()) return lock.status();
  out.lock = std::move(*lock);
  Result<std::unique_ptr<meta::MetaStore>> meta = meta::OpenSqliteMeta(out.ws.db_path());
  if (!meta.ok()) return meta.status();
  out.meta = std::move(*meta);
  out.store = std::make_unique<store::Store>(out.ws.store_dir());
  Status s = out.store->Init();
  if (!s.ok()) return s;
  if (settle) {
    Result<std::vector<std::string>> settled = engine::SettleDeadRuns(*out.meta);
    if (!settled.ok()) return settled.status();
  }
  return out;
}

Result<OpenWorkspaceResult> OpenWorkspaceAlone(const WorkspaceArgs& args, bool wait,
                                               const std::string& command) {
  Result<OpenWorkspaceResult> ws = OpenWorkspace(args, ws::WorkspaceLock::Mode::kExclusive, wait);
  if (!ws.ok() && ws.status().code() == Code::kBusy) {
    return Status::Busy(fmt::format("weft {}: other weft commands (runs) are using this workspace; "
                                    "nothing was changed. Try again when they finish, or pass --wait",
                                    command));
  }
  return ws;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "weft: error: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

Result<meta::RunRecord> FindRun(meta::MetaStore& meta, const std::string& ref) {
  Result<std::optional<meta::RunRecord>> run = meta.FindRun(ref);
  if (!run.ok()) return run.status();
  if (!*run) {
    return Status::NotFound(ref == "last" ? "this workspace has no runs yet"
                                          : fmt::format("no run `{}` in this workspace; `weft runs` "
                                                        "lists them",
                                                        ref));
  }
  return **run;
}

}  // namespace weft::cli
