// What happens in a host's runs, as numbered events for those who follow them live (a server's
// event stream, a web UI): runs starting and finishing, steps changing status, progress and log
// lines. The log keeps the latest `capacity` events: a reader that falls further behind, or
// resumes from an event no longer kept, is told it missed some (and re-reads the state). It is an
// engine observer (subscribe it to the host); readers read from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/os.h"
#include "base/status.h"
#include "engine/engine.h"

namespace weft::app {

struct Event {
  // In the order they happened; numbers grow across restarts too (they start from the log's
  // start time in microseconds), so an event number from before a restart is one missed.
  int64_t seq = 0;
  int64_t at_ns = 0;
  std::string project;
  std::string run;
  std::string kind;  // run.started, step, warning, progress, log, run.finished
  Json data;         // the event's members (always with `run`)
};

struct EventLimits {
  size_t capacity = 10'000;    // events kept
  size_t readers = 200;        // open readers at most
  size_t readers_each = 16;    // open readers of one identity at most
  int64_t progress_ms = 1000;  // a run's progress at most this often, unless its counts change
};

class EventLog : public engine::Observer {
 public:
  // `project_of` names a run's project; it is called from the observer's callbacks only (the
  // host's thread).
  EventLog(const Os& os, EventLimits limits,
           std::function<std::string(const std::string&)> project_of);

  // One open reader; it counts against the limits until destroyed.
  class Reader {
   public:
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    struct Batch {
      std::vector<Event> events;  // those the filter kept, in order
      int64_t last = 0;           // the last event looked at: where the next read starts after
      bool missed = false;        // events after `after` are no longer kept
      bool closed = false;        // the log is closed: nothing more will come
    };
    // The events after `after` (at most `max`), waiting up to `wait_ms` for one to come.
    Batch Read(int64_t after, const std::function<bool(const Event&)>& keep, int64_t wait_ms,
               size_t max = 512);

   private:
    friend class EventLog;
    Reader(EventLog& log, std::string who, bool logs);
    EventLog& log_;
    std::string who_;
    bool logs_;
  };
  // A reader for `who` (a token id); `logs`: it wants log lines, which are read from the steps
  // only while some reader wants them. Busy when the limits are reached.
  Result<std::unique_ptr<Reader>> Open(const std::string& who, bool logs);

  // The newest event's number (before any: one less than the first will have).
  int64_t last() const;
  // Ends every wait and every later read: readers see `closed` (the server is stopping).
  void Close();

  void OnRunStarted(const std::string& run_id, const std::string& workspace) override;
  void OnStep(const engine::StepEvent& e) override;
  void OnProgress(const engine::Progress& p) override;
  void OnRunFinished(const engine::RunResult& r) override;
  void OnWarning(const std::string& run_id, const std::string& message) override;
  bool WantsLogs() const override { return log_readers_.load() > 0; }
  void OnLog(const engine::LogLine& line) override;

 private:
  void Add(const std::string& run, const std::string& kind, Json data);
  const std::string& ProjectOf(const std::string& run);

  const Os& os_;
  EventLimits limits_;
  std::function<std::string(const std::string&)> project_of_;
  std::map<std::string, std::string> projects_;  // of live runs (the host's thread only)
  struct Shown {
    std::string counts;
    int64_t at_ns = 0;
  };
  std::map<std::string, Shown> progress_;  // the last progress recorded, per run (host's thread)

  mutable std::mutex mu_;
  std::condition_variable grew_;
  std::deque<Event> events_;
  int64_t last_;
  bool closed_ = false;
  std::map<std::string, size_t> readers_;  // open readers per identity
  size_t open_ = 0;
  std::atomic<int> log_readers_{0};
};

}  // namespace weft::app
