#include "exec/local.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/os.h"
#include "test_util.h"

namespace weft::exec {
namespace {

std::string Read(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<JobEnd> WaitAll(Executor& ex, int64_t max_ms = 20000) {
  std::vector<JobEnd> all;
  auto start = std::chrono::steady_clock::now();
  while (ex.running() > 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::milliseconds(max_ms)) {
    for (const JobEnd& e : ex.Wait(500)) all.push_back(e);
  }
  return all;
}

class LocalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<LocalExecutor>> ex = LocalExecutor::Create(LocalOptions{false});
    ASSERT_TRUE(ex.ok()) << ex.status().message();
    ex_ = std::move(*ex);
  }
  LaunchSpec Spec(const std::string& command) {
    LaunchSpec s;
    s.step = "t";
    s.command = command;
    s.cwd = dir_.path();
    s.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
    s.log_path = dir_.path() + "/log";
    return s;
  }
  weft::testing::TempDir dir_;
  std::unique_ptr<LocalExecutor> ex_;
};

TEST_F(LocalExecutorTest, RunsInItsFolderWithItsEnvironmentAndLogs) {
  ASSERT_TRUE(ex_->Submit(Spec("pwd; echo $GREETING; echo oops >&2; exit 3")).ok());
  std::vector<JobEnd> ends = WaitAll(*ex_);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].reason, EndReason::kExited);
  EXPECT_EQ(ends[0].exit_code, 3);
  EXPECT_EQ(Read(dir_.path() + "/log"), dir_.path() + "\nhello\noops\n");
}

TEST_F(LocalExecutorTest, AJobEndsOnlyWhenItsWholeGroupHasExited) {
  // The shell exits at once; a background child keeps writing for a while.
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ex_->Submit(Spec("(sleep 0.5; echo straggler) & exit 0")).ok());
  std::vector<JobEnd> ends = WaitAll(*ex_);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(450));
  EXPECT_EQ(Read(dir_.path() + "/log"), "straggler\n");
}

TEST_F(LocalExecutorTest, TimeoutSendsTermThenKillToTheGroup) {
  LaunchSpec s = Spec("trap '' TERM; sleep 30 & wait");
  s.timeout_ms = 200;
  s.kill_grace_ms = 300;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ex_->Submit(s).ok());
  std::vector<JobEnd> ends = WaitAll(*ex_);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].reason, EndReason::kTimedOut);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(LocalExecutorTest, CancelStopsAJob) {
  Result<uint64_t> h = ex_->Submit(Spec("sleep 30"));
  ASSERT_TRUE(h.ok());
  // Its identity names the process and its start time, so that a reused pid is never taken
  // for it.
  std::string id = ex_->JobId(*h);
  int64_t pid = std::atoll(id.c_str() + id.find("pid=") + 4);
  ASSERT_GT(pid, 0) << id;
  std::string start = RealOs().ProcessStartTime(pid);
  EXPECT_FALSE(start.empty());
  EXPECT_NE(id.find("start=" + start), std::string::npos) << id;
  ex_->Cancel(*h);
  std::vector<JobEnd> ends = WaitAll(*ex_);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].reason, EndReason::kCanceled);
  EXPECT_TRUE(RealOs().ProcessStartTime(pid).empty());
}

TEST_F(LocalExecutorTest, ADistributedJobsProcessesAreToldTheirPlace) {
  LaunchSpec s = Spec("echo $RANK/$LOCAL_RANK/$NODE_RANK/$WORLD_SIZE@$MASTER_ADDR >> ranks.txt");
  s.distribution = Distribution{"pytorch", 2, 2};
  ASSERT_TRUE(ex_->Submit(s).ok());
  ASSERT_EQ(WaitAll(*ex_).size(), 1u);
  std::string ranks = Read(dir_.path() + "/ranks.txt");
  for (const char* r : {"0/0/0/4@127.0.0.1\n", "1/1/0/4@127.0.0.1\n", "2/0/1/4@127.0.0.1\n",
                        "3/1/1/4@127.0.0.1\n"}) {
    EXPECT_NE(ranks.find(r), std::string::npos) << ranks;
  }
}

TEST_F(LocalExecutorTest, StopRunStopsWhatARunLeftByItsJobIds) {
  // As a later weft does for a dead one: only the recorded identity is known.
  Result<uint64_t> h = ex_->Submit(Spec("sleep 30"));
  ASSERT_TRUE(h.ok());
  std::string id = ex_->JobId(*h);
  int64_t pid = std::atoll(id.c_str() + id.find("pid=") + 4);
  Result<std::unique_ptr<LocalExecutor>> other = LocalExecutor::Create(LocalOptions{false});
  ASSERT_TRUE(other.ok());
  Stopped stopped = (*other)->StopRun("", {id}, 2000);
  EXPECT_EQ(stopped.processes, 1u);
  EXPECT_TRUE(stopped.all_gone);
  ASSERT_EQ(WaitAll(*ex_).size(), 1u);
  EXPECT_TRUE(RealOs().ProcessStartTime(pid).empty());
}

}  // namespace
}  // namespace weft::exec
