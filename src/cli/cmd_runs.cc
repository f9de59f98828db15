// `weft runs`: the runs of this workspace, newest first.
#include <cstdint>
#include <ctime>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"

namespace weft::cli {

std::function<int()> SetupRuns(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    int64_t limit = 20;
    bool json = false;
    meta::RunFilter filter;
    std::string since;
    std::string tag;
    std::string status;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("-n,--limit", o->limit, "how many runs to list (default 20)");
  sub.add_option("--experiment", o->filter.experiment, "only runs of this experiment");
  sub.add_option("--status", o->status, "only runs with this status")
      ->check(CLI::IsMember({"running", "succeeded", "failed", "canceled", "interrupted"}));
  sub.add_option("--since", o->since, "only runs created on or after this date (YYYY-MM-DD, UTC)");
  sub.add_option("--tag", o->tag, "only runs with this tag: KEY or KEY=VALUE");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    if (!o->since.empty()) {
      std::tm tm{};
      const char* end = ::strptime(o->since.c_str(), "%Y-%m-%d", &tm);
      if (end == nullptr || *end != '\0') {
        return Fail(Status::Invalid(fmt::format("--since {}: expected a date, YYYY-MM-DD", o->since)));
      }
      int64_t secs = static_cast<int64_t>(::timegm(&tm));
      constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000;  // past 2262: later than any run
      o->filter.since_ns = secs >= kMaxSecs ? INT64_MAX : secs * 1'000'000'000;
    }
    size_t eq = o->tag.find('=');
    o->filter.tag = o->tag.substr(0, eq);
    if (!o->status.empty()) o->filter.status = meta::ParseRunStatus(o->status);
    if (eq != std::string::npos) o->filter.tag_value = o->tag.substr(eq + 1);
    Result<std::vector<meta::RunRecord>> runs = (*ws)->meta().Runs(o->limit, o->filter);
    if (!runs.ok()) return Fail(runs.status());
    if (o->json) {
      Json arr = Json::MakeArray();
      for (const auto& r : *runs) {
        arr.Push(Json::MakeObject()
                     .Set("id", r.id)
                     .Set("name", r.name)
                     .Set("experiment", r.experiment)
                     .Set("status", std::string(meta::Name(r.status)))
                     .Set("exit_code", r.exit_code)
                     .Set("created_ns", r.created_ns)
                     .Set("finished_ns", r.finished_ns)
                     .Set("pipeline_file", r.pipeline_file)
                     .Set("tags", [&] {
                       Json tags = Json::MakeObject();
                       for (const auto& [k, v] : r.tags) tags.Set(k, v);
                       return tags;
                     }()));
      }
      fmt::print("{}\n", arr.Dump());
      return 0;
    }
    fmt::print("{:<6} {:<10} {:>9}  {:<16} {}\n", "run", "status", "duration", "experiment", "pipeline");
    for (const auto& r : *runs) {
      int64_t end = r.status == meta::RunStatus::kRunning ? (*ws)->os().NowNs() : r.finished_ns;  // a live run counts up
      double secs = end > r.created_ns ? (end - r.created_ns) / 1e9 : 0;
      fmt::print("{:<6} {:<10} {:>8.1f}s  {:<16} {}\n", r.id, r.status, secs, r.experiment,
                 r.name.empty() ? r.pipeline_file : r.name);
    }
    return 0;
  };
}

}  // namespace weft::cli
