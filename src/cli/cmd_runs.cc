// `weft runs`: the runs of this workspace (or, with --server, those the token sees), newest first.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/remote_args.h"

namespace weft::cli {

std::function<int()> SetupRuns(CLI::App& sub) {
  struct Options {
    Target target;
    int64_t limit = 20;
    bool json = false;
    std::string experiment;
    std::string since;
    std::string tag;
    std::string status;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("-n,--limit", o->limit, "how many runs to list (default 20)");
  sub.add_option("--experiment", o->experiment, "only runs of this experiment");
  sub.add_option("--status", o->status, "only runs with this status")
      ->check(CLI::IsMember({"running", "succeeded", "failed", "canceled", "interrupted"}));
  sub.add_option("--since", o->since, "only runs created on or after this date (YYYY-MM-DD, UTC)");
  sub.add_option("--tag", o->tag, "only runs with this tag: KEY or KEY=VALUE");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    // (checked here, so that a server is asked only what it can answer, with the same message)
    Result<meta::RunFilter> filter = app::ParseRunFilter(o->experiment, o->status, o->since, o->tag);
    if (!filter.ok()) return Fail(Status::Invalid("--" + filter.status().message()));
    std::string path = fmt::format("/runs?limit={}", o->limit);
    for (const auto& [name, value] : {std::pair{"experiment", &o->experiment},
                                      {"status", &o->status},
                                      {"since", &o->since},
                                      {"tag", &o->tag}}) {
      if (!value->empty()) path += fmt::format("&{}={}", name, QueryValue(*value));
    }
    Result<Json> runs = o->target.Do(
        [&](app::Session& s) -> Result<Json> {
          Result<std::vector<meta::RunRecord>> found = s.meta().Runs(o->limit, *filter);
          if (!found.ok()) return found.status();
          Json arr = Json::MakeArray();
          for (const auto& r : *found) arr.Push(app::RunSummaryJson(r));
          return Json::MakeObject().Set("runs", std::move(arr));
        },
        "GET", path);
    if (!runs.ok()) return Fail(runs.status());
    const Json& list = *runs->Find("runs");
    if (o->json) {
      fmt::print("{}\n", list.Dump());
      return 0;
    }
    fmt::print("{:<6} {:<10} {:>9}  {:<16} {}\n", "run", "status", "duration", "experiment",
               "pipeline");
    for (const Json& r : *list.Items()) {
      bool running = TextOf(r, "status") == "running";  // a live run counts up
      int64_t end = running ? RealOs().NowNs() : IntOf(r, "finished_ns");
      double secs = end > IntOf(r, "created_ns") ? (end - IntOf(r, "created_ns")) / 1e9 : 0;
      fmt::print("{:<6} {:<10} {:>8.1f}s  {:<16} {}\n", TextOf(r, "id"), TextOf(r, "status"), secs,
                 TextOf(r, "experiment"),
                 TextOf(r, "name").empty() ? TextOf(r, "pipeline_file") : TextOf(r, "name"));
    }
    return 0;
  };
}

}  // namespace weft::cli
