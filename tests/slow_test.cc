// The slow tier (`make slow`): crash safety under kill -9 at random moments.
//
// A 50-step pipeline (fan-out, chains, fan-in; random but fixed durations) runs once undisturbed
// for reference. Then, 50 times, in a fresh folder: `weft run`, kill -9 of weft at a random moment,
// `weft resume`; every step's outputs must equal the reference's, byte for byte (by digest), and
// `weft fsck` must find the store intact. Every other round runs with the sandbox off, so that the
// killed run's steps outlive it and resume has to stop them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

ProcessResult Weft(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), WEFT_BINARY);
  return testing::Run(args, dir);
}

// 1 source, 13 branches of 3 steps, 6 joins of pairs, then fan-in in two levels: 50 steps.
std::string Pipeline() {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> ms(10, 150);
  std::string y = "type: pipeline\njobs:\n";
  auto step = [&](const std::string& name, const std::vector<std::string>& inputs) {
    std::string cmd = "sleep " + std::to_string(ms(rng) / 1000.0) + " && cat";
    std::string ins;
    for (size_t i = 0; i < inputs.size(); ++i) {
      cmd += " ${{inputs.i" + std::to_string(i) + "}}/h";
      ins += (i ? ", " : "") + std::string("i") + std::to_string(i) + ": \"${{parent.jobs." +
             inputs[i] + ".outputs.o}}\"";
    }
    if (inputs.empty()) cmd = "sleep 0.1 && echo seed";
    cmd += " | sha256sum > ${{outputs.o}}/h && echo " + name + " >> ${{outputs.o}}/h";
    y += "  " + name + ":\n    command: " + cmd + "\n    environment: {image: python:3.11}\n";
    if (!ins.empty()) y += "    inputs: {" + ins + "}\n";
    y += "    outputs: {o: }\n";
  };
  int count = 0;
  step("source", {});
  ++count;
  std::vector<std::string> tails;
  for (int b = 0; b < 13; ++b) {
    std::string prev = "source";
    for (int k = 0; k < 3; ++k) {
      std::string name = "b" + std::to_string(b) + "_" + std::to_string(k);
      step(name, {prev});
      prev = name;
      ++count;
    }
    tails.push_back(prev);
  }
  std::vector<std::string> joins;
  for (int j = 0; j < 6; ++j) {
    std::string name = "join" + std::to_string(j);
    step(name, {tails[2 * j], tails[2 * j + 1]});
    joins.push_back(name);
    ++count;
  }
  step("mid_a", {joins[0], joins[1], joins[2]});
  step("mid_b", {joins[3], joins[4], joins[5]});
  step("mid_c", {tails[12], "source"});
  step("final", {"mid_a", "mid_b", "mid_c"});
  count += 4;
  EXPECT_EQ(count, 50);
  return y;
}

// Step name -> output digest, for the newest run in `dir`.
std::map<std::string, std::string> Outputs(const std::string& dir) {
  ProcessResult r = Weft(dir, {"compare", "last", "last", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const auto& row : j["rows"]) {
    if (row["kind"] == "output" && row["name"] == "o") out[row["step"]] = row["values"][0];
  }
  return out;
}

TEST(CrashTest, FiftyKillsAtRandomMomentsThenResumeEndIdenticalAndFsckClean) {
  std::string yaml = Pipeline();
  testing::TempDir ref;
  ref.Write("p.yml", yaml);
  auto t0 = std::chrono::steady_clock::now();
  ProcessResult first = Weft(ref.path(), {"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  double full_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, std::string> expected = Outputs(ref.path());
  ASSERT_EQ(expected.size(), 50u);

  std::mt19937 rng(20261126);
  std::uniform_real_distribution<double> when(0.0, full_ms * 1.1);
  int identical = 0, resumed = 0, finished_first = 0, before_record = 0;
  for (int round = 0; round < 50; ++round) {
    testing::TempDir dir;
    dir.Write("p.yml", yaml);
    if (round % 2 == 1) dir.Write(".weft/config.yaml", "sandbox: off\n");
    pid_t pid = ::fork();
    if (pid == 0) {
      ::chdir(dir.path().c_str());
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(WEFT_BINARY, WEFT_BINARY, "run", "p.yml", nullptr);
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(when(rng) * 1000)));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ProcessResult r = Weft(dir.path(), {"resume", "last"});
    if (r.exit_code == 2 && r.err.find("no runs") != std::string::npos) {
      ++before_record;  // killed before the run was recorded: nothing to resume, run it
      r = Weft(dir.path(), {"run", "p.yml"});
    } else if (r.exit_code == 2 && r.err.find("nothing to resume") != std::string::npos) {
      ++finished_first;  // it had succeeded before the kill landed
      r.exit_code = 0;
    } else {
      ++resumed;
    }
    ASSERT_EQ(r.exit_code, 0) << "round " << round << "\n" << r.out << r.err;
    std::map<std::string, std::string> got = Outputs(dir.path());
    EXPECT_EQ(got, expected) << "round " << round;
    ProcessResult fsck = Weft(dir.path(), {"fsck"});
    EXPECT_EQ(fsck.exit_code, 0) << "round " << round << "\n" << fsck.out << fsck.err;
    identical += got == expected && fsck.exit_code == 0;
  }
  std::printf("kill -9 test: %d/50 identical to the undisturbed run and fsck-clean "
              "(%d resumed mid-run, %d had finished before the kill, %d killed before the run "
              "was recorded)\n",
              identical, resumed, finished_first, before_record);
  EXPECT_EQ(identical, 50);
}

}  // namespace
}  // namespace weft
