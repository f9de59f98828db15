#include "app/events.h"

#include <chrono>

#include <fmt/format.h>

namespace weft::app {

EventLog::EventLog(const Os& os, EventLimits limits,
                   std::function<std::string(const std::string&)> project_of)
    : os_(os), limits_(limits), project_of_(std::move(project_of)), last_(os.NowNs() / 1000) {}

EventLog::Reader::Reader(EventLog& log, std::string who, bool logs)
    : log_(log), who_(std::move(who)), logs_(logs) {}

EventLog::Reader::~Reader() {
  std::lock_guard<std::mutex> lock(log_.mu_);
  if (--log_.readers_[who_] == 0) log_.readers_.erase(who_);
  --log_.open_;
  if (logs_) --log_.log_readers_;
}

Result<std::unique_ptr<EventLog::Reader>> EventLog::Open(const std::string& who, bool logs) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ >= limits_.readers) {
    return Status::Busy(
        fmt::format("this server already streams events to {} readers, its limit; "
                    "try again later",
                    limits_.readers));
  }
  size_t& mine = readers_[who];
  if (mine >= limits_.readers_each) {
    if (mine == 0) readers_.erase(who);
    return Status::Busy(
        fmt::format("this token already reads {} event streams, its limit: close one first", mine));
  }
  ++mine;
  ++open_;
  if (logs) ++log_readers_;
  return std::unique_ptr<Reader>(new Reader(*this, who, logs));
}

EventLog::Reader::Batch EventLog::Reader::Read(int64_t after,
                                               const std::function<bool(const Event&)>& keep,
                                               int64_t wait_ms, size_t max) {
  Batch b;
  b.last = after;
  std::unique_lock<std::mutex> lock(log_.mu_);
  log_.grew_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                      [&] { return log_.closed_ || log_.last_ != after; });
  if (log_.closed_) {
    b.closed = true;
    return b;
  }
  const std::deque<Event>& events = log_.events_;
  int64_t first = events.empty() ? log_.last_ + 1 : events.front().seq;
  if (after + 1 < first || after > log_.last_) {  // gone, or from another life of the log
    b.missed = true;
    after = first - 1;
  }
  for (size_t i = static_cast<size_t>(after + 1 - first); i < events.size(); ++i) {
    const Event& e = events[i];
    b.last = e.seq;
    if (e.kind == "log" && !logs_) continue;
    if (keep(e)) {
      b.events.push_back(e);
      if (b.events.size() >= max) break;
    }
  }
  if (b.missed && b.events.empty()) b.last = log_.last_;
  return b;
}

int64_t EventLog::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void EventLog::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  grew_.notify_all();
}

void EventLog::Add(const std::string& run, const std::string& kind, Json data) {
  Event e;
  e.at_ns = os_.NowNs();
  e.project = ProjectOf(run);
  e.run = run;
  e.kind = kind;
  e.data = std::move(data);
  e.data.Set("at_ns", e.at_ns);
  {
    std::lock_guard<std::mutex> lock(mu_);
    e.seq = ++last_;
    events_.push_back(std::move(e));
    while (events_.size() > limits_.capacity) events_.pop_front();
  }
  grew_.notify_all();
}

const std::string& EventLog::ProjectOf(const std::string& run) {
  auto it = projects_.find(run);
  if (it == projects_.end()) it = projects_.emplace(run, project_of_(run)).first;
  return it->second;
}

void EventLog::OnRunStarted(const std::string& run_id, const std::string&) {
  Add(run_id, "run.started", Json::MakeObject().Set("run", run_id));
}

void EventLog::OnStep(const engine::StepEvent& e) {
  Json data = Json::MakeObject()
                  .Set("run", e.run_id)
                  .Set("step", e.step)
                  .Set("status", std::string(meta::Name(e.status)))
                  .Set("detail", e.detail)
                  .Set("seconds", e.seconds);
  if (e.job >= 0) data.Set("job", e.job);
  Add(e.run_id, "step", std::move(data));
}

void EventLog::OnWarning(const std::string& run_id, const std::string& message) {
  if (run_id.empty()) return;  // (about no run, so of no project)
  Add(run_id, "warning", Json::MakeObject().Set("run", run_id).Set("message", message));
}

void EventLog::OnProgress(const engine::Progress& p) {
  // Once per pass of the engine's loop is too often to keep: a run's progress is recorded when
  // its counts change, else at most every `progress_ms`.
  std::string counts = fmt::format("{} {} {} {} {} {} {}", p.total, p.succeeded, p.reused, p.failed,
                                   p.other, p.queued, p.running.size());
  int64_t now = os_.NowNs();
  Shown& shown = progress_[p.run_id];
  if (counts == shown.counts && now - shown.at_ns < limits_.progress_ms * 1'000'000) return;
  shown = {counts, now};
  Json running = Json::MakeArray();
  for (const engine::Progress::Running& r : p.running) {
    running.Push(
        Json::MakeObject().Set("step", r.step).Set("seconds", r.seconds).Set("detail", r.detail));
  }
  Add(p.run_id, "progress",
      Json::MakeObject()
          .Set("run", p.run_id)
          .Set("total", static_cast<int64_t>(p.total))
          .Set("succeeded", static_cast<int64_t>(p.succeeded))
          .Set("reused", static_cast<int64_t>(p.reused))
          .Set("failed", static_cast<int64_t>(p.failed))
          .Set("other", static_cast<int64_t>(p.other))
          .Set("queued", static_cast<int64_t>(p.queued))
          .Set("running", std::move(running)));
}

void EventLog::OnRunFinished(const engine::RunResult& r) {
  if (r.run_id.empty()) return;  // (a dry run)
  Add(r.run_id, "run.finished",
      Json::MakeObject()
          .Set("run", r.run_id)
          .Set("status", std::string(meta::Name(r.status)))
          .Set("exit_code", r.exit_code));
  projects_.erase(r.run_id);
  progress_.erase(r.run_id);
}

void EventLog::OnLog(const engine::LogLine& line) {
  Add(line.run_id, "log",
      Json::MakeObject()
          .Set("run", line.run_id)
          .Set("step", line.step)
          .Set("job", line.job)
          .Set("text", line.text));
}

}  // namespace weft::app
