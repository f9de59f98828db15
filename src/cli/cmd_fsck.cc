// `weft fsck [--wait] [--json]`: re-hash the store, quarantine what does not match its name, and
// check every reference the database holds.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "maint/fsck.h"

namespace weft::cli {

std::function<int()> SetupFsck(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    bool wait = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_flag("--wait", o->wait, "wait for running commands to finish instead of giving up");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = OpenAlone(o->workspace, o->wait, "fsck");
    if (!ws.ok()) return Fail(ws.status());
    Result<maint::FsckReport> r = maint::CheckStore((*ws)->meta(), (*ws)->store());
    if (!r.ok()) return Fail(r.status());
    if (o->json) {
      auto list = [](const std::vector<std::string>& v) {
        Json a = Json::MakeArray();
        for (const std::string& s : v) a.Push(Json(s));
        return a;
      };
      Json j = Json::MakeObject();
      j.Set("clean", r->clean()).Set("blobs", r->blobs).Set("objects", r->objects).Set("bytes", r->bytes);
      j.Set("quarantined_blobs", list(r->bad_blobs)).Set("quarantined_objects", list(r->bad_objects));
      j.Set("missing_assets", list(r->missing_assets)).Set("missing_run_objects", r->missing_run_objects);
      fmt::print("{}\n", j.Dump());
      return r->clean() ? 0 : 1;
    }
    for (const std::string& d : r->bad_blobs) {
      fmt::print("damaged content sha256:{}: quarantined\n", d);
    }
    for (const std::string& d : r->bad_objects) {
      fmt::print("damaged object sha256:{}: quarantined; steps that made it will run again\n", d);
    }
    for (const std::string& a : r->missing_assets) fmt::print("missing: the object of {}\n", a);
    fmt::print("checked {} objects, {} file contents ({:.1f} MB): {}\n", r->objects, r->blobs,
               r->bytes / (1024.0 * 1024.0),
               r->clean() ? "all intact" : fmt::format("{} damaged", r->bad_blobs.size() + r->bad_objects.size() + r->missing_assets.size()));
    if (r->missing_run_objects > 0) {
      fmt::print("{} objects that runs refer to are not in the store (removed by `weft gc` or "
                 "quarantined); steps that need them run again\n",
                 r->missing_run_objects);
    }
    return r->clean() ? 0 : 1;
  };
}

}  // namespace weft::cli
