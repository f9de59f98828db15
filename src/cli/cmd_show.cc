// `weft show RUN`: a run and its steps, here or (--server) through a server.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/views.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/remote_args.h"

namespace weft::cli {
std::function<int()> SetupShow(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run = "last";
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` by default)");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<Json> run = o->target.Do(
        [&](app::Session& s) -> Result<Json> {
          Result<meta::RunRecord> r = s.FindRun(o->run);
          if (!r.ok()) return r.status();
          return app::RunDetailJson(s.meta(), *r, &s.workspace());
        },
        "GET", "/runs/" + QueryValue(o->run));
    if (!run.ok()) return Fail(run.status());
    if (o->json) {
      fmt::print("{}\n", run->Dump());
      return 0;
    }
    fmt::print("run {}  {}  {}  (experiment {}, {})\n", TextOf(*run, "id"), TextOf(*run, "status"),
               TextOf(*run, "name").empty() ? "(unnamed)" : TextOf(*run, "name"),
               TextOf(*run, "experiment"), TextOf(*run, "pipeline_file"));
    const Json::Array& steps = *run->Find("steps")->Items();
    size_t width = 4;
    for (const Json& s : steps) {
      width = std::max(width, TextOf(s, "name").size());
      const Json::Array& jobs = *s.Find("jobs")->Items();
      if (!jobs.empty())
        width = std::max(width, fmt::format("  job {}", IntOf(jobs.back(), "job")).size());
    }
    fmt::print("{:<{}}  {:<10} {:>9}  {:<20}  {}\n", "step", width, "status", "duration",
               "fingerprint", "note");
    for (const Json& s : steps) {
      std::string waiting = TextOf(s, "waiting");
      fmt::print("{:<{}}  {:<10} {:>8.1f}s  {:<20}  {}\n", TextOf(s, "name"), width,
                 TextOf(s, "status"), SecondsOf(s, TextOf(s, "status") == "running"),
                 TextOf(s, "fingerprint").substr(0, 19),
                 waiting.empty() ? TextOf(s, "message") : waiting);
      if (const Json* slurm = s.Find("slurm")) {  // where the step ran: its Slurm job
        std::string rss = IntOf(*slurm, "max_rss_mb") >= 0
                              ? fmt::format(", peak memory {} MB", IntOf(*slurm, "max_rss_mb"))
                              : "";
        fmt::print("{:<{}}  slurm job {} on {}: {}, {:.1f} s{}\n", "", width, TextOf(*slurm, "job_id"),
                   TextOf(*slurm, "node"), TextOf(*slurm, "state"),
                   slurm->Find("elapsed_s")->Number().value_or(0), rss);
      }
      for (const Json& j : *s.Find("jobs")->Items()) {
        fmt::print("{:<{}}  {:<10} {:>8.1f}s  {:<20}  {}\n",
                   fmt::format("  job {}", IntOf(j, "job")), width, TextOf(j, "status"),
                   SecondsOf(j, false), "", TextOf(j, "message"));
      }
    }
    // (a server older than this one sends none)
    if (const Json* said = run->Find("warnings"); said != nullptr && !said->Items()->empty()) {
      fmt::print("\nwarnings:\n");
      for (const Json& w : *said->Items()) {
        const std::string* text = w.String();
        if (text == nullptr) continue;
        std::string indented = *text;  // (a hint goes on its own line)
        for (size_t at = 0; (at = indented.find('\n', at)) != std::string::npos; at += 3) {
          indented.replace(at, 1, "\n  ");
        }
        fmt::print("  {}\n", indented);
      }
    }
    return 0;
  };
}

}  // namespace weft::cli
