// `weft cancel RUN`: stop a run from another terminal.
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/clock.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "exec/local.h"

namespace weft::cli {
namespace {

// The value of `key` in "k=v k=v" (the form weft records processes in); 0 when absent.
int64_t Field(const std::string& text, const std::string& key) {
  size_t at = text.find(key + "=");
  if (at == std::string::npos || (at > 0 && text[at - 1] != ' ')) return 0;
  return std::atoll(text.c_str() + at + key.size() + 1);
}

// Alive and the very process recorded: a reused pid has another start time.
bool SameProcess(int64_t pid, int64_t start) {
  return pid > 0 && start > 0 && exec::ProcessStartTime(pid) == std::to_string(start);
}

bool GroupGone(int64_t pgid) { return ::kill(static_cast<pid_t>(-pgid), 0) != 0 && errno == ESRCH; }

}  // namespace

std::function<int()> SetupCancel(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  return [o] {
    Result<OpenWorkspaceResult> ws = OpenWorkspace(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = FindRun(*ws->meta, o->run);
    if (!run.ok()) return Fail(run.status());
    if (run->status != "running") {
      return Fail(Status::Invalid(fmt::format("run {} is not running (it {})", run->id, run->status)));
    }
    int64_t owner = Field(run->owner, "pid");
    if (SameProcess(owner, Field(run->owner, "start"))) {
      // The owner stops its steps, records them canceled and exits with 130.
      ::kill(static_cast<pid_t>(owner), SIGTERM);
      for (int i = 0; i < 600; ++i) {
        Result<meta::RunRecord> now = FindRun(*ws->meta, run->id);
        if (now.ok() && now->status != "running") {
          fmt::print("run {} {} (its process, pid {}, stopped every step)\n", run->id, now->status, owner);
          return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return Fail(Status::Io(fmt::format("run {}: its process (pid {}) did not stop within 60 s",
                                         run->id, owner)));
    }
    // The owner is gone (killed, or the machine restarted): stop what it left running.
    Result<std::vector<meta::StepRecord>> steps = ws->meta->Steps(run->id);
    if (!steps.ok()) return Fail(steps.status());
    std::vector<int64_t> groups;
    for (const meta::StepRecord& s : *steps) {
      if (s.status != "running") continue;
      int64_t pgid = Field(s.job, "pgid");
      if (SameProcess(pgid, Field(s.job, "start"))) {
        ::kill(static_cast<pid_t>(-pgid), SIGTERM);
        groups.push_back(pgid);
      }
    }
    for (int i = 0; i < 50 && !groups.empty(); ++i) {
      std::erase_if(groups, GroupGone);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int64_t pgid : groups) ::kill(static_cast<pid_t>(-pgid), SIGKILL);
    Status st = ws->meta->Begin();
    int64_t now_ns = NowNs();
    for (meta::StepRecord s : *steps) {
      if (!st.ok()) break;
      if (s.status != "running" && s.status != "retrying") continue;
      s.status = "canceled";
      s.message = "canceled by weft cancel (the run's process was gone)";
      s.finished_ns = now_ns;
      st = ws->meta->PutStep(s);
      if (st.ok()) st = ws->meta->AddTransition(run->id, s.index, "canceled", now_ns);
    }
    if (st.ok()) st = ws->meta->FinishRun(run->id, "canceled", kExitCanceled, now_ns);
    if (st.ok()) st = ws->meta->Commit();
    if (!st.ok()) {
      ws->meta->Rollback();
      return Fail(st);
    }
    fmt::print("run {} canceled (its process was gone; weft stopped the steps it left running)\n",
               run->id);
    return 0;
  };
}

}  // namespace weft::cli
