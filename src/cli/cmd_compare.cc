// `weft compare RUN RUN... [--diff] [--json]`: runs side by side, differences marked.
// `weft compare RUN --jobs STEP`: the jobs of one step (a sweep's trials) side by side.
#include <unistd.h>

#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "queries/compare.h"

namespace weft::cli {
namespace {

// Digests are long; twelve hex digits tell objects apart on a screen.
std::string Shown(const std::optional<std::string>& v) {
  if (!v) return "-";
  if (v->rfind("sha256:", 0) == 0 && v->size() > 19) return v->substr(0, 19);
  return *v;
}

}  // namespace

std::function<int()> SetupCompare(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::vector<std::string> runs;
    std::string jobs_of;
    bool diff = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("runs", o->runs, "two or more runs (`last`, r12, 12); one with --jobs")->required()->expected(1, 1000);
  sub.add_option("--jobs", o->jobs_of, "the jobs of this step side by side (a sweep's trials)");
  sub.add_flag("--diff", o->diff, "only what differs");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    if ((o->runs.size() == 1) != !o->jobs_of.empty()) {
      return Fail(Status::Invalid("weft compare takes two or more runs, or one run and --jobs STEP"));
    }
    std::vector<meta::RunRecord> runs;
    for (const std::string& ref : o->runs) {
      Result<meta::RunRecord> run = (*ws)->FindRun(ref);
      if (!run.ok()) return Fail(run.status());
      runs.push_back(*run);
    }
    std::vector<std::string> columns;  // the runs' ids, or the jobs'
    Result<std::vector<queries::CompareRow>> rows = std::vector<queries::CompareRow>{};
    if (o->jobs_of.empty()) {
      rows = queries::CompareRuns((*ws)->meta(), runs);
      for (const meta::RunRecord& r : runs) columns.push_back(r.id);
    } else {
      size_t jobs = 0;
      rows = queries::CompareJobs((*ws)->meta(), runs[0], o->jobs_of, &jobs);
      for (size_t k = 0; k < jobs; ++k) columns.push_back(fmt::format("job {}", k));
    }
    if (!rows.ok()) return Fail(rows.status());
    std::erase_if(*rows, [&](const queries::CompareRow& r) { return o->diff && !r.differs(); });
    if (o->json) {
      Json ids = Json::MakeArray();
      for (const std::string& c : columns) ids.Push(Json(c));
      Json all = Json::MakeArray();
      for (const queries::CompareRow& r : *rows) {
        Json values = Json::MakeArray();
        for (const auto& v : r.values) values.Push(v ? Json(*v) : Json());
        Json j = Json::MakeObject();
        j.Set("step", r.step).Set("kind", r.kind).Set("name", r.name).Set("values", values);
        all.Push(j.Set("differs", r.differs()));
      }
      Json out = Json::MakeObject();
      fmt::print("{}\n", out.Set(o->jobs_of.empty() ? "runs" : "jobs", ids).Set("rows", all).Dump());
      return 0;
    }
    // A table: one row per value, one column per run; `*` (and colour on a terminal) marks rows
    // whose values differ.
    auto label = [](const queries::CompareRow& r) {
      return r.kind == "run" || r.kind == "status" ? r.name : r.kind + " " + r.name;
    };
    size_t width = 8;
    for (const auto& r : *rows) width = std::max(width, label(r).size() + 2);
    std::vector<size_t> col(columns.size(), 12);
    for (const auto& r : *rows) {
      for (size_t c = 0; c < columns.size(); ++c) col[c] = std::max(col[c], Shown(r.values[c]).size());
    }
    bool tty = ::isatty(1);
    std::string line = fmt::format("  {:<{}}", "", width);
    for (size_t c = 0; c < columns.size(); ++c) line += fmt::format("  {:<{}}", columns[c], col[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
    std::string step = "\x01";
    for (const auto& r : *rows) {
      if (r.step != step) {
        step = r.step;
        fmt::print("{}\n", step.empty() ? "run" : "step " + step);
      }
      bool differs = r.differs();
      line = fmt::format("{} {:<{}}", differs ? "*" : " ", "  " + label(r), width);
      for (size_t c = 0; c < columns.size(); ++c) line += fmt::format("  {:<{}}", Shown(r.values[c]), col[c]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      fmt::print("{}\n", differs && tty ? "\x1b[1;33m" + line + "\x1b[0m" : line);
    }
    return 0;
  };
}

}  // namespace weft::cli
