// `weft run FILE`: run a pipeline on this machine, reusing what has not changed.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/fs.h"
#include "base/interrupt.h"
#include "cli/command.h"
#include "cli/pipeline_args.h"
#include "cli/remote_args.h"
#include "cli/workspace_args.h"
#include "app/runs.h"
#include "engine/engine.h"

namespace weft::cli {
namespace {

// Output that never stops a run: while a run is hosted SIGPIPE is ignored, so when standard
// output or error is a closed pipe (`weft run p.yml | head -2`) writes fail quietly and the run
// goes on to its end.
template <typename... Args>
void Say(std::FILE* f, fmt::format_string<Args...> format, Args&&... args) {
  std::string s = fmt::format(format, std::forward<Args>(args)...);
  std::fwrite(s.data(), 1, s.size(), f);
}

// What every command that hosts a run does first: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT cancel the
// run (base/interrupt.h), and a closed output pipe does not end weft.
void HostRun() {
  ::signal(SIGPIPE, SIG_IGN);
  InstallInterruptHandlers();
}

// `text` cut to at most `columns` characters (UTF-8 code points; continuation bytes take none).
std::string FitColumns(const std::string& text, size_t columns) {
  size_t used = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (used++ == columns) return text.substr(0, i);
  }
  return text;
}

// A run's steps past this many print briefly (as with --quiet): only the lines of steps that
// need attention, and a summary by status at the end.
constexpr size_t kBriefAbove = 50;

// What a brief report still names: steps that did not end as asked, and retries.
bool NeedsAttention(meta::StepStatus s) {
  return meta::Failed(s) || s == meta::StepStatus::kCanceled ||
         s == meta::StepStatus::kInterrupted || s == meta::StepStatus::kRetrying;
}

// One plain line per event: readable in a terminal and in a CI log alike.
class LinePrinter : public engine::Observer {
 public:
  explicit LinePrinter(bool brief) : brief_(brief) {}
  ~LinePrinter() override = default;
  void OnRunStarted(const std::string& run_id, const std::string& workspace) override {
    // (dry runs start no run and print only their step lines)
    start_ = std::chrono::steady_clock::now();
    Say(stdout, "run {} in workspace {}\n", run_id, workspace);
    std::fflush(stdout);
  }
  void OnStep(const engine::StepEvent& e) override {
    // A job of a step with several (parallel workers, sweep trials) is named when it needs
    // attention; the step's own lines say the rest.
    if ((brief_ || e.job >= 0) && !NeedsAttention(e.status)) return;
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string detail = e.detail.empty() ? "" : "  " + e.detail;
    if (e.status == meta::StepStatus::kSucceeded || meta::Failed(e.status)) {
      detail = fmt::format("  ({:.1f}s){}", e.seconds,
                           e.status == meta::StepStatus::kSucceeded ? "" : detail);
    }
    std::string step = e.job >= 0 ? fmt::format("{} (job {})", e.step, e.job) : e.step;
    Say(stdout, "[{:7.1f}s] {:<10} {}{}\n", t, e.status, step, detail);
    // Flush at most every 100 ms: live enough to follow, cheap for pipelines of 10,000 steps.
    if (t - last_flush_ >= 0.1 || e.status != meta::StepStatus::kReused) {
      std::fflush(stdout);
      last_flush_ = t;
    }
  }
  void OnWarning(const std::string& message) override {
    Say(stderr, "warning: {}\n", message);
  }
  void OnSnapshot(const store::SnapshotProgress& p) override {
    double t = Elapsed();
    if (p.files < p.total_files && t - last_snapshot_ < 5) return;  // a line every 5 s in a log
    last_snapshot_ = t;
    Say(stdout, "[{:7.1f}s] {:<10} {}\n", t, "snapshot", SnapshotText(p));
    std::fflush(stdout);
  }
  void OnPlanned(const engine::PlannedStep& p) override {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    Say(stdout, "[{:7.1f}s] {:<10} {}{}\n", t, p.reuse ? "would-reuse" : "would-run", p.step,
        p.why.empty() ? "" : "  " + p.why);
  }

 protected:
  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  const bool brief_;

  // "hashing 12000 of 50000 files, 1200.0 of 4000.0 MB, 310 MB/s  /path"
  static std::string SnapshotText(const store::SnapshotProgress& p) {
    double mb = 1e6;
    double rate = p.seconds > 0 ? p.bytes / mb / p.seconds : 0;
    return fmt::format("{} {} of {} files, {:.1f} of {:.1f} MB, {:.0f} MB/s  {}", p.phase, p.files,
                       p.total_files, p.bytes / mb, p.total_bytes / mb, rate, p.path);
  }

 private:
  double last_snapshot_ = -1e9;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_flush_ = 0;
};

// On a terminal: the same event lines, with a live status line kept below them (elapsed time,
// counts, a progress bar, the running steps and how long each has run).
class TerminalPrinter : public LinePrinter {
 public:
  using LinePrinter::LinePrinter;
  void OnStep(const engine::StepEvent& e) override {
    if ((brief_ || e.job >= 0) && !NeedsAttention(e.status)) return;  // the live line shows the counts
    std::fputs("\r\033[K", stdout);
    LinePrinter::OnStep(e);
    Redraw();
  }
  void OnWarning(const std::string& message) override {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
    LinePrinter::OnWarning(message);
    Redraw();
  }
  void OnProgress(const engine::Progress& p) override {
    last_ = p;
    Redraw();
  }
  void OnSnapshot(const store::SnapshotProgress& p) override {  // on the live line
    Say(stdout, "\r\033[K{}", FitColumns(fmt::format("[{:7.1f}s] snapshot {}", Elapsed(), SnapshotText(p)),
                                         Columns() - 1));
    std::fflush(stdout);
  }
  void OnRunStarted(const std::string& run_id, const std::string& workspace) override {
    std::fputs("\r\033[K", stdout);
    LinePrinter::OnRunStarted(run_id, workspace);
  }
  ~TerminalPrinter() override {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
  }

 private:
  void Redraw() {
    const engine::Progress& p = last_;
    if (p.total == 0) return;
    size_t done = p.succeeded + p.reused + p.failed + p.other;
    int filled = static_cast<int>(20.0 * done / p.total);
    std::string bar = std::string(filled, '#') + std::string(20 - filled, '-');
    std::string running;
    for (size_t k = 0; k < p.running.size() && k < 4; ++k) {
      const engine::Progress::Running& r = p.running[k];
      running += fmt::format("{}{} {:.0f}s{}", k ? ", " : "", r.step, r.seconds,
                             r.detail.empty() ? "" : " (" + r.detail + ")");
    }
    if (p.running.size() > 4) running += fmt::format(", +{}", p.running.size() - 4);
    std::string line = fmt::format("[{:7.1f}s] [{}] {}/{}  done {}  reused {}  failed {}  queued {}  "
                                   "{}",
                                   Elapsed(), bar, done, p.total, p.succeeded, p.reused, p.failed,
                                   p.queued, running.empty() ? "" : "running: " + running);
    // The line never reaches the last column: a wrapped line would leave a stale row behind,
    // since \r\033[K clears only the row the cursor is on.
    Say(stdout, "\r\033[K{}", FitColumns(line, Columns() - 1));
    std::fflush(stdout);
  }
  // The terminal's width now (it may have been resized), 80 when it does not say.
  static size_t Columns() {
    winsize w{};
    return ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 1 ? w.ws_col : 80;
  }
  engine::Progress last_;
};

struct Options {
  bool quiet = false;
  PipelineArgs pipeline;
  WorkspaceArgs workspace;
  int64_t jobs = 0;
  bool force = false;
  std::vector<std::string> force_steps;
  std::string only, until, experiment;
  std::vector<std::string> tags;
  bool dry_run = false;
  RemoteArgs remote;
  std::string folder;  // --server: the folder whose files are sent
};

// The steps' table; a brief one counts the steps by status and lists only those that need
// attention (skipped ones are counted: the step they needed is listed).
void PrintSummary(meta::MetaStore& meta, const std::string& run_id, bool brief) {
  Result<std::vector<meta::StepRecord>> all = meta.Steps(run_id);
  if (!all.ok()) return;
  std::vector<meta::StepRecord> listed;
  std::map<meta::StepStatus, size_t> counts;
  for (meta::StepRecord& s : *all) {
    ++counts[s.status];
    if (!brief || NeedsAttention(s.status)) listed.push_back(std::move(s));
  }
  if (brief) {
    std::string line;
    for (const auto& [status, n] : counts) {
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, status);
    }
    Say(stdout, "\n{} steps: {}\n", all->size(), line);
    if (listed.empty()) return;
  }
  size_t width = 4;
  for (const auto& s : listed) width = std::max(width, s.name.size());
  Say(stdout, "\n{:<{}}  {:<10} {:>9}  {}\n", "step", width, "status", "duration", "note");
  for (const auto& s : listed) {
    double secs = s.started_ns && s.finished_ns ? (s.finished_ns - s.started_ns) / 1e9 : 0;
    std::string note = s.status == meta::StepStatus::kReused ? fmt::format("from {}", s.reused_run) : "";
    if (NeedsAttention(s.status) || s.status == meta::StepStatus::kSkipped) note = s.message;
    Say(stdout, "{:<{}}  {:<10} {:>8.1f}s  {}\n", s.name, width, s.status, secs, note);
  }
}

// Runs the loaded pipeline with `options` and prints how each step ended.
int Execute(app::Session& session, const app::LoadedGraph& g, const engine::RunOptions& options,
            bool dry_run, bool quiet) {
  bool brief = !dry_run && (quiet || g.graph.steps.size() > kBriefAbove);
  std::unique_ptr<LinePrinter> printer = ::isatty(1) ? std::make_unique<TerminalPrinter>(brief)
                                                     : std::make_unique<LinePrinter>(brief);
  if (dry_run) {
    Status s = app::DryRun(session, g, options, {printer.get()});
    return s.ok() ? 0 : Fail(s);
  }
  Result<engine::RunResult> r = app::RunPipeline(session, g, options, {printer.get()});
  printer.reset();  // clears the live status line
  if (!r.ok()) return Fail(r.status());
  PrintSummary(session.meta(), r->run_id, brief);
  Say(stdout, "\nrun {}: {}\n", r->run_id,
      r->status == meta::RunStatus::kSucceeded  ? "succeeded"
      : r->status == meta::RunStatus::kCanceled ? "canceled"
                                                : "failed");
  return r->exit_code;
}

// Follows a run on a server: each step's changes printed as they are seen (past kBriefAbove
// steps, only those that need attention, and the count by status at the end, as a run here
// prints), then how it ended; Ctrl-C cancels it there. Exit codes as for a run here. The run is
// read at most every 300 ms, and less often when reading it takes long (a large run), so that
// following it costs the server little.
int Follow(server::HttpClient& client, const std::string& id) {
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> seen;  // step -> status printed
  bool canceled = false;
  for (;;) {
    if (Interrupted() && !canceled) {
      canceled = true;
      Result<Json> c = CallApi(client, "POST", "/runs/" + QueryValue(id) + "/cancel");
      if (!c.ok()) Say(stderr, "warning: {}\n", c.status().message());
    }
    auto asked = std::chrono::steady_clock::now();
    Result<Json> run = CallApi(client, "GET", "/runs/" + QueryValue(id));
    if (!run.ok()) return Fail(run.status());
    auto answered = std::chrono::steady_clock::now();
    double t = std::chrono::duration<double>(answered - start).count();
    const Json::Array& steps = *run->Find("steps")->Items();
    bool brief = steps.size() > kBriefAbove;
    for (const Json& step : steps) {
      std::string name = TextOf(step, "name");
      std::string status = TextOf(step, "status");
      if (status == "pending" || seen[name] == status) continue;
      seen[name] = status;
      std::optional<meta::StepStatus> parsed = meta::ParseStepStatus(status);
      if (brief && !(parsed && NeedsAttention(*parsed))) continue;
      std::string note = status == "succeeded" || status == "failed" || status == "timed-out"
                             ? fmt::format("  ({:.1f}s)", SecondsOf(step, false))
                             : "";
      if (status != "succeeded" && !TextOf(step, "message").empty()) {
        note += "  " + TextOf(step, "message");
      }
      Say(stdout, "[{:7.1f}s] {:<10} {}{}\n", t, status, name, note);
    }
    std::fflush(stdout);
    std::string status = TextOf(*run, "status");
    if (status != "running") {
      if (brief) {
        std::map<std::string, size_t> counts;
        for (const Json& step : steps) ++counts[TextOf(step, "status")];
        std::string line;
        for (const auto& [name, n] : counts) {
          line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, name);
        }
        Say(stdout, "\n{} steps: {}\n", steps.size(), line);
      }
      Say(stdout, "\nrun {}: {}\n", id, status);
      if (status == "succeeded") return kExitOk;
      if (status == "canceled") return kExitCanceled;
      return status == "failed" ? kExitStepFailed : kExitSystem;
    }
    int64_t took_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(answered - asked).count();
    struct pollfd p {
      InterruptFd(), POLLIN, 0
    };
    ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(4 * took_ms, 300, 5000)));
  }
}

// `weft run --server URL`: the pipeline's folder is sent to the server, which runs it; its steps
// are followed (their changes printed as they are seen) until the run ends, and Ctrl-C cancels
// it there. Exit codes as for a run here.
int RunOnServer(const Options& o) {
  if (o.dry_run || o.jobs > 0) {
    return Fail(Status::Invalid(
        fmt::format("{} is not taken through a server", o.dry_run ? "--dry-run" : "--jobs")));
  }
  Result<Bundle> bundle = BundleOf(o.pipeline.file, o.folder);
  if (!bundle.ok()) return Fail(bundle.status());
  Result<std::unique_ptr<server::HttpClient>> client = o.remote.Connect();
  if (!client.ok()) return Fail(client.status());
  Result<std::string> upload = SendBundle(**client, *bundle, "");
  if (!upload.ok()) return Fail(upload.status());
  std::string path = "/runs?file=" + QueryValue(bundle->file) + "&upload=" + *upload;
  // The experiment a run here would have when the pipeline names none: the folder's name.
  path += "&default_experiment=" + QueryValue(std::filesystem::path(Cwd()).filename().string());
  if (!o.experiment.empty()) path += "&experiment=" + QueryValue(o.experiment);
  for (const std::string& set : o.pipeline.sets) path += "&set=" + QueryValue(set);
  for (const std::string& tag : o.tags) path += "&tag=" + QueryValue(tag);
  if (o.force) path += "&force=true";
  for (const std::string& step : o.force_steps) path += "&force_step=" + QueryValue(step);
  if (!o.only.empty()) path += "&only=" + QueryValue(o.only);
  if (!o.until.empty()) path += "&until=" + QueryValue(o.until);
  HostRun();
  Result<Json> submitted = CallApi(**client, "POST", path);
  if (!submitted.ok()) return Fail(submitted.status());
  std::string id = TextOf(*submitted->Find("run"), "id");
  Say(stdout, "run {} on {}\n", id, o.remote.Url());
  return Follow(**client, id);
}

void AddQuiet(CLI::App& sub, bool& quiet) {
  sub.add_flag("-q,--quiet", quiet,
               fmt::format("print only the steps that need attention and a summary by status (the "
                           "default past {} steps)",
                           kBriefAbove));
}

}  // namespace

std::function<int()> SetupResume(CLI::App& sub) {
  struct Options {
    WorkspaceArgs workspace;
    RemoteArgs remote;
    std::string run;
    int64_t jobs = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  o->workspace.AddTo(sub);
  o->remote.AddTo(sub);
  sub.add_option("run", o->run, "the run to finish (`last` for the newest)")->required();
  sub.add_option("-j,--jobs", o->jobs, "CPU capacity to schedule on (default: as submitted)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  AddQuiet(sub, o->quiet);
  return [o] {
    HostRun();
    if (o->remote.remote()) {
      if (o->jobs > 0) return Fail(Status::Invalid("--jobs is not taken through a server"));
      Result<std::unique_ptr<server::HttpClient>> client = o->remote.Connect();
      if (!client.ok()) return Fail(client.status());
      Result<Json> r = CallApi(**client, "POST", "/runs/" + QueryValue(o->run) + "/resume");
      if (!r.ok()) return Fail(r.status());
      std::string id = TextOf(*r->Find("run"), "id");
      Say(stdout, "resuming run {} as run {} on {}\n", o->run, id, o->remote.Url());
      return Follow(**client, id);
    }
    Result<std::unique_ptr<app::Session>> session = Open(o->workspace);
    if (!session.ok()) return Fail(session.status());
    Result<std::unique_ptr<app::Resumption>> r = app::PrepareResume(**session, o->run);
    if (!r.ok()) return Fail(r.status());
    const app::LoadedGraph& g = *(*r)->graph;
    std::fputs(g.diags.FormatAll().c_str(), stderr);
    if (!g.ok()) return static_cast<int>(kExitInvalid);
    engine::RunOptions options = (*r)->options;
    if (o->jobs > 0) options.jobs = o->jobs;
    Say(stdout, "resuming run {} as submitted ({})\n", (*r)->run.id, (*r)->submission.file);
    return Execute(**session, g, options, false, o->quiet);
  };
}

std::function<int()> SetupRun(CLI::App& sub) {
  auto o = std::make_shared<Options>();
  o->pipeline.AddTo(sub);
  o->workspace.AddTo(sub);
  sub.add_option("-j,--jobs", o->jobs, "CPU capacity to schedule on (default: all cores)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub.add_flag("--force", o->force, "run every step; reuse nothing");
  sub.add_option("--force-step", o->force_steps, "run this step even if it could be reused (repeatable)")
      ->allow_extra_args(false);
  sub.add_option("--only", o->only, "run only this step (its inputs must be reusable)");
  sub.add_option("--until", o->until, "run this step and everything it needs");
  sub.add_option("--experiment", o->experiment, "the experiment the run belongs to");
  sub.add_option("--tag", o->tags, "tag the run: --tag KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  sub.add_flag("--dry-run", o->dry_run,
               "say what would be reused and what would run, and why; run nothing");
  o->remote.AddTo(sub);
  sub.add_option("--folder", o->folder,
                 "with --server: the folder whose files are sent (default: the pipeline's own)");
  AddQuiet(sub, o->quiet);
  return [o] {
    if (o->remote.remote()) return RunOnServer(*o);
    HostRun();
    int code = 0;
    Result<std::unique_ptr<app::Session>> session = Open(o->workspace);
    if (!session.ok()) return Fail(session.status());
    app::Session& s = **session;
    std::string cwd = Cwd();
    std::unique_ptr<app::LoadedGraph> g =
        Load({o->pipeline.file, o->pipeline.sets, cwd, {}}, s.registry(), &code);
    if (!g) return code;
    engine::RunOptions given;
    given.jobs = o->jobs;
    given.force = o->force;
    given.force_steps = {o->force_steps.begin(), o->force_steps.end()};
    given.only = o->only;
    given.until = o->until;
    given.experiment = o->experiment;
    given.workdir = cwd;
    given.sets = o->pipeline.sets;
    Result<engine::RunOptions> options = app::SubmitOptions(*g, given, o->tags);
    if (!options.ok()) return Fail(options.status());
    if (!o->dry_run) {
      std::optional<meta::RunRecord> earlier = app::InterruptedEarlier(s, g->pipeline->job.file, cwd);
      if (earlier) {
        Say(stderr, "note: run {} of {} was interrupted (its weft process was gone); `weft resume "
                    "{}` finishes it as it was submitted\n",
            earlier->id, g->pipeline->job.file, earlier->id);
      }
    }
    return Execute(s, *g, *options, o->dry_run, o->quiet);
  };
}

}  // namespace weft::cli
