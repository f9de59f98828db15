// `weft compare RUN RUN... [--diff] [--json]`: runs side by side, differences marked.
// `weft compare RUN --jobs STEP`: the jobs of one step (a sweep's trials) side by side.
// Here or (--server) through a server.
#include <unistd.h>

#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/views.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "queries/compare.h"

namespace weft::cli {
namespace {

// Digests are long; twelve hex digits tell objects apart on a screen.
std::string Shown(const Json& v) {
  if (v.IsNull()) return "-";
  const std::string& s = *v.String();
  if (s.rfind("sha256:", 0) == 0 && s.size() > 19) return s.substr(0, 19);
  return s;
}

}  // namespace

std::function<int()> SetupCompare(CLI::App& sub) {
  struct Options {
    Target target;
    std::vector<std::string> runs;
    std::string jobs_of;
    bool diff = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("runs", o->runs, "two or more runs (`last`, r12, 12); one with --jobs")->required()->expected(1, 1000);
  sub.add_option("--jobs", o->jobs_of, "the jobs of this step side by side (a sweep's trials)");
  sub.add_flag("--diff", o->diff, "only what differs");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    if ((o->runs.size() == 1) != !o->jobs_of.empty()) {
      return Fail(Status::Invalid("weft compare takes two or more runs, or one run and --jobs STEP"));
    }
    const char* key = o->jobs_of.empty() ? "runs" : "jobs";
    std::string path = "/compare?";
    // One `run` listing them all (commas): the HTTP library drops a repeated pair, and a run may
    // be compared with itself.
    path += "run=";
    for (size_t k = 0; k < o->runs.size(); ++k) path += (k ? "," : "") + QueryValue(o->runs[k]);
    path += "&";
    if (!o->jobs_of.empty()) path += "jobs=" + QueryValue(o->jobs_of) + "&";
    path += o->diff ? "diff=true" : "diff=false";
    Result<Json> answer = o->target.Do(
        [&](app::Session& s) -> Result<Json> {
          std::vector<meta::RunRecord> runs;
          for (const std::string& ref : o->runs) {
            Result<meta::RunRecord> run = s.FindRun(ref);
            if (!run.ok()) return run.status();
            runs.push_back(*run);
          }
          std::vector<std::string> columns;  // the runs' ids, or the jobs'
          Result<std::vector<queries::CompareRow>> rows = std::vector<queries::CompareRow>{};
          if (o->jobs_of.empty()) {
            rows = queries::CompareRuns(s.meta(), runs);
            for (const meta::RunRecord& r : runs) columns.push_back(r.id);
          } else {
            size_t jobs = 0;
            rows = queries::CompareJobs(s.meta(), runs[0], o->jobs_of, &jobs);
            for (size_t k = 0; k < jobs; ++k) columns.push_back(fmt::format("job {}", k));
          }
          if (!rows.ok()) return rows.status();
          std::erase_if(*rows, [&](const queries::CompareRow& r) { return o->diff && !r.differs(); });
          return app::CompareJson(key, columns, *rows);
        },
        "GET", path);
    if (!answer.ok()) return Fail(answer.status());
    if (o->json) {
      fmt::print("{}\n", answer->Dump());
      return 0;
    }
    // A table: one row per value, one column per run; `*` (and colour on a terminal) marks rows
    // whose values differ.
    std::vector<std::string> columns;
    for (const Json& c : *answer->Find(key)->Items()) columns.push_back(*c.String());
    const Json::Array& rows = *answer->Find("rows")->Items();
    auto label = [](const Json& r) {
      std::string kind = TextOf(r, "kind");
      return kind == "run" || kind == "status" ? TextOf(r, "name") : kind + " " + TextOf(r, "name");
    };
    auto value = [](const Json& r, size_t c) { return Shown((*r.Find("values")->Items())[c]); };
    size_t width = 8;
    for (const Json& r : rows) width = std::max(width, label(r).size() + 2);
    std::vector<size_t> col(columns.size(), 12);
    for (const Json& r : rows) {
      for (size_t c = 0; c < columns.size(); ++c) col[c] = std::max(col[c], value(r, c).size());
    }
    bool tty = ::isatty(1);
    std::string line = fmt::format("  {:<{}}", "", width);
    for (size_t c = 0; c < columns.size(); ++c) line += fmt::format("  {:<{}}", columns[c], col[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
    std::string step = "\x01";
    for (const Json& r : rows) {
      if (TextOf(r, "step") != step) {
        step = TextOf(r, "step");
        fmt::print("{}\n", step.empty() ? "run" : "step " + step);
      }
      bool differs = *r.Find("differs")->Bool();
      line = fmt::format("{} {:<{}}", differs ? "*" : " ", "  " + label(r), width);
      for (size_t c = 0; c < columns.size(); ++c) line += fmt::format("  {:<{}}", value(r, c), col[c]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      fmt::print("{}\n", differs && tty ? "\x1b[1;33m" + line + "\x1b[0m" : line);
    }
    return 0;
  };
}

}  // namespace weft::cli
