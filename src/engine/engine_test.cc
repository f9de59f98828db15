// The engine with a fake executor and a fake clock: readiness, capacity per target, fairness
// across runs, the failure policy, retries with backoff, timeouts, cancel, reuse and claims,
// resume re-attaching, and a step with several jobs. Everything else is real: the metadata store
// is a SQLite file, the object store a folder, the pipelines YAML files loaded as weft loads them.
// Time passes only when the engine waits, so the suite runs in milliseconds.
#include "engine/engine.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/fs.h"
#include "engine/resume.h"
#include "meta/sqlite.h"
#include "meta/sqlite_meta.h"
#include "spec/registry.h"
#include "test_util.h"

namespace weft::engine {
namespace {

// A clock that moves only when told to, a process table the test writes, and the real file
// system.
class FakeOs : public Os {
 public:
  int64_t NowNs() const override { return now_ns; }
  std::vector<std::string> Environment() const override { return {"PATH=/usr/bin:/bin", "HOME=/root"}; }
  std::optional<std::string> GetEnv(const std::string& name) const override { return std::nullopt; }
  int64_t Pid() const override { return pid; }
  std::string ProcessStartTime(int64_t p) const override {
    auto it = alive.find(p);
    return it == alive.end() ? "" : it->second;
  }
  std::string BootId() const override { return "boot-1"; }
  Status CopyFile(const std::string& from, const std::string& to) const override {
    return weft::CopyFile(from, to);
  }

  int64_t now_ns = 1'700'000'000'000'000'000;
  int64_t pid = 4242;
  std::map<int64_t, std::string> alive{{4242, "1000"}};
};

// What a job does: how long it runs (fake seconds), how it exits, and what it writes.
struct Behaviour {
  double seconds = 1;
  int exit_code = 0;
  std::string log;      // written to its log
  std::string metrics;  // lines written to $WEFT_METRICS
};

Behaviour Takes(double seconds, int exit_code = 0) {
  Behaviour b;
  b.seconds = seconds;
  b.exit_code = exit_code;
  return b;
}

std::string EnvOf(const exec::LaunchSpec& spec, const std::string& name) {
  for (const std::string& kv : spec.env) {
    if (kv.rfind(name + "=", 0) == 0) return kv.substr(name.size() + 1);
  }
  return {};
}

// An executor whose jobs end when the fake clock reaches their end. It keeps what it was asked.
class FakeExecutor : public exec::Executor {
 public:
  FakeExecutor(FakeOs& os, int64_t cpus) : os_(os) { cap_.cpus = cpus; }

  exec::Capacity capacity() const override { return cap_; }
  Result<uint64_t> Submit(const exec::LaunchSpec& spec) override {
    submitted.push_back(spec);
    return Start(spec);
  }
  std::string JobId(uint64_t handle) const override { return fmt::format("fake-{}-{}", name, handle); }
  std::vector<exec::JobEnd> Wait(int64_t timeout_ms) override {
    int64_t deadline = os_.now_ns + timeout_ms * 1'000'000;
    int64_t next = deadline;
    for (const auto& [h, j] : jobs_) next = std::min(next, j.ends_ns);
    os_.now_ns = std::max(os_.now_ns, next);
    std::vector<exec::JobEnd> ended;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& j = it->second;
      if (j.ends_ns > os_.now_ns) {
        ++it;
        continue;
      }
      exec::JobEnd e;
      e.handle = it->first;
      e.exit_code = j.canceled ? 143 : j.timed_out ? 137 : j.exit_code;
      e.reason = j.canceled    ? exec::EndReason::kCanceled
                 : j.timed_out ? exec::EndReason::kTimedOut
                               : exec::EndReason::kExited;
      ended.push_back(e);
      it = jobs_.erase(it);
    }
    return ended;
  }
  void Cancel(uint64_t handle, bool now) override {
    auto it = jobs_.find(handle);
    if (it == jobs_.end()) return;
    it->second.canceled = true;
    it->second.ends_ns = std::min(it->second.ends_ns, os_.now_ns);
    ++cancels;
  }
  size_t running() const override { return jobs_.size(); }
  std::string TrackRun(const std::string& group) override { return "tracked " + group; }
  void ReleaseRun(const std::string& tracking) override { released.push_back(tracking); }
  exec::Stopped StopRun(const std::string& tracking, const std::vector<std::string>& job_ids,
                        int64_t grace_ms) override {
    stopped.insert(stopped.end(), job_ids.begin(), job_ids.end());
    return {job_ids.size(), true};
  }
  bool JobsOutliveWeft() const override { return outlive; }
  std::optional<uint64_t> Adopt(const std::string& job_id, const exec::LaunchSpec& spec) override {
    if (!alive_jobs.count(job_id)) return std::nullopt;
    adopted.push_back(job_id);
    Result<uint64_t> h = Start(spec);
    return *h;
  }
  std::vector<std::string> warnings() const override { return {}; }

  // The jobs started (or adopted), in order, with when they started.
  std::vector<std::pair<std::string, int64_t>> starts;
  std::function<Behaviour(const exec::LaunchSpec&)> script = [](const exec::LaunchSpec&) {
    return Behaviour{};
  };
  std::string name = "local";
  std::vector<exec::LaunchSpec> submitted;
  std::vector<std::string> released, stopped, adopted;
  std::set<std::string> alive_jobs;
  bool outlive = false;
  int cancels = 0;
  size_t max_running = 0;

 private:
  struct Job {
    int64_t ends_ns = 0;
    int exit_code = 0;
    bool canceled = false;
    bool timed_out = false;
  };
  Result<uint64_t> Start(const exec::LaunchSpec& spec) {
    Behaviour b = script(spec);
    std::ofstream(spec.log_path, std::ios::app) << b.log;
    if (!b.metrics.empty()) std::ofstream(EnvOf(spec, "WEFT_METRICS"), std::ios::app) << b.metrics;
    Job j;
    j.ends_ns = os_.now_ns + static_cast<int64_t>(b.seconds * 1e9);
    j.exit_code = b.exit_code;
    if (spec.timeout_ms > 0 && b.seconds * 1000 > spec.timeout_ms) {
      j.timed_out = true;
      j.ends_ns = os_.now_ns + spec.timeout_ms * 1'000'000;
    }
    uint64_t h = next_++;
    jobs_[h] = j;
    starts.emplace_back(spec.name + " " + EnvOf(spec, "WEFT_STEP"), os_.now_ns);
    max_running = std::max(max_running, jobs_.size());
    return h;
  }

  FakeOs& os_;
  exec::Capacity cap_;
  uint64_t next_ = 1;
  std::map<uint64_t, Job> jobs_;
};

// Hears everything, in order.
class Recorder : public Observer {
 public:
  void OnStep(const StepEvent& e) override {
    steps.push_back(fmt::format("{} {}{} {}", e.run_id, e.step, e.job >= 0 ? fmt::format("[{}]", e.job) : "",
                                meta::Name(e.status)));
  }
  void OnWarning(const std::string&, const std::string& m) override { warnings.push_back(m); }
  void OnRunFinished(const RunResult& r) override { finished.push_back(r.run_id); }
  bool WantsLogs() const override { return logs_wanted; }
  void OnLog(const LogLine& l) override { logs.push_back(fmt::format("{} {}: {}", l.step, l.job, l.text)); }
  std::vector<std::string> steps, warnings, finished, logs;
  bool logs_wanted = false;
};

// The workspaces live on /dev/shm where there is one: SQLite's commits are then as cheap as the
// engine's own work, which is what these tests measure by running fast.
std::string ScratchRoot() {
  std::error_code ec;
  return std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
             ? "/dev/shm"
             : std::filesystem::temp_directory_path().string();
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    std::string tmpl = ScratchRoot() + "/weft-engine-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    ws_.dir = dir_ + "/.weft";
    for (const std::string& d : {ws_.dir, ws_.store_dir(), ws_.runs_dir(), ws_.envs_dir()}) {
      EXPECT_TRUE(MakeDirs(d).ok());
    }
    // An interpreter that answers weft's probe at once (with mlflow, so no shim is written).
    std::string python = dir_ + "/python";
    std::ofstream(python) << "#!/bin/sh\necho '{\"implementation\": \"cpython\", \"python\": "
                             "\"3.11.2\", \"abi\": \"cpython-311\", \"venv\": false, \"prefix\": "
                             "\"/usr\", \"distributions\": {\"mlflow\": \"2.9.0\"}, \"paths\": []}'\n";
    std::filesystem::permissions(python, std::filesystem::perms::owner_all);
    ws_.config.python = python;
    ws_.config.sandbox = false;
    Result<std::unique_ptr<meta::MetaStore>> meta = meta::OpenSqliteMeta(ws_.db_path());
    EXPECT_TRUE(meta.ok());
    meta_ = std::move(*meta);
    store_ = std::make_unique<store::Store>(ws_.store_dir(), os_);
    EXPECT_TRUE(store_->Init().ok());
    auto local = std::make_unique<FakeExecutor>(os_, 2);
    local_ = local.get();
    targets_.Add("local", std::move(local));
    engine_ = MakeEngine();
  }
  ~EngineTest() override {
    engine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Engine> MakeEngine() {
    auto e = std::make_unique<Engine>(EngineParts{ws_, *meta_, *store_, targets_, os_});
    e->Subscribe(&recorder_);
    return e;
  }

  // Loads a pipeline written in YAML (steps that name no environment get one).
  const graph::Graph& Load(const std::string& yaml) {
    std::string path = dir_ + fmt::format("/p{}.yml", loaded_.size());
    std::ofstream(path) << yaml;
    Diagnostics diags;
    spec::EmptyRegistry registry;
    auto p = spec::LoadPipeline(path, registry, diags);
    if (p == nullptr) {
      ADD_FAILURE() << diags.FormatAll();
      static graph::Graph none;
      return none;
    }
    graphs_.push_back(std::make_unique<graph::Graph>(graph::Build(*p, {}, diags)));
    EXPECT_FALSE(diags.has_errors()) << diags.FormatAll();
    loaded_.push_back(std::move(p));
    return *graphs_.back();
  }
  RunRequest Request(const graph::Graph& g, RunOptions options = {}) {
    for (size_t k = 0; k < graphs_.size(); ++k) {
      if (graphs_[k].get() == &g) return RunRequest{loaded_[k].get(), &g, options, nullptr, {}};
    }
    return {};
  }
  std::string Submit(const graph::Graph& g, RunOptions options = {}) {
    Result<std::string> id = engine_->Submit(Request(g, options));
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }
  RunResult RunAll(const graph::Graph& g, RunOptions options = {}) {
    std::string id = Submit(g, options);
    EXPECT_TRUE(engine_->RunToCompletion().ok());
    return engine_->Outcome(id).value_or(RunResult{});
  }
  std::map<std::string, std::string> Statuses(const std::string& run) {
    std::map<std::string, std::string> out;
    Result<std::vector<meta::StepRecord>> steps = meta_->Steps(run);
    if (!steps.ok()) return out;
    for (const meta::StepRecord& s : *steps) out[s.name] = std::string(meta::Name(s.status));
    return out;
  }
  double Seconds() const { return (os_.now_ns - start_ns_) / 1e9; }

  FakeOs os_;
  const int64_t start_ns_ = os_.now_ns;
  std::string dir_;
  ws::Workspace ws_;
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<store::Store> store_;
  Targets targets_;
  FakeExecutor* local_ = nullptr;
  Recorder recorder_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::unique_ptr<spec::LoadedPipeline>> loaded_;
  std::vector<std::unique_ptr<graph::Graph>> graphs_;
};

constexpr const char* kEnv = "environment: {image: python:3.11}";

// One step in block style: its name, command, and more lines of its own.
std::string Step(const std::string& name, const std::string& command, const std::string& more = "") {
  return fmt::format("  {}:\n    command: {}\n    {}\n{}", name, command, kEnv, more);
}

// a -> b -> c, and d on its own: a step starts once every producer has succeeded.
std::string Chain() {
  return "type: pipeline\njobs:\n" +
         Step("a", "echo a > ${{outputs.o}}/x", "    outputs: {o: {type: uri_folder}}\n") +
         Step("b", "cat ${{inputs.i}}/x",
              "    inputs: {i: '${{parent.jobs.a.outputs.o}}'}\n    outputs: {o: {type: uri_folder}}\n") +
         Step("c", "cat ${{inputs.i}}", "    inputs: {i: '${{parent.jobs.b.outputs.o}}'}\n") +
         Step("d", "echo d");
}

// `n` independent steps.
std::string Wide(int n) {
  std::string yaml = "type: pipeline\njobs:\n";
  for (int k = 0; k < n; ++k) yaml += Step(fmt::format("s{}", k), fmt::format("echo {}", k));
  return yaml;
}

TEST_F(EngineTest, AStepStartsWhenItsProducersHaveSucceeded) {
  RunResult r = RunAll(Load(Chain()));
  EXPECT_EQ(r.status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(r.exit_code, 0);
  std::map<std::string, int64_t> started;
  for (const auto& [job, at] : local_->starts) started[job.substr(job.find(' ') + 1)] = at;
  ASSERT_EQ(started.size(), 4u);
  // a and d together (two CPUs), b a second later, c a second after that.
  EXPECT_EQ(started["a"], started["d"]);
  EXPECT_EQ(started["b"] - started["a"], 1'000'000'000);
  EXPECT_EQ(started["c"] - started["b"], 1'000'000'000);
  EXPECT_EQ(Statuses(r.run_id), (std::map<std::string, std::string>{
                                    {"a", "succeeded"}, {"b", "succeeded"}, {"c", "succeeded"}, {"d", "succeeded"}}));
  // b's command reads a's output where the store delivers it.
  const exec::LaunchSpec& b = *std::find_if(local_->submitted.begin(), local_->submitted.end(),
                                            [](const auto& s) { return s.step == "b"; });
  Result<std::vector<meta::OutputRecord>> a_out = meta_->Outputs(r.run_id, 0);
  ASSERT_TRUE(a_out.ok());
  auto o = std::find_if(a_out->begin(), a_out->end(), [](const auto& out) { return out.name == "o"; });
  ASSERT_NE(o, a_out->end());
  EXPECT_NE(b.command.find(o->digest), std::string::npos) << b.command;
  // Every transition the database recorded reached the observer; the run's end too.
  EXPECT_EQ(std::count_if(recorder_.steps.begin(), recorder_.steps.end(),
                          [](const std::string& s) { return s.ends_with(" succeeded"); }),
            4);
  EXPECT_EQ(recorder_.finished, std::vector<std::string>{r.run_id});
}

TEST_F(EngineTest, EachTargetRunsWithinItsOwnCapacity) {
  auto gpu = std::make_unique<FakeExecutor>(os_, 1);
  gpu->name = "gpu";
  FakeExecutor* g = gpu.get();
  targets_.Add("gpu", std::move(gpu));
  std::string yaml = Wide(6);
  for (int k = 0; k < 3; ++k) yaml += Step(fmt::format("g{}", k), "echo g", "    compute: azureml:gpu\n");
  RunResult r = RunAll(Load(yaml));
  EXPECT_EQ(r.status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(local_->submitted.size(), 6u);
  EXPECT_EQ(g->submitted.size(), 3u);
  EXPECT_EQ(local_->max_running, 2u);  // two CPUs
  EXPECT_EQ(g->max_running, 1u);       // one
  EXPECT_EQ(Seconds(), 3);             // both queues drained side by side
  EXPECT_EQ(meta_->FindStep(r.run_id, "g0")->value().target, "gpu");
  // A name nothing maps runs locally, with a warning.
  Submit(Load("type: pipeline\njobs:\n" + Step("x", "echo", "    compute: azureml:big\n")));
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  EXPECT_EQ(local_->submitted.size(), 7u);
  EXPECT_NE(recorder_.warnings.back().find("compute `azureml:big` is not configured"), std::string::npos)
      << recorder_.warnings.back();
}

TEST_F(EngineTest, TwoRunsOfAHundredReadyStepsInterleave) {
  const graph::Graph& g = Load(Wide(100));
  RunOptions forced;
  forced.force = true;  // both compute every step
  std::string first = Submit(g, forced);
  std::string second = Submit(g, forced);
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  ASSERT_EQ(local_->starts.size(), 200u);
  // Jobs alternate between the runs from the start: of every two started, one is each run's.
  std::vector<std::string> runs;
  for (const exec::LaunchSpec& s : local_->submitted) runs.push_back(EnvOf(s, "WEFT_RUN_ID"));
  for (size_t k = 0; k + 1 < runs.size(); k += 2) {
    EXPECT_NE(runs[k], runs[k + 1]) << "jobs " << k << " and " << k + 1;
  }
  EXPECT_EQ(engine_->Outcome(first)->status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(engine_->Outcome(second)->status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(Seconds(), 100);  // 200 one-second jobs on two CPUs
}

TEST_F(EngineTest, AProjectThatSubmitsLaterStartsWithinTwoStepDurations) {
  Targets cluster;  // twenty CPUs, all taken by project a's first jobs
  auto exec = std::make_unique<FakeExecutor>(os_, 20);
  FakeExecutor* fake = exec.get();
  cluster.Add("local", std::move(exec));
  Engine engine({ws_, *meta_, *store_, cluster, os_});
  RunOptions a, b;
  a.force = b.force = true;
  a.project = "a";
  a.user = "alice";
  b.project = "b";
  b.user = "bob";
  ASSERT_TRUE(engine.Submit(Request(Load(Wide(200)), a)).ok());
  for (int k = 0; k < 10 && fake->starts.size() < 20; ++k) ASSERT_TRUE(engine.Pass(0).ok());
  ASSERT_EQ(fake->starts.size(), 20u);
  int64_t submitted = os_.now_ns;
  Result<std::string> late = engine.Submit(Request(Load(Wide(10)), b));
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(engine.RunToCompletion().ok());
  int64_t last_b = 0;
  int started_b = 0;
  for (size_t k = 0; k < fake->submitted.size(); ++k) {
    if (EnvOf(fake->submitted[k], "WEFT_RUN_ID") != *late) continue;
    ++started_b;
    last_b = std::max(last_b, fake->starts[k].second);
  }
  EXPECT_EQ(started_b, 10);
  EXPECT_LE(last_b - submitted, 2'000'000'000);  // two one-second steps: not after a's 200
  EXPECT_EQ(engine.Outcome(*late)->status, meta::RunStatus::kSucceeded);
}

TEST_F(EngineTest, AProjectsQuotaHoldsItsJobsBackWhileOthersRun) {
  Targets cluster;
  auto exec = std::make_unique<FakeExecutor>(os_, 8);
  FakeExecutor* fake = exec.get();
  cluster.Add("local", std::move(exec));
  Engine engine({ws_, *meta_, *store_, cluster, os_});
  engine.SetQuota("capped", {0, 0, 0, 2});  // two jobs at a time
  RunOptions capped;
  capped.force = true;
  capped.project = "capped";
  Result<std::string> run = engine.Submit(Request(Load(Wide(10)), capped));
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(engine.RunToCompletion().ok());
  EXPECT_EQ(fake->max_running, 2u);  // though eight CPUs were free
  EXPECT_EQ(engine.Outcome(*run)->status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(Seconds(), 5);  // ten one-second jobs, two at a time
}

TEST_F(EngineTest, AFailureSkipsWhatNeedsItAndStopsTheRest) {
  local_->script = [](const exec::LaunchSpec& s) {
    return s.step == "a" ? Takes(1, 2) : Takes(5, 0);
  };
  RunResult r = RunAll(Load(Chain()));
  EXPECT_EQ(r.status, meta::RunStatus::kFailed);
  EXPECT_EQ(r.exit_code, kExitStepFailed);
  std::map<std::string, std::string> st = Statuses(r.run_id);
  EXPECT_EQ(st["a"], "failed");
  EXPECT_EQ(st["b"], "skipped");
  EXPECT_EQ(st["c"], "skipped");
  EXPECT_EQ(st["d"], "canceled");  // it was running: stopped
  EXPECT_EQ(local_->cancels, 1);
  EXPECT_NE(meta_->FindStep(r.run_id, "a")->value().message.find("exit code 2"), std::string::npos);
}

// A record the database refuses (here a trigger, on a connection of its own) ends the engine's
// work with the database's error at that pass: the run does not go on without its records.
TEST_F(EngineTest, ARecordTheDatabaseRefusesStopsTheEngineWithItsError) {
  Result<std::unique_ptr<meta::Db>> db = meta::Db::Open(ws_.db_path());
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE((*db)->Exec("CREATE TRIGGER refuse BEFORE INSERT ON steps WHEN NEW.status = 'succeeded' "
                          "BEGIN SELECT RAISE(ABORT, 'no room for this record'); END")
                  .ok());
  Submit(Load(Wide(6)));
  Status s = engine_->RunToCompletion();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no room for this record"), std::string::npos) << s.message();
  // The pass that could not record the first two successes was the last: s2 and s3, which it
  // admitted, started; s4 and s5 never did.
  EXPECT_EQ(local_->starts.size(), 4u);
}

TEST_F(EngineTest, WithContinueOnStepFailureIndependentStepsFinish) {
  local_->script = [](const exec::LaunchSpec& s) {
    return s.step == "a" ? Takes(1, 2) : Takes(5, 0);
  };
  std::string yaml = Chain();
  yaml.insert(yaml.find("jobs:"), "settings: {continue_on_step_failure: true}\n");
  RunResult r = RunAll(Load(yaml));
  EXPECT_EQ(r.status, meta::RunStatus::kFailed);
  std::map<std::string, std::string> st = Statuses(r.run_id);
  EXPECT_EQ(st["b"], "skipped");
  EXPECT_EQ(st["d"], "succeeded");
  EXPECT_EQ(local_->cancels, 0);
}

TEST_F(EngineTest, RetriesWaitLongerEachTime) {
  int attempts = 0;
  local_->script = [&](const exec::LaunchSpec&) { return Takes(1, ++attempts < 3 ? 1 : 0); };
  RunResult r = RunAll(Load("type: pipeline\njobs:\n" +
                            Step("flaky", "echo", "    resources: {properties: {weft.retries: '3', "
                                                  "weft.retry_delay: '10'}}\n")));
  EXPECT_EQ(r.status, meta::RunStatus::kSucceeded);
  ASSERT_EQ(local_->starts.size(), 3u);
  // 1 s running, 10 s waiting, 1 s, 20 s, then the third attempt.
  EXPECT_EQ(local_->starts[1].second - local_->starts[0].second, 11'000'000'000);
  EXPECT_EQ(local_->starts[2].second - local_->starts[1].second, 21'000'000'000);
  meta::StepRecord s = meta_->FindStep(r.run_id, "flaky")->value();
  EXPECT_EQ(s.attempt, 3);
  EXPECT_EQ(std::count(recorder_.steps.begin(), recorder_.steps.end(), r.run_id + " flaky retrying"), 2);
}

TEST_F(EngineTest, AStepPastItsTimeoutEndsTimedOut) {
  local_->script = [](const exec::LaunchSpec&) { return Takes(100, 0); };
  RunResult r = RunAll(Load("type: pipeline\njobs:\n" + Step("slow", "sleep 100", "    limits: {timeout: 5}\n")));
  EXPECT_EQ(r.status, meta::RunStatus::kFailed);
  meta::StepRecord s = meta_->FindStep(r.run_id, "slow")->value();
  EXPECT_EQ(s.status, meta::StepStatus::kTimedOut);
  EXPECT_NE(s.message.find("its 5 s limit"), std::string::npos) << s.message;
  EXPECT_EQ(Seconds(), 5);
}

TEST_F(EngineTest, CancelStopsOneRunAndLeavesTheOtherRunning) {
  local_->script = [](const exec::LaunchSpec&) { return Takes(10, 0); };
  RunOptions forced;
  forced.force = true;
  const graph::Graph& g = Load(Wide(4));
  std::string keep = Submit(g, forced);
  std::string stop = Submit(g, forced);
  ASSERT_TRUE(engine_->Pass(0).ok());  // each run has a job running
  engine_->Cancel(stop);
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  EXPECT_EQ(engine_->Outcome(stop)->status, meta::RunStatus::kCanceled);
  EXPECT_EQ(engine_->Outcome(stop)->exit_code, kExitCanceled);
  EXPECT_EQ(engine_->Outcome(keep)->status, meta::RunStatus::kSucceeded);
  for (const auto& [step, st] : Statuses(stop)) EXPECT_EQ(st, "canceled") << step;
  EXPECT_EQ(local_->cancels, 1);  // the one running job
  EXPECT_EQ(local_->submitted.size(), 5u);
}

TEST_F(EngineTest, InterruptAllStopsEveryRunAsInterruptedToBeResumed) {
  local_->script = [](const exec::LaunchSpec&) { return Takes(10, 0); };
  RunOptions forced;
  forced.force = true;
  const graph::Graph& g = Load(Wide(4));
  std::string a = Submit(g, forced);
  std::string b = Submit(g, forced);
  ASSERT_TRUE(engine_->Pass(0).ok());
  engine_->InterruptAll();
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  for (const std::string& run : {a, b}) {
    EXPECT_EQ(engine_->Outcome(run)->status, meta::RunStatus::kInterrupted) << run;
    Result<std::optional<meta::RunRecord>> rec = meta_->FindRun(run);
    ASSERT_TRUE(rec.ok() && *rec);
    EXPECT_EQ((*rec)->status, meta::RunStatus::kInterrupted);
    for (const auto& [step, st] : Statuses(run)) EXPECT_EQ(st, "canceled") << step;
  }
  EXPECT_EQ(local_->cancels, 2);  // each run's running job, with its grace period
}

TEST_F(EngineTest, AnUnchangedStepIsReusedAndConcurrentRunsComputeItOnce) {
  const graph::Graph& g = Load(Chain());
  RunResult first = RunAll(g);
  size_t ran = local_->submitted.size();
  RunResult again = RunAll(g);
  EXPECT_EQ(local_->submitted.size(), ran);  // nothing ran
  for (const auto& [step, st] : Statuses(again.run_id)) EXPECT_EQ(st, "reused") << step;
  // Two runs of a changed pipeline submitted together: the second waits for the first's claims
  // and reuses what it made.
  std::string changed = Chain();
  changed.replace(changed.find("echo a"), 6, "echo A");
  const graph::Graph& g2 = Load(changed);
  std::string r1 = Submit(g2);
  std::string r2 = Submit(g2);
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  // a once; b and c are reused too, as a made the same (empty) output; d is unchanged.
  EXPECT_EQ(local_->submitted.size(), ran + 1);
  std::map<std::string, std::string> st = Statuses(r2);
  for (const char* s : {"a", "b", "c", "d"}) EXPECT_EQ(st[s], "reused") << s;
  EXPECT_NE(std::find(recorder_.steps.begin(), recorder_.steps.end(), r2 + " a waiting"),
            recorder_.steps.end());
  EXPECT_EQ(engine_->Outcome(r1)->status, meta::RunStatus::kSucceeded);
}

TEST_F(EngineTest, ResumeReattachesToAJobThatOutlivedItsWeft) {
  local_->outlive = true;
  local_->script = [](const exec::LaunchSpec&) { return Takes(30, 0); };
  const graph::Graph& g =
      Load("type: pipeline\njobs:\n" + Step("long", "train", "    outputs: {m: {type: uri_folder}}\n"));
  std::string first = Submit(g);
  ASSERT_TRUE(engine_->Pass(0).ok());
  ASSERT_TRUE(engine_->Pass(0).ok());  // the job's identity is recorded
  std::string job = meta_->FindStep(first, "long")->value().job;
  ASSERT_FALSE(job.empty());
  // weft dies; its job goes on. The next weft settles the run, leaving the job alone.
  engine_.reset();
  os_.alive.erase(4242);
  os_.pid = 5151;
  os_.alive[5151] = "2000";
  Result<std::vector<std::string>> settled = SettleDeadRuns(*meta_, targets_, os_);
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, std::vector<std::string>{first});
  EXPECT_TRUE(local_->stopped.empty());
  EXPECT_EQ(meta_->FindStep(first, "long")->value().status, meta::StepStatus::kInterrupted);
  // Resuming re-attaches to it instead of running it again.
  local_->alive_jobs.insert(job);
  local_->script = [](const exec::LaunchSpec&) { return Takes(5, 0); };
  engine_ = MakeEngine();
  RunOptions resume;
  resume.resumes = first;
  RunResult r = RunAll(g, resume);
  EXPECT_EQ(r.status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(local_->adopted, std::vector<std::string>{job});
  EXPECT_EQ(local_->submitted.size(), 1u);  // only the first weft's
  EXPECT_EQ(Statuses(r.run_id)["long"], "succeeded");
}

TEST_F(EngineTest, AStepWithThreeJobsRetriesOneAndDerivesItsStatus) {
  std::map<std::string, int> attempts;
  local_->script = [&](const exec::LaunchSpec& s) {
    std::string job = EnvOf(s, "WEFT_JOB");
    int n = ++attempts[job];
    Behaviour b = Takes(1, job == "1" && n == 1 ? 3 : 0);
    b.log = fmt::format("job {} attempt {}\n", job, n);
    b.metrics = fmt::format("{{\"name\": \"loss\", \"value\": {}}}\n", std::atoi(job.c_str()) + n / 10.0);
    return b;
  };
  recorder_.logs_wanted = true;
  const graph::Graph& g = Load("type: pipeline\njobs:\n" +
                               Step("sweep", "train",
                                    "    outputs: {o: {type: uri_folder}}\n    resources: {properties: "
                                    "{weft.retries: '1', weft.retry_delay: '1'}}\n"));
  RunRequest request = Request(g);
  request.expand = [](std::vector<StepPlan>& plans) { plans[0].jobs = 3; };
  Result<std::string> id = engine_->Submit(request);
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  EXPECT_EQ(engine_->Outcome(*id)->status, meta::RunStatus::kSucceeded);
  EXPECT_EQ(local_->submitted.size(), 4u);  // three jobs, one of them twice
  Result<std::vector<meta::JobRecord>> jobs = meta_->Jobs(*id, 0);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0].attempt, 1);
  EXPECT_EQ((*jobs)[1].attempt, 2);
  for (const meta::JobRecord& j : *jobs) EXPECT_EQ(j.status, meta::StepStatus::kSucceeded);
  meta::StepRecord step = meta_->FindStep(*id, "sweep")->value();
  EXPECT_EQ(step.status, meta::StepStatus::kSucceeded);
  EXPECT_EQ(step.jobs, 3);
  // Each job has its own log and metrics.
  for (int k = 0; k < 3; ++k) {
    int64_t attempt = (*jobs)[k].attempt;
    std::string log = *ReadFileCapped(fmt::format("{}/{}/0/{}.{}/log", ws_.runs_dir(), *id, k, attempt), 1 << 20);
    EXPECT_EQ(log, fmt::format("job {} attempt {}\n", k, attempt));
    Result<std::vector<meta::MetricRecord>> m = meta_->Metrics(*id, 0, k);
    ASSERT_TRUE(m.ok() && m->size() == 1) << k;
    EXPECT_DOUBLE_EQ(m->front().value, k + attempt / 10.0);
  }
  EXPECT_EQ(meta_->Metrics(*id, 0)->size(), 3u);
  EXPECT_NE(std::find(recorder_.steps.begin(), recorder_.steps.end(), *id + " sweep[1] retrying"),
            recorder_.steps.end());
  EXPECT_NE(std::find(recorder_.logs.begin(), recorder_.logs.end(), "sweep 1: job 1 attempt 2"),
            recorder_.logs.end());
}

TEST_F(EngineTest, AJobThatFailsForGoodFailsItsStep) {
  local_->script = [](const exec::LaunchSpec& s) { return Takes(1, EnvOf(s, "WEFT_JOB") == "2" ? 4 : 0); };
  const graph::Graph& g = Load("type: pipeline\njobs:\n" + Step("p", "x"));
  RunRequest request = Request(g);
  request.expand = [](std::vector<StepPlan>& plans) { plans[0].jobs = 3; };
  Result<std::string> id = engine_->Submit(request);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(engine_->RunToCompletion().ok());
  meta::StepRecord step = meta_->FindStep(*id, "p")->value();
  EXPECT_EQ(step.status, meta::StepStatus::kFailed);
  EXPECT_EQ(step.exit_code, 4);
  EXPECT_EQ(step.message.rfind("job 2: exit code 4", 0), 0u) << step.message;
}

}  // namespace
}  // namespace weft::engine
