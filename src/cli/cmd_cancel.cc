// `weft cancel RUN`: stop a run from another terminal, or (--server) a server's run.
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/status.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "app/runs.h"

namespace weft::cli {
namespace {

// Asks the server to cancel the run, then waits, as `weft cancel` does here, for its steps to
// stop (their grace period), up to a minute.
int CancelThrough(const RemoteArgs& remote, const std::string& ref) {
  Result<std::unique_ptr<server::HttpClient>> client = remote.Connect();
  if (!client.ok()) return Fail(client.status());
  Result<Json> asked = CallApi(**client, "POST", "/runs/" + QueryValue(ref) + "/cancel");
  if (!asked.ok()) return Fail(asked.status());
  std::string id = TextOf(*asked, "canceled");
  for (int k = 0; k < 600; ++k) {
    Result<Json> run = CallApi(**client, "GET", "/runs/" + QueryValue(id));
    if (!run.ok()) return Fail(run.status());
    if (TextOf(*run, "status") != "running") {
      fmt::print("run {} {}: the server stopped every step\n", id, TextOf(*run, "status"));
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fmt::print("run {} is stopping: the server is stopping its steps (their grace period)\n", id);
  return 0;
}

}  // namespace

std::function<int()> SetupCancel(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  return [o] {
    if (o->target.remote.remote()) return CancelThrough(o->target.remote, o->run);
    // Not settled on opening: a dead run named here is canceled, not merely interrupted.
    Result<std::unique_ptr<app::Session>> ws = Open(o->target.workspace, false);
    if (!ws.ok()) return Fail(ws.status());
    Result<app::Canceled> c = app::CancelRun(**ws, o->run);
    if (!c.ok()) return Fail(c.status());
    if (c->owner_pid != 0) {
      fmt::print("run {} {}: its weft process (pid {}) stopped every step\n", c->run.id,
                 c->run.status, c->owner_pid);
    } else if (c->leftovers.processes == 0) {
      fmt::print("run {} canceled: its weft process was gone, and nothing of it was still running\n",
                 c->run.id);
    } else {
      fmt::print("run {} canceled: its weft process was gone; weft stopped the {} process{} its "
                 "steps left (none remains)\n",
                 c->run.id, c->leftovers.processes, c->leftovers.processes == 1 ? "" : "es");
    }
    return 0;
  };
}

}  // namespace weft::cli
