#include "exec/local.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

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
    Result<std::unique_ptr<LocalExecutor>> ex = LocalExecutor::Create(false);
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
  JobInfo info = ex_->Info(*h);
  EXPECT_GT(info.pid, 0);
  EXPECT_EQ(info.pid, info.pgid);
  EXPECT_FALSE(info.start_time.empty());
  EXPECT_EQ(info.start_time, ProcessStartTime(info.pid));
  ex_->Cancel(*h);
  std::vector<JobEnd> ends = WaitAll(*ex_);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].reason, EndReason::kCanceled);
  EXPECT_TRUE(ProcessStartTime(info.pid).empty());
}

TEST_F(LocalExecutorTest, SeveralProcessesPerJobGetTheirOwnVariables) {
  LaunchSpec s = Spec("echo rank=$RANK >> ranks.txt");
  s.per_process_env = {{"RANK=0"}, {"RANK=1"}, {"RANK=2"}};
  ASSERT_TRUE(ex_->Submit(s).ok());
  ASSERT_EQ(WaitAll(*ex_).size(), 1u);
  std::string ranks = Read(dir_.path() + "/ranks.txt");
  for (const char* r : {"rank=0\n", "rank=1\n", "rank=2\n"}) {
    EXPECT_NE(ranks.find(r), std::string::npos) << ranks;
  }
}

}  // namespace
}  // namespace weft::exec
