// `weft metrics RUN [STEP] [--history] [--json]`: what steps logged (metrics, params, tags); `weft log-metric NAME VALUE
// [--step N]`: log one value from inside a step.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/clock.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/workspace_args.h"
#include "app/runs.h"
#include "engine/metrics.h"

namespace weft::cli {
namespace {

struct Summary {
  double last = 0, min = 0, max = 0;
  int64_t count = 0;
};

// Per metric name, in the order first logged.
std::vector<std::pair<std::string, Summary>> Summarise(const std::vector<meta::MetricRecord>& ms) {
  std::vector<std::pair<std::string, Summary>> out;
  std::map<std::string, size_t> at;
  for (const meta::MetricRecord& m : ms) {
    auto [it, fresh] = at.emplace(m.name, out.size());
    if (fresh) out.push_back({m.name, {m.value, m.value, m.value, 0}});
    Summary& s = out[it->second].second;
    s.last = m.value;
    s.min = std::min(s.min, m.value);
    s.max = std::max(s.max, m.value);
    ++s.count;
  }
  return out;
}

}  // namespace

std::function<int()> SetupMetrics(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    std::string run, step;
    bool history = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "only this step");
  sub.add_flag("--history", o->history, "every value, not the latest, min and max");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    Result<std::unique_ptr<app::Session>> ws = Open(o->workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    Result<std::vector<app::StepMetrics>> steps = app::Metrics(**ws, *run, o->step);
    if (!steps.ok()) return Fail(steps.status());
    Json all = Json::MakeArray();
    for (const app::StepMetrics& sm : *steps) {
      const meta::StepRecord& s = sm.step;
      const std::vector<meta::MetricRecord>* ms = &sm.metrics;
      const std::vector<meta::ParamRecord>* ps = &sm.params;
      if (o->json) {
        Json step = Json::MakeObject();
        step.Set("step", s.name).Set("status", std::string(meta::Name(s.status)));
        Json params = Json::MakeObject(), tags = Json::MakeObject();
        for (const meta::ParamRecord& p : *ps) (p.kind == "param" ? params : tags).Set(p.name, p.value);
        step.Set("params", params).Set("tags", tags);
        Json metrics = Json::MakeArray();
        if (o->history) {
          for (const meta::MetricRecord& m : *ms) {
            Json j = Json::MakeObject();
            j.Set("name", m.name).Set("value", m.value);
            if (m.step >= 0) j.Set("step", m.step);
            metrics.Push(j.Set("timestamp", m.timestamp_ms));
          }
        } else {
          for (const auto& [name, sum] : Summarise(*ms)) {
            Json j = Json::MakeObject();
            j.Set("name", name).Set("latest", sum.last).Set("min", sum.min).Set("max", sum.max);
            metrics.Push(j.Set("count", sum.count));
          }
        }
        all.Push(step.Set("metrics", metrics));
        continue;
      }
      fmt::print("{}{}\n", s.name, s.status == meta::StepStatus::kReused ? fmt::format(" (reused from {})", s.reused_run) : "");
      if (o->history) {
        for (const meta::MetricRecord& m : *ms) {
          fmt::print("  {:<24} {:>14.6g}{}\n", m.name, m.value,
                     m.step >= 0 ? fmt::format("  step {}", m.step) : "");
        }
      } else if (!ms->empty()) {
        fmt::print("  {:<24} {:>14} {:>14} {:>14} {:>6}\n", "metric", "latest", "min", "max", "count");
        for (const auto& [name, sum] : Summarise(*ms)) {
          fmt::print("  {:<24} {:>14.6g} {:>14.6g} {:>14.6g} {:>6}\n", name, sum.last, sum.min,
                     sum.max, sum.count);
        }
      }
      for (const meta::ParamRecord& p : *ps) fmt::print("  {:<5} {} = {}\n", p.kind, p.name, p.value);
    }
    if (o->json) fmt::print("{}\n", all.Dump());
    return 0;
  };
}

std::function<int()> SetupLogMetric(CLI::App& sub) {
  struct Options {
    std::string name, value;
    int64_t step = -1;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("name", o->name, "the metric")->required();
  sub.add_option("value", o->value, "a number")->required();
  sub.add_option("--step", o->step, "the training step it belongs to");
  return [o] {
    const char* path = std::getenv("WEFT_METRICS");
    if (path == nullptr || *path == '\0') {
      return Fail(Status::Invalid("weft log-metric logs for the step it runs in; $WEFT_METRICS is "
                                  "not set (run it inside a step)"));
    }
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(o->value.c_str(), &end);
    if (o->value.empty() || *end != '\0') {
      return Fail(Status::Invalid(fmt::format("`{}` is not a number", o->value)));
    }
    if (errno == ERANGE && std::isinf(v)) {
      return Fail(Status::Invalid(fmt::format("`{}` is out of range (metrics are double precision: "
                                              "at most about 1.8e308)",
                                              o->value)));
    }
    if (!std::isfinite(v)) {
      return Fail(Status::Invalid(fmt::format("`{}` is not a finite number; metrics are stored as "
                                              "JSON, which has no NaN or infinities",
                                              o->value)));
    }
    std::string line = engine::MetricLine(o->name, v, o->step, NowNs() / 1'000'000);
    int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno))));
    // One write with O_APPEND: lines from concurrent writers do not interleave.
    ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) return Fail(Status::Io(fmt::format("{}: write failed", path)));
    return 0;
  };
}

}  // namespace weft::cli
