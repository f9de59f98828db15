// `weft compare RUN RUN... [--diff] [--json]`: runs side by side, differences marked.
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
    bool diff = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("runs", o->runs, "two or more runs (`last`, r12, 12)")->required()->expected(2, 1000);
  sub.add_flag("--diff", o->diff, "only what differs");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    std::vector<meta::RunRecord> runs;
    for (const std::string& ref : o->runs) {
      Result<meta::RunRecord> run = (*ws)->FindRun(ref);
      if (!run.ok()) return Fail(run.status());
      runs.push_back(*run);
    }
    Result<std::vector<queries::CompareRow>> rows = queries::CompareRuns((*ws)->meta(), runs);
    if (!rows.ok()) return Fail(rows.status());
    std::erase_if(*rows, [&](const queries::CompareRow& r) { return o->diff && !r.differs(); });
    if (o->json) {
      Json ids = Json::MakeArray();
      for (const meta::RunRecord& r : runs) ids.Push(Json(r.id));
      Json all = Json::MakeArray();
      for (const queries::CompareRow& r : *rows) {
        Json values = Json::MakeArray();
        for (const auto& v : r.values) values.Push(v ? Json(*v) : Json());
        Json j = Json::MakeObject();
        j.Set("step", r.step).Set("kind", r.kind).Set("name", r.name).Set("values", values);
        all.Push(j.Set("differs", r.differs()));
      }
      Json out = Json::MakeObject();
      fmt::print("{}\n", out.Set("runs", ids).Set("rows", all).Dump());
      return 0;
    }
    // A table: one row per value, one column per run; `*` (and colour on a terminal) marks rows
    // whose values differ.
    auto label = [](const queries::CompareRow& r) {
      return r.kind == "run" || r.kind == "status" ? r.name : r.kind + " " + r.name;
    };
    size_t width = 8;
    for (const auto& r : *rows) width = std::max(width, label(r).size() + 2);
    std::vector<size_t> col(runs.size(), 12);
    for (const auto& r : *rows) {
      for (size_t c = 0; c < runs.size(); ++c) col[c] = std::max(col[c], Shown(r.values[c]).size());
    }
    bool tty = ::isatty(1);
    std::string line = fmt::format("  {:<{}}", "", width);
    for (size_t c = 0; c < runs.size(); ++c) line += fmt::format("  {:<{}}", runs[c].id, col[c]);
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
      for (size_t c = 0; c < runs.size(); ++c) line += fmt::format("  {:<{}}", Shown(r.values[c]), col[c]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      fmt::print("{}\n", differs && tty ? "\x1b[1;33m" + line + "\x1b[0m" : line);
    }
    return 0;
  };
}

}  // namespace weft::cli
