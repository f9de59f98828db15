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
#include "cli/remote_args.h"
#include "app/runs.h"
#include "app/views.h"
#include "engine/metrics.h"

namespace weft::cli {

std::function<int()> SetupMetrics(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run, step;
    bool history = false, json = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "only this step");
  sub.add_flag("--history", o->history, "every value, not the latest, min and max");
  sub.add_flag("--json", o->json, "print JSON");
  return [o] {
    std::string path = fmt::format("/runs/{}/metrics?history={}", QueryValue(o->run),
                                   o->history ? "true" : "false");
    if (!o->step.empty()) path += "&step=" + QueryValue(o->step);
    Result<Json> answer = o->target.Do(
        [&](app::Session& s) -> Result<Json> {
          Result<meta::RunRecord> run = s.FindRun(o->run);
          if (!run.ok()) return run.status();
          Result<std::vector<app::StepMetrics>> steps = app::Metrics(s.meta(), *run, o->step);
          if (!steps.ok()) return steps.status();
          return Json::MakeObject()
              .Set("run", run->id)
              .Set("steps", app::MetricsJson(*steps, o->history));
        },
        "GET", path);
    if (!answer.ok()) return Fail(answer.status());
    const Json& steps = *answer->Find("steps");
    if (o->json) {
      fmt::print("{}\n", steps.Dump());
      return 0;
    }
    for (const Json& s : *steps.Items()) {
      std::string reused = TextOf(s, "reused_from");
      fmt::print("{}{}\n", TextOf(s, "step"),
                 reused.empty() ? "" : fmt::format(" (reused from {})", reused));
      const Json::Array& metrics = *s.Find("metrics")->Items();
      auto number = [](const Json& m, const char* key) { return m.Find(key)->Number().value_or(0); };
      if (o->history) {
        for (const Json& m : metrics) {
          const Json* step = m.Find("step");
          fmt::print("  {:<24} {:>14.6g}{}\n", TextOf(m, "name"), number(m, "value"),
                     step ? fmt::format("  step {}", IntOf(m, "step")) : "");
        }
      } else if (!metrics.empty()) {
        fmt::print("  {:<24} {:>14} {:>14} {:>14} {:>6}\n", "metric", "latest", "min", "max", "count");
        for (const Json& m : metrics) {
          fmt::print("  {:<24} {:>14.6g} {:>14.6g} {:>14.6g} {:>6}\n", TextOf(m, "name"),
                     number(m, "latest"), number(m, "min"), number(m, "max"), IntOf(m, "count"));
        }
      }
      for (const char* kind : {"param", "tag"}) {
        for (const auto& [name, value] : *s.Find(std::string(kind) + "s")->Members()) {
          fmt::print("  {:<5} {} = {}\n", kind, name, *value.String());
        }
      }
    }
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
    Status s = engine::AppendLines(path, line);
    if (!s.ok()) return Fail(s);
    return 0;
  };
}

}  // namespace weft::cli
