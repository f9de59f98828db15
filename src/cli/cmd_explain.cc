// `weft explain RUN STEP`: why a step ran or was reused, here or (--server) through a server.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/views.h"
#include "cli/command.h"
#include "cli/remote_args.h"
#include "queries/explain.h"

namespace weft::cli {

std::function<int()> SetupExplain(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run, step;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "the step")->required();
  return [o] {
    Result<Json> answer = o->target.Do(
        [&](app::Session& s) -> Result<Json> {
          Result<meta::RunRecord> run = s.FindRun(o->run);
          if (!run.ok()) return run.status();
          Result<std::vector<std::string>> lines =
              queries::Explain(s.meta(), s.store(), *run, o->step);
          if (!lines.ok()) return lines.status();
          return app::ExplainJson(run->id, o->step, *lines);
        },
        "GET", "/runs/" + QueryValue(o->run) + "/explain?step=" + QueryValue(o->step));
    if (!answer.ok()) return Fail(answer.status());
    for (const Json& line : *answer->Find("lines")->Items()) fmt::print("{}\n", *line.String());
    return 0;
  };
}

}  // namespace weft::cli
