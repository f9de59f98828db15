#include "cli/workspace_args.h"

#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace weft::cli {

void WorkspaceArgs::AddTo(CLI::App& sub) {
  sub.add_option("--workspace", dir,
                 "the workspace folder (default: the nearest .weft above here, or $WEFT_WORKSPACE)");
}

std::string Cwd() {
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

namespace {

Result<std::unique_ptr<app::Session>> Report(Result<std::unique_ptr<app::Session>> s,
                                             const Diagnostics& diags) {
  std::string report = diags.FormatAll();
  std::fputs(report.c_str(), stderr);
  return s;
}

}  // namespace

Result<std::unique_ptr<app::Session>> Open(const WorkspaceArgs& args, bool settle) {
  app::OpenOptions o;
  o.workspace = args.dir;
  o.cwd = Cwd();
  o.settle = settle;
  Diagnostics diags;
  return Report(app::Session::Open(o, diags), diags);
}

Result<std::unique_ptr<app::Session>> OpenAlone(const WorkspaceArgs& args, bool wait,
                                                const std::string& command) {
  app::OpenOptions o;
  o.workspace = args.dir;
  o.cwd = Cwd();
  o.wait = wait;
  Diagnostics diags;
  return Report(app::Session::OpenAlone(o, diags, command), diags);
}

int Fail(const Status& status) {
  std::fprintf(stderr, "weft: error: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

}  // namespace weft::cli
