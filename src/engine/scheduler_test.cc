// Fair admission: projects, then users, then runs; capacity per target; big jobs let small pass.
#include "engine/scheduler.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

namespace weft::engine {
namespace {

Slot Job(const void* run, uint32_t step, const std::string& target = "local",
         int64_t memory_mb = 0) {
  Slot s{run, step, 0, target, {}};
  s.needs.memory_mb = memory_mb;
  return s;
}

std::map<const void*, int> Count(const std::vector<Slot>& slots) {
  std::map<const void*, int> n;
  for (const Slot& s : slots) ++n[s.run];
  return n;
}

TEST(SchedulerTest, ProjectsShareFirstThenUsersThenRuns) {
  int a, b, c, d;  // four runs: project p1 has a and b (user u1) and d (user u2); p2 has c
  Scheduler s;
  s.AddTarget("local", {6, 0, 0});
  s.AddRun(&a, "p1", "u1");
  s.AddRun(&b, "p1", "u1");
  s.AddRun(&d, "p1", "u2");
  s.AddRun(&c, "p2", "u3");
  for (uint32_t k = 0; k < 10; ++k) {
    for (const void* run : {&a, &b, &c, &d}) s.Enqueue(Job(run, k));
  }
  std::map<const void*, int> n = Count(s.Admit());
  EXPECT_EQ(n[&c], 3);  // half the target for each project, though p1 has three runs
  // p1's three: its users alternate, and u1's two runs one each (a tie between users goes to
  // the run with fewer running).
  EXPECT_EQ(n[&d], 1);
  EXPECT_EQ(n[&a], 1);
  EXPECT_EQ(n[&b], 1);
  EXPECT_EQ(s.queued(&c), 7u);
  // Freed capacity goes to the project with the fewest running.
  s.Release(Job(&c, 0));
  std::vector<Slot> next = s.Admit();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].run, static_cast<const void*>(&c));
  // Then to p1, which has fewer running now.
  s.Release(Job(&a, 0));
  next = s.Admit();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].run, static_cast<const void*>(&c));
}

TEST(SchedulerTest, EachTargetHasItsOwnCapacity) {
  int a;
  Scheduler s;
  s.AddTarget("local", {2, 0, 0});
  s.AddTarget("gpu", {1, 0, 0});
  s.AddRun(&a, "p", "u");
  for (uint32_t k = 0; k < 5; ++k) s.Enqueue(Job(&a, k, k < 3 ? "local" : "gpu"));
  std::vector<Slot> admitted = s.Admit();
  std::map<std::string, int> by_target;
  for (const Slot& slot : admitted) ++by_target[slot.target];
  EXPECT_EQ(by_target["local"], 2);
  EXPECT_EQ(by_target["gpu"], 1);
  EXPECT_TRUE(s.Admit().empty());
}

TEST(SchedulerTest, AJobThatDoesNotFitLetsSmallerOnesPass) {
  int a;
  Scheduler s;
  s.AddTarget("local", {4, 1000, 0});
  s.AddRun(&a, "p", "u");
  s.Enqueue(Job(&a, 0, "local", 800));
  s.Enqueue(Job(&a, 1, "local", 800));  // does not fit beside the first
  s.Enqueue(Job(&a, 2, "local", 100));
  std::vector<Slot> admitted = s.Admit();
  ASSERT_EQ(admitted.size(), 2u);
  EXPECT_EQ(admitted[0].step, 0u);
  EXPECT_EQ(admitted[1].step, 2u);
  EXPECT_EQ(s.queued(&a), 1u);
  EXPECT_EQ(s.Drain(&a).size(), 1u);
  EXPECT_EQ(s.queued(&a), 0u);
}

TEST(SchedulerTest, AProjectRunsWithinItsQuotaOverEveryTargetAndOthersUseTheRest) {
  int a, b;
  Scheduler s;
  s.AddTarget("local", {8, 0, 0});
  s.AddTarget("big", {8, 0, 0});
  s.AddRun(&a, "capped", "u");
  s.AddRun(&b, "free", "u");
  s.SetQuota("capped", {3, 0, 0, 0});  // three CPUs, wherever they are
  for (uint32_t k = 0; k < 10; ++k) {
    s.Enqueue(Job(&a, k, k % 2 ? "big" : "local"));
    s.Enqueue(Job(&b, k, "local"));
  }
  std::map<const void*, int> n = Count(s.Admit());
  EXPECT_EQ(n[&a], 3);  // though both targets had room for more of its jobs
  EXPECT_EQ(n[&b], 8);  // what the capped project may not use, the other does
  EXPECT_TRUE(s.Admit().empty());
  // A job of the capped project ends: one more of its own starts, no more.
  s.Release(Job(&a, 1, "big"));
  n = Count(s.Admit());
  EXPECT_EQ(n[&a], 1);
  EXPECT_EQ(n[&b], 0);
  // A quota of running jobs instead: one more.
  s.SetQuota("capped", {0, 0, 0, 4});
  EXPECT_EQ(Count(s.Admit())[&a], 1);
  // No quota: its jobs share "local" fairly again as the other's end.
  s.SetQuota("capped", {});
  EXPECT_TRUE(s.Admit().empty());  // (its jobs left all wait for "local", which is full)
  s.Release(Job(&b, 0, "local"));
  s.Release(Job(&b, 1, "local"));
  EXPECT_EQ(Count(s.Admit())[&a], 2);
}

TEST(SchedulerTest, WaitingJobsSayWhy) {
  int a, b, c;
  Scheduler s;
  s.AddTarget("local", {2, 0, 0});
  s.AddRun(&a, "vision", "u1");
  s.AddRun(&b, "nlp", "u2");
  s.AddRun(&c, "capped", "u3");
  s.SetQuota("capped", {0, 0, 0, 1});
  for (uint32_t k = 0; k < 4; ++k) s.Enqueue(Job(&a, k));
  s.Enqueue(Job(&b, 0));
  s.Enqueue(Job(&b, 1));
  s.Enqueue(Job(&c, 0));
  s.Enqueue(Job(&c, 1));
  // Before admission: the first in line would start now.
  EXPECT_EQ(s.Waiting(&a).at(0), "waiting: starting");
  std::vector<Slot> started = s.Admit();
  ASSERT_EQ(started.size(), 2u);
  // Two of three projects started one job each; the target is full.
  std::map<uint32_t, std::string> a_waits = s.Waiting(&a);
  std::map<uint32_t, std::string> b_waits = s.Waiting(&b);
  std::map<uint32_t, std::string> c_waits = s.Waiting(&c);
  size_t full = 0;
  for (const auto* w : {&a_waits, &b_waits, &c_waits}) {
    for (const auto& [step, why] : *w) {
      if (why == "waiting: target `local` is full (2 of 2 CPUs in use)") ++full;
    }
  }
  EXPECT_EQ(full, 1u);  // the next in line
  EXPECT_EQ(a_waits.size(), started[0].run == &a || started[1].run == &a ? 3u : 4u);
  EXPECT_EQ(a_waits.at(3).rfind("waiting: fair share, ", 0), 0u) << a_waits.at(3);
  // The capped project: once its one job runs, the next waits for its quota.
  for (const Slot& done : started) s.Release(done);
  s.Enqueue(Job(&c, 2));
  std::vector<Slot> more = s.Admit();
  bool c_runs = std::any_of(more.begin(), more.end(), [&](const Slot& x) { return x.run == &c; });
  ASSERT_TRUE(c_runs);
  ASSERT_FALSE(s.Waiting(&c).empty());
  for (const auto& [step, why] : s.Waiting(&c)) {
    EXPECT_EQ(why, "waiting: project quota (1 of 1 running)") << step;
  }
  EXPECT_TRUE(s.Waiting(&started).empty());  // (not a run)
}

}  // namespace
}  // namespace weft::engine
