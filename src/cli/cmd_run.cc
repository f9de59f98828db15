// `weft run FILE`: run a pipeline on this machine, reusing what has not changed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

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
  void OnWarning(const std::string&, const std::string& message) override {
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
  void OnWarning(const std::string& run_id, const std::string& message) override {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
    LinePrinter::OnWarning(run_id, message);
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

// One step of the table printed when a run ends.
struct SummaryRow {
  std::string name;
  meta::StepStatus status = meta::StepStatus::kPending;
  int64_t started_ns = 0, finished_ns = 0;
  std::string reused_run, message;
};

// The steps' table; a brief one counts the steps by status and lists only those that need
// attention (skipped ones are counted: the step they needed is listed).
void PrintSummary(const std::vector<SummaryRow>& all, bool brief) {
  std::vector<const SummaryRow*> listed;
  std::map<meta::StepStatus, size_t> counts;
  for (const SummaryRow& s : all) {
    ++counts[s.status];
    if (!brief || NeedsAttention(s.status)) listed.push_back(&s);
  }
  if (brief) {
    std::string line;
    for (const auto& [status, n] : counts) {
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, status);
    }
    Say(stdout, "\n{} steps: {}\n", all.size(), line);
    if (listed.empty()) return;
  }
  size_t width = 4;
  for (const SummaryRow* s : listed) width = std::max(width, s->name.size());
  Say(stdout, "\n{:<{}}  {:<10} {:>9}  {}\n", "step", width, "status", "duration", "note");
  for (const SummaryRow* s : listed) {
    double secs = s->started_ns && s->finished_ns ? (s->finished_ns - s->started_ns) / 1e9 : 0;
    std::string note = s->status == meta::StepStatus::kReused ? fmt::format("from {}", s->reused_run) : "";
    if (NeedsAttention(s->status) || s->status == meta::StepStatus::kSkipped) note = s->message;
    Say(stdout, "{:<{}}  {:<10} {:>8.1f}s  {}\n", s->name, width, s->status, secs, note);
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
  Result<std::vector<meta::StepRecord>> steps = session.meta().Steps(r->run_id);
  if (steps.ok()) {
    std::vector<SummaryRow> rows;
    for (meta::StepRecord& st : *steps) {
      rows.push_back({std::move(st.name), st.status, st.started_ns, st.finished_ns,
                      std::move(st.reused_run), std::move(st.message)});
    }
    PrintSummary(rows, brief);
  }
  Say(stdout, "\nrun {}: {}\n", r->run_id,
      r->status == meta::RunStatus::kSucceeded  ? "succeeded"
      : r->status == meta::RunStatus::kCanceled ? "canceled"
                                                : "failed");
  return r->exit_code;
}

// A run's events as the server streams them (GET /events?run=...), read in a thread of their
// own from `after` on, reconnecting (from the last event seen) when the stream breaks, until the
// run's `run.finished` or a stop.
class EventFeed {
 public:
  struct Event {
    std::string kind;
    Json data;
  };
  EventFeed(const RemoteArgs& remote, std::string run, int64_t after)
      : remote_(remote), run_(std::move(run)), last_(after) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Read(); });
  }
  ~EventFeed() {
    stop_ = true;
    thread_.join();  // (the stream's heartbeat bounds the wait)
    for (int fd : wake_) ::close(fd);
  }
  // Readable when events came.
  int fd() const { return wake_[0]; }
  std::vector<Event> Take() {
    char buf[64];
    while (::read(wake_[0], buf, sizeof buf) > 0) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(events_, {});
  }
  // Why the stream could not be read (empty while it can).
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  void Push(Event e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(e));
    }
    (void)!::write(wake_[1], "x", 1);
  }
  // One frame ("id: N\nevent: K\ndata: {...}"); false at the run's end.
  bool Frame(std::string_view frame) {
    Event e;
    std::string data;
    for (size_t at = 0; at < frame.size();) {
      size_t nl = frame.find('\n', at);
      std::string_view line = frame.substr(at, nl == std::string_view::npos ? nl : nl - at);
      at = nl == std::string_view::npos ? frame.size() : nl + 1;
      if (line.rfind("id: ", 0) == 0) last_ = std::atoll(std::string(line.substr(4)).c_str());
      if (line.rfind("event: ", 0) == 0) e.kind = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data = line.substr(6);
    }
    if (e.kind.empty()) return true;  // a heartbeat, the retry hint
    if (std::optional<Json> parsed = Json::Parse(data)) e.data = std::move(*parsed);
    bool more = e.kind != "run.finished";
    Push(std::move(e));
    return more;
  }
  void Read() {
    int failures = 0;
    while (!stop_) {
      std::string buffer;
      bool finished = false;
      Result<std::unique_ptr<server::HttpClient>> client = remote_.Connect();
      Result<server::Response> r = Status::Io("no connection");
      if (client.ok()) {
        r = (*client)->Fetch(
            fmt::format("/api/v1/events?run={}&logs=false&last_event_id={}", QueryValue(run_),
                        last_),
            [&](std::string_view piece) {
              buffer.append(piece);
              for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
                finished = !Frame(std::string_view(buffer).substr(0, end));
                buffer.erase(0, end + 2);
                if (finished) return false;
              }
              return !stop_.load();
            });
      }
      if (finished || stop_) return;
      std::string why = !client.ok() ? client.status().message()
                        : !r.ok()    ? r.status().message()
                        : r->status / 100 != 2 ? ErrorOf(*r).message()
                                               : "";
      if (++failures > 30 || (r.ok() && r->status / 100 == 4)) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = why.empty() ? "the server closed the run's event stream" : why;
        (void)!::write(wake_[1], "x", 1);
        return;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));  // (a restarting server)
    }
  }

  const RemoteArgs& remote_;
  const std::string run_;
  int64_t last_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::string error_;
  std::thread thread_;
};

// A step's event as the engine gave it, from the server's stream.
engine::StepEvent StepEventOf(const Json& d) {
  engine::StepEvent e;
  e.run_id = TextOf(d, "run");
  e.step = TextOf(d, "step");
  e.status = meta::ParseStepStatus(TextOf(d, "status")).value_or(meta::StepStatus::kPending);
  e.detail = TextOf(d, "detail");
  const Json* seconds = d.Find("seconds");
  e.seconds = seconds && seconds->Number() ? *seconds->Number() : 0;
  if (d.Find("job")) e.job = static_cast<int>(IntOf(d, "job"));
  return e;
}

engine::Progress ProgressOf(const Json& d) {
  engine::Progress p;
  p.run_id = TextOf(d, "run");
  p.total = IntOf(d, "total");
  p.succeeded = IntOf(d, "succeeded");
  p.reused = IntOf(d, "reused");
  p.failed = IntOf(d, "failed");
  p.other = IntOf(d, "other");
  p.queued = IntOf(d, "queued");
  if (const Json* running = d.Find("running"); running && running->Items()) {
    for (const Json& r : *running->Items()) {
      const Json* seconds = r.Find("seconds");
      p.running.push_back({TextOf(r, "step"), seconds && seconds->Number() ? *seconds->Number() : 0,
                           TextOf(r, "detail")});
    }
  }
  return p;
}

// Follows a run on a server as a run here is printed: its events (GET /events) through the same
// printer, then the same table and last line, from the run as the server records it; Ctrl-C
// cancels it there. Exit codes as for a run here.
int Follow(const RemoteArgs& remote, server::HttpClient& client, const std::string& id,
           int64_t events_after, bool quiet) {
  Result<Json> run = CallApi(client, "GET", "/runs/" + QueryValue(id));
  if (!run.ok()) return Fail(run.status());
  bool brief = quiet || run->Find("steps")->Items()->size() > kBriefAbove;
  std::fflush(stdout);
  std::optional<std::string> end_status;
  {
    std::unique_ptr<LinePrinter> printer = ::isatty(1) ? std::make_unique<TerminalPrinter>(brief)
                                                       : std::make_unique<LinePrinter>(brief);
    EventFeed feed(remote, id, events_after);
    int handled = 0;  // interrupts: the first cancels the run there, a second stops it at once
    while (!end_status) {
      if (int n = std::min(InterruptCount(), 2); n > handled) {
        handled = n;
        Result<Json> c = CallApi(client, "POST",
                                 "/runs/" + QueryValue(id) + "/cancel" + (n >= 2 ? "?now=true" : ""));
        if (!c.ok()) {
          printer->OnWarning(id, c.status().message());
        } else if (n == 1) {  // (as a run here says it)
          printer->OnWarning(id, "interrupted: stopping every running step (again to stop them at once)");
        }
      }
      struct pollfd p[2] = {{InterruptFd(), POLLIN, 0}, {feed.fd(), POLLIN, 0}};
      ::poll(p, 2, 1000);
      for (EventFeed::Event& e : feed.Take()) {
        if (e.kind == "step") {
          printer->OnStep(StepEventOf(e.data));
        } else if (e.kind == "warning") {
          printer->OnWarning(id, TextOf(e.data, "message"));
        } else if (e.kind == "progress") {
          printer->OnProgress(ProgressOf(e.data));
        } else if (e.kind == "reset") {  // (its end may be among those missed)
          printer->OnWarning(id, "some of the run's events were missed; the table below has them all");
          Result<Json> now = CallApi(client, "GET", "/runs/" + QueryValue(id));
          if (now.ok() && TextOf(*now, "status") != "running") end_status = TextOf(*now, "status");
        } else if (e.kind == "run.finished") {
          end_status = TextOf(e.data, "status");
        }
      }
      if (!end_status && !feed.error().empty()) {
        // The stream is gone: the run as the server has it now.
        Result<Json> now = CallApi(client, "GET", "/runs/" + QueryValue(id));
        if (!now.ok()) return Fail(now.status());
        if (TextOf(*now, "status") == "running") {
          return Fail(Status::Io(fmt::format("cannot follow run {}: {}", id, feed.error())));
        }
        end_status = TextOf(*now, "status");
      }
    }
  }  // (the printer clears its live line)
  run = CallApi(client, "GET", "/runs/" + QueryValue(id));
  if (!run.ok()) return Fail(run.status());
  std::vector<SummaryRow> rows;
  for (const Json& step : *run->Find("steps")->Items()) {
    rows.push_back({TextOf(step, "name"),
                    meta::ParseStepStatus(TextOf(step, "status")).value_or(meta::StepStatus::kPending),
                    IntOf(step, "started_ns"), IntOf(step, "finished_ns"), TextOf(step, "reused_from"),
                    TextOf(step, "message")});
  }
  PrintSummary(rows, brief);
  std::string status = TextOf(*run, "status");
  Say(stdout, "\nrun {}: {}\n", id, status);
  if (status == "succeeded") return kExitOk;
  if (status == "canceled") return kExitCanceled;
  int64_t code = IntOf(*run, "exit_code");
  return code != 0 ? static_cast<int>(code) : status == "failed" ? kExitStepFailed : kExitSystem;
}

// `weft run --server URL`: the pipeline's folder is sent to the server, which runs it; its steps
// are followed (their changes printed as they are seen) until the run ends, and Ctrl-C cancels
// it there. Exit codes as for a run here.
int RunOnServer(const Options& o) {
  if (o.jobs > 0) return Fail(Status::Invalid("--jobs is not taken through a server"));
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
  if (o.dry_run) {  // printed as a dry run here prints
    Result<Json> plan = CallApi(**client, "POST", "/runs/plan" + path.substr(5));
    if (!plan.ok()) return Fail(plan.status());
    LinePrinter printer(false);
    for (const Json& w : *plan->Find("warnings")->Items()) if (const std::string* text = w.String()) printer.OnWarning("", *text);
    for (const Json& step : *plan->Find("steps")->Items()) {
      const Json* reuse = step.Find("reuse");
      printer.OnPlanned({TextOf(step, "step"), reuse && reuse->Bool() && *reuse->Bool(),
                         TextOf(step, "why")});
    }
    return kExitOk;
  }
  HostRun();
  Result<Json> submitted = CallApi(**client, "POST", path);
  if (!submitted.ok()) return Fail(submitted.status());
  std::string id = TextOf(*submitted->Find("run"), "id");
  Say(stdout, "run {} on {}\n", id, o.remote.Url());
  return Follow(o.remote, **client, id, IntOf(*submitted, "events_after"), o.quiet);
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
      return Follow(o->remote, **client, id, IntOf(*r, "events_after"), o->quiet);
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
