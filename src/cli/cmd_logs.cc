// `weft logs RUN STEP [-f]`: a step's output (for a reused step, the attempt it reuses), here or
// (--server) through a server.
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/runs.h"
#include "cli/command.h"
#include "cli/remote_args.h"

namespace weft::cli {
namespace {

void Print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// The log through the server's API, a range at a time, as the workspace's own is printed.
Status RemoteLog(const RemoteArgs& remote, const std::string& run, const std::string& step,
                 bool follow) {
  Result<std::unique_ptr<server::HttpClient>> client = remote.Connect();
  if (!client.ok()) return client.status();
  std::string base = "/runs/" + QueryValue(run) + "/log?step=" + QueryValue(step);
  Result<Json> first = CallApi(**client, "GET", base);
  if (!first.ok()) return first.status();
  if (!TextOf(*first, "reused_from").empty()) {
    fmt::print(stderr, "(reused: the log of {} step {})\n", TextOf(*first, "reused_from"), step);
  }
  const Json::Array& jobs = *first->Find("jobs")->Items();
  bool several = jobs.size() > 1;
  for (const Json& job : jobs) {
    int64_t j = *job.Int();
    if (several) Print(fmt::format("==> job {} <==\n", j));
    int64_t offset = 0;
    while (true) {
      Result<Json> part =
          CallApi(**client, "GET", fmt::format("{}&job={}&offset={}", base, j, offset));
      if (!part.ok()) return part.status();
      Print(TextOf(*part, "text"));
      offset = IntOf(*part, "next");
      if (offset < IntOf(*part, "size")) continue;  // more right now
      const Json* running = part->Find("running");
      if (!follow || several || !running || !*running->Bool()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return Status::Ok();
}

}  // namespace

std::function<int()> SetupLogs(CLI::App& sub) {
  struct Options {
    Target target;
    std::string run;
    std::string step;
    bool follow = false;
  };
  auto o = std::make_shared<Options>();
  o->target.AddTo(sub);
  sub.add_option("run", o->run, "the run (`last` for the newest)")->required();
  sub.add_option("step", o->step, "the step")->required();
  sub.add_flag("-f,--follow", o->follow, "keep printing while the step runs");
  return [o] {
    if (o->target.remote.remote()) {
      Status s = RemoteLog(o->target.remote, o->run, o->step, o->follow);
      return s.ok() ? 0 : Fail(s);
    }
    Result<std::unique_ptr<app::Session>> ws = Open(o->target.workspace);
    if (!ws.ok()) return Fail(ws.status());
    Result<meta::RunRecord> run = (*ws)->FindRun(o->run);
    if (!run.ok()) return Fail(run.status());
    Result<app::StepLog> log = app::FindLog((*ws)->meta(), (*ws)->workspace(), *run, o->step);
    if (!log.ok()) return Fail(log.status());
    if (log->step.status == meta::StepStatus::kReused) {
      fmt::print(stderr, "(reused: the log of {} step {})\n", log->step.reused_run, o->step);
    }
    Status s = app::ReadLog(**ws, *run, o->step, o->follow, Print);
    return s.ok() ? 0 : Fail(s);
  };
}

}  // namespace weft::cli
