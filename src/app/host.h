// A server's engine: one engine hosting every run submitted to it, in a thread of its own.
// Requests from other threads (submit, cancel) are queued and carried out by that thread between
// passes of the event loop, so the engine and the session's metadata store stay single-threaded.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/pipeline.h"
#include "app/runs.h"
#include "app/session.h"
#include "engine/engine.h"

namespace weft::app {

class Host {
 public:
  // From here on the session belongs to the host's thread.
  explicit Host(Session& session);
  // Stops every run (as an interrupt does) and waits for them to end.
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Loads the pipeline and submits it; returns the run, once recorded, or what kept it from being
  // recorded (the pipeline's problems, located).
  Result<meta::RunRecord> Submit(PipelineSource source, engine::RunOptions options,
                                 std::vector<std::string> tags);
  // What Submit would do, as `weft run --dry-run` says it: each step reused or run, and why, and
  // the pipeline's warnings; nothing runs and nothing is recorded.
  struct Plan {
    std::vector<engine::PlannedStep> steps;
    std::vector<std::string> warnings;
  };
  Result<Plan> DryRun(PipelineSource source, engine::RunOptions options,
                      std::vector<std::string> tags);
  // Cancels a run this host runs (its steps get their grace period, unless `now`); NotFound when
  // it is not one of its live runs.
  Status Cancel(const std::string& run_id, bool now = false);
  // Resumes a served run as `weft resume` does (one that failed, was canceled or interrupted);
  // returns the new run.
  Result<meta::RunRecord> Resume(const std::string& run_id);
  // Resumes, as `weft resume` does, every served run (of a project other than the workspace's own,
  // `local`) that a server stopping (or dying) left interrupted and that no run resumes yet.
  struct Resumed {
    std::vector<std::pair<std::string, std::string>> runs;  // (interrupted, resuming it)
    std::vector<std::string> problems;                      // runs that could not be resumed, why
  };
  Result<Resumed> ResumeInterrupted();
  // Runs `task` (`weft gc`, `weft fsck` through a server) in the host's thread while no run is
  // live, with the workspace's lock exclusive; Busy, changing nothing, while runs run here or
  // other weft commands use the workspace.
  Status Alone(const std::string& command, const std::function<Status(Session&)>& task);
  // Why each waiting step of a live run waits for compute (engine::Engine::Waiting).
  std::map<std::string, std::string> Waiting(const std::string& run_id);
  // A project's quota: its steps wait while it uses that much of the server's compute.
  void SetQuota(const meta::ProjectRecord& project);
  // What every job gets besides its own environment (engine::Engine::SetJobEnvironment).
  void SetJobEnvironment(engine::JobEnvironment f);
  // Subscribes an observer to every run (from the host's thread: observers hear it there).
  void Subscribe(engine::Observer* o);
  void Unsubscribe(engine::Observer* o);

  // Stops taking requests, stops every run (recorded interrupted, for ResumeInterrupted at the
  // next start; running steps get their grace period) and returns once all have ended.
  void Shutdown();

 private:
  // Runs `task` in the host's thread and returns its result.
  template <typename T>
  T Call(std::function<T()> task);
  void Loop();
  // In the host's thread: resumes `run_id`; the new run's id.
  Result<std::string> ResumeHere(const std::string& run_id);

  Session& session_;
  engine::Engine engine_;
  // What each live run's engine reads while it runs: its pipeline as loaded (for a resumed run,
  // with the submission it replays).
  struct Live {
    std::unique_ptr<LoadedGraph> graph;
    std::unique_ptr<Resumption> resumption;
  };
  std::map<std::string, Live> live_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;  // no new runs
  bool stopped_ = false;   // Shutdown() was called
  bool exited_ = false;    // the thread is gone: nothing more is carried out
  std::thread thread_;
};

}  // namespace weft::app
