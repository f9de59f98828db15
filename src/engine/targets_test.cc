// Compute names as pipelines write them, mapped to targets; executors made on first use.
#include "engine/targets.h"

#include <gtest/gtest.h>

namespace weft::engine {
namespace {

// An executor that only counts how many were made.
class NoExecutor : public exec::Executor {
 public:
  exec::Capacity capacity() const override { return {2, 1024, 0}; }
  Result<uint64_t> Submit(const exec::LaunchSpec&) override { return Status::Internal("no"); }
  std::string JobId(uint64_t) const override { return ""; }
  std::vector<exec::JobEnd> Wait(int64_t) override { return {}; }
  void Cancel(uint64_t, bool) override {}
  size_t running() const override { return 0; }
  std::string TrackRun(const std::string&) override { return ""; }
  void ReleaseRun(const std::string&) override {}
  exec::Stopped StopRun(const std::string&, const std::vector<std::string>&, int64_t) override {
    return {};
  }
  std::vector<std::string> warnings() const override { return {}; }
};

ExecutorFactory Counting(int* made) {
  return [made]() -> Result<std::unique_ptr<exec::Executor>> {
    ++*made;
    return std::unique_ptr<exec::Executor>(std::make_unique<NoExecutor>());
  };
}

TEST(TargetsTest, ComputeNamesResolveToTargetsAndUnknownOnesToTheDefaultWithAWarning) {
  int local = 0, gpu = 0;
  Targets t;
  t.Add("local", Counting(&local));
  t.Add("gpu", Counting(&gpu));
  t.Alias("cpu-cluster", "local");
  EXPECT_EQ(t.default_target(), "local");
  std::string warning;
  for (const char* name : {"", "local", "serverless", "azureml:cpu-cluster", "cpu-cluster"}) {
    EXPECT_EQ(t.Resolve(name, &warning), "local") << name;
    EXPECT_EQ(warning, "") << name;
  }
  EXPECT_EQ(t.Resolve("azureml:gpu", &warning), "gpu");
  EXPECT_EQ(warning, "");
  EXPECT_EQ(t.Resolve("azureml:nowhere", &warning), "local");
  EXPECT_NE(warning.find("compute `azureml:nowhere` is not configured"), std::string::npos) << warning;
  EXPECT_NE(warning.find("`computes:`"), std::string::npos) << warning;

  // Executors are made on first use, once; a forgotten one is made again.
  EXPECT_EQ(local + gpu, 0);
  ASSERT_TRUE(t.Get("local").ok());
  ASSERT_TRUE(t.Get("local").ok());
  EXPECT_EQ(local, 1);
  EXPECT_EQ(gpu, 0);
  EXPECT_EQ(t.executor("local").capacity().cpus, 2);
  t.Forget("local");
  ASSERT_TRUE(t.Get("local").ok());
  EXPECT_EQ(local, 2);
  EXPECT_FALSE(t.Get("elsewhere").ok());
}

}  // namespace
}  // namespace weft::engine
