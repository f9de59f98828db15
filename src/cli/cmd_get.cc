// `weft get RUN OUTPUT DEST`: copy an output out of the store.
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/fs.h"
#include "cli/command.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupGet(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run, output, dest;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("output", o->output, "STEP.OUTPUT, for example train.model")->required();
  sub.add_option("dest", o->dest, "where to copy it (must not exist)")->required();
  return [o] {
    Result<OpenWorkspaceResult> ws = OpenWorkspace(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = FindRun(*ws->meta, o->run);
    if (!run.ok()) return Fail(run.status());
    size_t dot = o->output.rfind('.');
    if (dot == std::string::npos) {
      return Fail(Status::Invalid(fmt::format("`{}`: name an output as STEP.OUTPUT", o->output)));
    }
    std::string step_name = o->output.substr(0, dot);
    std::string out_name = o->output.substr(dot + 1);
    Result<std::optional<meta::StepRecord>> step = ws->meta->FindStep(run->id, step_name);
    if (!step.ok()) return Fail(step.status());
    if (!*step) return Fail(Status::NotFound(fmt::format("run {} has no step `{}`", run->id, step_name)));
    const meta::StepRecord& s = **step;
    Result<std::vector<meta::OutputRecord>> outs =
        ws->meta->Outputs(s.ResultAttempt().first, s.ResultAttempt().second);
    if (!outs.ok()) return Fail(outs.status());
    for (const meta::OutputRecord& out : *outs) {
      if (out.name != out_name) continue;
      std::optional<Digest> d = store::ParseHex(out.digest);
      if (!d || !ws->store->Has(*d)) {
        return Fail(Status::NotFound(fmt::format(
            "{} of run {} (sha256:{}) is no longer in the store (removed by `weft gc`); rerun the "
            "pipeline to make it again",
            o->output, run->id, out.digest.substr(0, 12))));
      }
      std::string from = ws->store->ObjectPath(*d);
      if (StatPath(o->dest) != PathKind::kMissing) {
        return Fail(Status::Invalid(fmt::format("{} already exists", o->dest)));
      }
      Status st = out.type == store::ObjectType::kFile ? CopyFile(from + "/" + out.object_name, o->dest)
                                     : CopyTree(from, o->dest);
      if (!st.ok()) return Fail(st);
      fmt::print("{} -> {} (sha256:{})\n", o->output, o->dest, out.digest.substr(0, 12));
      return 0;
    }
    return Fail(Status::NotFound(fmt::format("step {} of run {} has no output `{}` (status {})",
                                             step_name, run->id, out_name, s.status)));
  };
}

}  // namespace weft::cli
