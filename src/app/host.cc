#include "app/host.h"

#include <future>
#include <set>

#include <fmt/format.h>

#include "app/runs.h"
#include "assets/registry.h"

namespace weft::app {

Host::Host(Session& session)
    : session_(session),
      engine_(
          {session.workspace(), session.meta(), session.store(), session.targets(), session.os()}) {
  engine_.InterruptsStopToResume();  // (a signal stops the server, whose runs go on at its restart)
  thread_ = std::thread([this] { Loop(); });
}

Host::~Host() {
  Shutdown();
}

template <typename T>
T Host::Call(std::function<T()> task) {
  auto done = std::make_shared<std::promise<T>>();
  std::future<T> result = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (exited_) return T(Status::Busy("the server is shutting down"));
    queue_.push_back([task = std::move(task), done] { done->set_value(task()); });
  }
  wake_.notify_one();
  return result.get();
}

namespace {

// What a submission runs, loaded with the project's assets, and its options.
struct Loaded {
  std::unique_ptr<LoadedGraph> graph;
  engine::RunOptions options;
};
Result<Loaded> LoadSubmission(Session& session, const PipelineSource& source,
                              const engine::RunOptions& options,
                              const std::vector<std::string>& tags) {
  assets::WorkspaceRegistry registry(session.workspace(), session.meta(), session.store(),
                                     options.project);
  Result<std::unique_ptr<LoadedGraph>> graph = LoadGraph(source, registry);
  if (!graph.ok()) return graph.status();
  if (!(*graph)->ok()) {
    return Status::Invalid(
        fmt::format("the pipeline is not valid:\n{}", (*graph)->diags.FormatAll()));
  }
  Result<engine::RunOptions> opts = SubmitOptions(**graph, options, tags);
  if (!opts.ok()) return opts.status();
  return Loaded{std::move(*graph), std::move(*opts)};
}

// Collects what a dry run says.
class PlanCollector : public engine::Observer {
 public:
  void OnPlanned(const engine::PlannedStep& p) override { plan.steps.push_back(p); }
  void OnWarning(const std::string&, const std::string& message) override {
    plan.warnings.push_back(message);
  }
  Host::Plan plan;
};

}  // namespace

Result<Host::Plan> Host::DryRun(PipelineSource source, engine::RunOptions options,
                                std::vector<std::string> tags) {
  return Call<Result<Plan>>([&]() -> Result<Plan> {
    Result<Loaded> loaded = LoadSubmission(session_, source, options, tags);
    if (!loaded.ok()) return loaded.status();
    PlanCollector collector;
    engine_.Subscribe(&collector);
    Status s = engine_.DryRun(loaded->graph->Request(loaded->options));
    engine_.Unsubscribe(&collector);
    if (!s.ok()) return s;
    return std::move(collector.plan);
  });
}

Result<meta::RunRecord> Host::Submit(PipelineSource source, engine::RunOptions options,
                                     std::vector<std::string> tags) {
  return Call<Result<meta::RunRecord>>([&]() -> Result<meta::RunRecord> {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::Busy("the server is shutting down: it takes no new runs");
    }
    Result<Loaded> loaded = LoadSubmission(session_, source, options, tags);
    if (!loaded.ok()) return loaded.status();
    LoadedGraph& g = *loaded->graph;
    Result<std::string> id = engine_.Submit(g.Request(loaded->options));
    if (!id.ok()) return id.status();
    live_[*id].graph = std::move(loaded->graph);
    return session_.FindRun(*id);
  });
}

Status Host::Alone(const std::string& command, const std::function<Status(Session&)>& task) {
  return Call<Status>([&]() -> Status {
    std::string running;
    for (const auto& [id, live] : live_) {
      if (!engine_.Outcome(id)) running += (running.empty() ? "" : ", ") + id;
    }
    if (!running.empty()) {
      return Status::Busy(fmt::format("weft {}: runs are running on this server ({}); nothing was "
                                      "changed. Try again when they finish",
                                      command, running));
    }
    return session_.Alone(command, [&] { return task(session_); });
  });
}

std::map<std::string, std::string> Host::Waiting(const std::string& run_id) {
  using Waits = std::map<std::string, std::string>;
  Result<Waits> w = Call<Result<Waits>>([&]() -> Result<Waits> { return engine_.Waiting(run_id); });
  return w.ok() ? *w : Waits();
}

Status Host::Cancel(const std::string& run_id, bool now) {
  return Call<Status>([&]() -> Status {
    if (live_.count(run_id) == 0 || engine_.Outcome(run_id)) {
      return Status::NotFound(fmt::format("run {} is not running here", run_id));
    }
    engine_.Cancel(run_id, now);
    return Status::Ok();
  });
}

Result<std::string> Host::ResumeHere(const std::string& run_id) {
  Result<std::unique_ptr<Resumption>> r = PrepareResume(session_, run_id);
  if (!r.ok()) return r.status();
  if (!(*r)->graph->ok()) return Status::Invalid((*r)->graph->diags.FormatAll());
  const LoadedGraph& g = *(*r)->graph;
  Result<std::string> id = engine_.Submit(g.Request((*r)->options));
  if (!id.ok()) return id.status();
  live_[*id].resumption = std::move(*r);
  return *id;
}

Result<meta::RunRecord> Host::Resume(const std::string& run_id) {
  return Call<Result<meta::RunRecord>>([&]() -> Result<meta::RunRecord> {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::Busy("the server is shutting down: it takes no new runs");
    }
    Result<std::string> id = ResumeHere(run_id);
    if (!id.ok()) return id.status();
    return session_.FindRun(*id);
  });
}

Result<Host::Resumed> Host::ResumeInterrupted() {
  return Call<Result<Resumed>>([&]() -> Result<Resumed> {
    Resumed out;
    meta::RunFilter interrupted;
    interrupted.status = meta::RunStatus::kInterrupted;
    Result<std::vector<meta::RunRecord>> stopped = session_.meta().Runs(10'000, interrupted);
    if (!stopped.ok()) return stopped.status();
    std::erase_if(*stopped, [](const meta::RunRecord& r) { return r.project == "local"; });
    if (stopped->empty()) return out;
    Result<std::vector<meta::RunRecord>> all = session_.meta().Runs(1'000'000, {});
    if (!all.ok()) return all.status();
    std::set<std::string> resumed;
    for (const meta::RunRecord& r : *all) {
      if (!r.resumes.empty()) resumed.insert(r.resumes);
    }
    for (auto it = stopped->rbegin(); it != stopped->rend(); ++it) {  // the oldest first
      const meta::RunRecord& run = *it;
      if (resumed.count(run.id)) continue;
      auto problem = [&](const std::string& why) {
        out.problems.push_back(fmt::format("run {}: {}", run.id, why));
      };
      Result<std::string> id = ResumeHere(run.id);
      if (!id.ok()) {
        problem(id.status().message());
        continue;
      }
      out.runs.emplace_back(run.id, *id);
    }
    return out;
  });
}

void Host::SetQuota(const meta::ProjectRecord& p) {
  engine::Scheduler::Quota q{p.max_cpus, p.max_gpus, p.max_memory_mb, p.max_running};
  Call<Status>([&] {
    engine_.SetQuota(p.name, q);
    return Status::Ok();
  }).ok();  // (Busy while shutting down: nothing more starts anyway)
}

void Host::SetJobEnvironment(engine::JobEnvironment f) {
  Call<Status>([&] {
    engine_.SetJobEnvironment(std::move(f));
    return Status::Ok();
  }).ok();
}

void Host::Subscribe(engine::Observer* o) {
  Call<Status>([&] {
    engine_.Subscribe(o);
    return Status::Ok();
  }).ok();  // (Busy while shutting down: it would hear nothing more anyway)
}

void Host::Unsubscribe(engine::Observer* o) {
  Call<Status>([&] {
    engine_.Unsubscribe(o);
    return Status::Ok();
  }).ok();
}

void Host::Loop() {
  while (true) {
    std::deque<std::function<void()>> tasks;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty() && engine_.idle() && !stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(1));
      }
      tasks.swap(queue_);
      stopping = stopping_;
    }
    for (auto& t : tasks) t();
    if (stopping && !tasks.empty()) continue;
    if (stopping && engine_.idle()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!queue_.empty()) continue;  // (asked meanwhile: answered before going)
      exited_ = true;
      return;
    }
    if (!engine_.idle()) {
      Status s = engine_.Pass(tasks.empty() ? 50 : 0);
      if (!s.ok()) fmt::print(stderr, "weft serve: error: {}\n", s.message());
    }
    for (auto it = live_.begin(); it != live_.end();) {
      it = engine_.Outcome(it->first) ? live_.erase(it) : std::next(it);
    }
  }
}

void Host::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
    // Canceled in the host's thread before it winds down.
    queue_.push_back([this] { engine_.InterruptAll(); });
  }
  wake_.notify_one();
  thread_.join();
}

}  // namespace weft::app
