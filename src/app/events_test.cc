#include "app/events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace weft::app {
namespace {

// The real system, with a clock the test moves.
class ClockOs : public Os {
 public:
  int64_t now_ns = 1'700'000'000'000'000'000;
  int64_t NowNs() const override { return now_ns; }
  std::vector<std::string> Environment() const override { return RealOs().Environment(); }
  std::optional<std::string> GetEnv(const std::string& n) const override {
    return RealOs().GetEnv(n);
  }
  int64_t Pid() const override { return RealOs().Pid(); }
  std::string ProcessStartTime(int64_t pid) const override {
    return RealOs().ProcessStartTime(pid);
  }
  std::string BootId() const override { return RealOs().BootId(); }
  Status CopyFile(const std::string& from, const std::string& to) const override {
    return RealOs().CopyFile(from, to);
  }
};

class EventLogTest : public ::testing::Test {
 protected:
  EventLog& Make(EventLimits limits = {}) {
    log_ = std::make_unique<EventLog>(os_, limits, [this](const std::string& run) {
      ++lookups_;
      return run == "r1" ? std::string("vision") : std::string("nlp");
    });
    return *log_;
  }
  static engine::StepEvent Step(const std::string& run, const std::string& step,
                                meta::StepStatus st) {
    engine::StepEvent e;
    e.run_id = run;
    e.step = step;
    e.status = st;
    return e;
  }
  static std::vector<std::string> Kinds(const EventLog::Reader::Batch& b) {
    std::vector<std::string> out;
    for (const Event& e : b.events) out.push_back(e.run + " " + e.kind);
    return out;
  }

  ClockOs os_;
  std::unique_ptr<EventLog> log_;
  int lookups_ = 0;
};

const auto kAll = [](const Event&) { return true; };

TEST_F(EventLogTest, ReadersGetWhatTheirFilterKeepsInOrderAndResumeAfterTheLast) {
  EventLog& log = Make();
  int64_t start = log.last();
  EXPECT_EQ(start, os_.now_ns / 1000);  // numbers grow across restarts
  auto reader = log.Open("tok", false);
  ASSERT_TRUE(reader.ok());
  log.OnRunStarted("r1", "/ws");
  log.OnRunStarted("r2", "/ws");
  log.OnStep(Step("r1", "train", meta::StepStatus::kRunning));
  log.OnRunFinished({"r2", meta::RunStatus::kSucceeded, 0});
  auto vision = [](const Event& e) { return e.project == "vision"; };
  EventLog::Reader::Batch b = (*reader)->Read(start, vision, 0);
  EXPECT_EQ(Kinds(b), (std::vector<std::string>{"r1 run.started", "r1 step"}));
  EXPECT_FALSE(b.missed);
  EXPECT_EQ(b.last, start + 4);  // past the events it did not keep too
  EXPECT_EQ(*b.events[1].data.Find("status")->String(), "running");
  EXPECT_EQ(*b.events[1].data.Find("at_ns")->Int(), os_.now_ns);
  // Resuming after the first event gives exactly the ones after it.
  b = (*reader)->Read(start + 1, kAll, 0);
  EXPECT_EQ(Kinds(b), (std::vector<std::string>{"r2 run.started", "r1 step", "r2 run.finished"}));
  // Each live run's project is looked up once.
  EXPECT_EQ(lookups_, 2);
}

TEST_F(EventLogTest, AReaderTooFarBehindIsToldItMissedEvents) {
  EventLog& log = Make({.capacity = 3});
  int64_t start = log.last();
  auto reader = log.Open("tok", false);
  ASSERT_TRUE(reader.ok());
  for (int i = 0; i < 5; ++i)
    log.OnStep(Step("r1", "s" + std::to_string(i), meta::StepStatus::kSucceeded));
  EventLog::Reader::Batch b = (*reader)->Read(start, kAll, 0);
  EXPECT_TRUE(b.missed);
  ASSERT_EQ(b.events.size(), 3u);  // what is kept
  EXPECT_EQ(b.events[0].seq, start + 3);
  EXPECT_FALSE((*reader)->Read(start + 2, kAll, 0).missed);   // just within what is kept
  EXPECT_TRUE((*reader)->Read(start - 100, kAll, 0).missed);  // from before the log began
}

TEST_F(EventLogTest, ProgressIsKeptWhenItsCountsChangeOrAfterAWhile) {
  EventLog& log = Make({.progress_ms = 1000});
  int64_t start = log.last();
  engine::Progress p;
  p.run_id = "r1";
  p.total = 10;
  log.OnProgress(p);
  log.OnProgress(p);  // the same counts at once: not kept
  os_.now_ns += 500'000'000;
  log.OnProgress(p);
  p.succeeded = 1;
  log.OnProgress(p);  // changed: kept
  os_.now_ns += 1'000'000'000;
  log.OnProgress(p);  // a second later: kept
  auto reader = log.Open("tok", false);
  ASSERT_TRUE(reader.ok());
  EventLog::Reader::Batch b = (*reader)->Read(start, kAll, 0);
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(*b.events[1].data.Find("succeeded")->Int(), 1);
}

TEST_F(EventLogTest, LogLinesAreReadOnlyWhileAReaderWantsThem) {
  EventLog& log = Make();
  int64_t start = log.last();
  EXPECT_FALSE(log.WantsLogs());
  auto plain = log.Open("tok", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(log.WantsLogs());
  {
    auto with_logs = log.Open("tok", true);
    ASSERT_TRUE(with_logs.ok());
    EXPECT_TRUE(log.WantsLogs());
    log.OnLog({"r1", "train", 0, "epoch 1"});
    log.OnStep(Step("r1", "train", meta::StepStatus::kSucceeded));
    EXPECT_EQ(Kinds((*with_logs)->Read(start, kAll, 0)),
              (std::vector<std::string>{"r1 log", "r1 step"}));
    EXPECT_EQ(Kinds((*plain)->Read(start, kAll, 0)), (std::vector<std::string>{"r1 step"}));
  }
  EXPECT_FALSE(log.WantsLogs());
}

TEST_F(EventLogTest, ReadersAreLimitedPerIdentityAndInAll) {
  EventLog& log = Make({.readers = 3, .readers_each = 2});
  auto a1 = log.Open("a", false), a2 = log.Open("a", false);
  ASSERT_TRUE(a1.ok() && a2.ok());
  Result<std::unique_ptr<EventLog::Reader>> a3 = log.Open("a", false);
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.status().code(), Code::kBusy);
  auto b1 = log.Open("b", false);
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(log.Open("c", false).status().code(), Code::kBusy);  // the server's limit
  a1->reset();
  EXPECT_TRUE(log.Open("a", false).ok());
}

TEST_F(EventLogTest, CloseWakesAWaitingReader) {
  EventLog& log = Make();
  auto reader = log.Open("tok", false);
  ASSERT_TRUE(reader.ok());
  auto started = std::chrono::steady_clock::now();
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Close();
  });
  EventLog::Reader::Batch b = (*reader)->Read(log.last(), kAll, 60'000);
  closer.join();
  EXPECT_TRUE(b.closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

}  // namespace
}  // namespace weft::app
