// End-to-end tests of how a run ends, however it ends: kill -9 of weft, Ctrl-C in every phase,
// the terminal closing, a closed output pipe. What they check is what users lose trust over:
// processes that outlive their run, runs that stay "running" forever, steps that start after
// Ctrl-C.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "weft_fixture.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::kEnv;
using testing::ProcessResult;
using testing::Read;

// A process as recorded by a step: its pid and its start time (so that a reused pid is never
// taken for it).
struct Proc {
  int64_t pid = 0;
  std::string start;
};

std::string StartTime(int64_t pid) {
  std::string stat = Read("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 2));
  std::string field, state;
  rest >> state;
  if (state == "Z" || state == "X") return {};  // ended, waiting to be collected: not alive
  for (int i = 4; i <= 22 && rest >> field; ++i) {
    if (i == 22) return field;
  }
  return {};
}

bool Alive(const Proc& p) { return !p.start.empty() && StartTime(p.pid) == p.start; }

// Waits up to `ms` for every process to have ended; returns those still alive.
std::vector<int64_t> Survivors(const std::vector<Proc>& procs, int ms = 3000) {
  std::vector<int64_t> alive;
  for (int waited = 0; waited <= ms; waited += 50) {
    alive.clear();
    for (const Proc& p : procs) {
      if (Alive(p)) alive.push_back(p.pid);
    }
    if (alive.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return alive;
}

class LifecycleTest : public testing::WeftTest {
 protected:
  // A step whose shell records its pid, then starts a grandchild in a new session (out of the
  // step's process group) that ignores SIGTERM, records its pid too, and then waits (in `sleep`:
  // three processes). With `$TEST_DIR/fast` present it does nothing of that and succeeds at once
  // (for resumed runs). Pids are read from /proc/self/stat by the shell itself, so they are the
  // host's even inside a PID namespace.
  void WriteStubbornPipeline(const std::string& name = "p.yml") {
    dir_.Write(name, std::string(R"(type: pipeline
jobs:
  stubborn:
    command: >-
      if test -e "$TEST_DIR/fast"; then echo done > ${{outputs.o}}/v; exit 0; fi;
      read -r me rest < /proc/self/stat; echo $me >> "$TEST_DIR/pids";
      setsid -f bash -c 'trap "" TERM; read -r me rest < /proc/self/stat; echo $me >> "$TEST_DIR/pids"; exec sleep 300';
      while test $(wc -l < "$TEST_DIR/pids") -lt 2; do sleep 0.05; done;
      touch "$TEST_DIR/started"; sleep 300
    outputs: {o: }
    )") + kEnv);
  }
  std::vector<Proc> Recorded() {
    std::vector<Proc> out;
    std::istringstream in(Read(dir_.path() + "/pids"));
    for (int64_t pid; in >> pid;) out.push_back({pid, StartTime(pid)});
    return out;
  }
  // Starts a run of the stubborn pipeline, waits until both of its processes run, kills weft
  // with SIGKILL, and returns the step's processes (checked alive).
  std::vector<Proc> KillWeftMidStep() {
    fs::remove(dir_.path() + "/pids");
    pid_t owner = Start({"run", "p.yml", "--force"}, dir_.path() + "/started");
    EXPECT_TRUE(fs::exists(dir_.path() + "/started"));
    std::vector<Proc> procs = Recorded();
    EXPECT_EQ(procs.size(), 2u);
    for (const Proc& p : procs) EXPECT_TRUE(Alive(p)) << p.pid;
    ::kill(owner, SIGKILL);
    Wait(owner);
    return procs;
  }
};

// The step's shell and a grandchild in another session that ignores SIGTERM: after kill -9 of
// weft, `weft cancel`, `weft resume` and a later `weft run` each leave none of them alive.
TEST_F(LifecycleTest, NoProcessOfAStepOutlivesItsRun) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  WriteStubbornPipeline();
  dir_.Write("other.yml", std::string("type: pipeline\njobs:\n  quick:\n    command: 'true'\n    ") + kEnv);

  std::vector<Proc> procs = KillWeftMidStep();
  ProcessResult cancel = Weft({"cancel", "last"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(Survivors(procs, 0), std::vector<int64_t>{}) << "after weft cancel";
  EXPECT_NE(cancel.out.find("weft stopped the 3 processes its steps left (none remains)"),
            std::string::npos)
      << cancel.out;
  EXPECT_EQ(Statuses()["stubborn"], "canceled");

  procs = KillWeftMidStep();
  dir_.Write("fast", "");
  ProcessResult resume = Weft({"resume", "last"});
  EXPECT_EQ(resume.exit_code, 0) << resume.out << resume.err;
  EXPECT_EQ(Survivors(procs, 0), std::vector<int64_t>{}) << "after weft resume";
  EXPECT_EQ(Statuses()["stubborn"], "succeeded");
  fs::remove(dir_.path() + "/fast");

  procs = KillWeftMidStep();
  ProcessResult later = Weft({"run", "other.yml"});
  EXPECT_EQ(later.exit_code, 0) << later.out << later.err;
  EXPECT_EQ(Survivors(procs, 0), std::vector<int64_t>{}) << "after a later weft run";
  nlohmann::json runs = nlohmann::json::parse(Weft({"runs", "--json"}).out);
  EXPECT_EQ(runs[1]["status"], "interrupted");
}

// After kill -9 of weft its run is never shown as running: `runs` and `show` say interrupted,
// `logs -f` stops, and `weft run` notes only the newest interrupted run of the same file, until a
// later run of it succeeds. A live run's duration counts up.
TEST_F(LifecycleTest, ADeadRunIsNeverShownRunning) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  WriteStubbornPipeline();
  pid_t owner = Start({"run", "p.yml"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  auto duration = [&] {
    std::string out = Weft({"runs"}).out;
    size_t at = out.find("r1     running");
    EXPECT_NE(at, std::string::npos) << out;
    return at == std::string::npos ? 0.0 : std::stod(out.substr(at + 14));
  };
  double d1 = duration();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  double d2 = duration();
  EXPECT_GE(d2, d1 + 1.0) << "a live run's duration counts up";
  pid_t follower = Start({"logs", "-f", "last", "stubborn"}, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(owner, SIGKILL);
  Wait(owner);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Wait(follower), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "logs -f kept following a dead run";
  EXPECT_NE(Weft({"show", "r1"}).out.find("run r1  interrupted"), std::string::npos);
  EXPECT_EQ(Statuses("r1")["stubborn"], "interrupted");

  // A second one dies too: only the newer is noted.
  KillWeftMidStep();
  dir_.Write("fast", "");
  ProcessResult r3 = Weft({"run", "p.yml", "--force"});
  EXPECT_EQ(r3.exit_code, 0) << r3.out << r3.err;
  EXPECT_NE(r3.err.find("note: run r2 of p.yml was interrupted"), std::string::npos) << r3.err;
  EXPECT_EQ(r3.err.find("run r1"), std::string::npos) << r3.err;
  // r3 succeeded since: nothing to note any more.
  ProcessResult r4 = Weft({"run", "p.yml"});
  EXPECT_EQ(r4.err.find("note:"), std::string::npos) << r4.err;
}

// Without root weft makes no cgroups: every step runs in its own PID namespace (bubblewrap), which
// dies with weft, taking the grandchild that ignores SIGTERM along.
TEST_F(LifecycleTest, WithoutRootAStepsProcessesDieWithWeft) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  WriteStubbornPipeline();
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    ::chown(e.path().c_str(), 65534, 65534);
  }
  ::chown(dir_.path().c_str(), 65534, 65534);
  pid_t owner = ::fork();
  if (owner == 0) {
    ::chdir(dir_.path().c_str());
    int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::setenv("HOME", dir_.path().c_str(), 1);
    ::execl("/usr/bin/setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            WEFT_BINARY, "run", "p.yml", nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200 && !fs::exists(dir_.path() + "/started"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  std::vector<Proc> procs = Recorded();
  ASSERT_EQ(procs.size(), 2u);
  for (const Proc& p : procs) EXPECT_TRUE(Alive(p)) << p.pid;
  ::kill(owner, SIGKILL);
  Wait(owner);
  EXPECT_EQ(Survivors(procs), std::vector<int64_t>{}) << "with no weft command after the kill";
}

// SIGHUP (the terminal or tmux session closed) and SIGQUIT cancel a run like Ctrl-C: the steps
// are stopped, the run is recorded canceled, weft exits 130. Under nohup, SIGHUP is ignored.
TEST_F(LifecycleTest, HangupAndQuitCancelTheRunAndNohupKeepsItGoing) {
  WEFT_LOCAL_ONLY("signals to the weft process that hosts a run here");
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  slow:
    command: touch "$TEST_DIR/started"; sleep 30; touch "$TEST_DIR/finished"
    )") + kEnv);
  for (int sig : {SIGHUP, SIGQUIT, SIGTERM}) {
    pid_t pid = Start({"run", "p.yml", "--force"}, dir_.path() + "/started");
    ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
    ::kill(pid, sig);
    EXPECT_EQ(Wait(pid), 130) << strsignal(sig);
    EXPECT_EQ(Statuses()["slow"], "canceled") << strsignal(sig);
    nlohmann::json runs = nlohmann::json::parse(Weft({"runs", "--json"}).out);
    EXPECT_EQ(runs[0]["status"], "canceled") << strsignal(sig);
  }
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  slow:
    command: touch "$TEST_DIR/started"; sleep 1; echo ok > ${{outputs.o}}/v
    outputs: {o: }
    )") + kEnv);
  fs::remove(dir_.path() + "/started");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::chdir(dir_.path().c_str());
    int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::execl("/usr/bin/nohup", "nohup", WEFT_BINARY, "run", "p.yml", nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200 && !fs::exists(dir_.path() + "/started"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGHUP);
  EXPECT_EQ(Wait(pid), 0) << "nohup must keep the run going";
  EXPECT_EQ(Statuses()["slow"], "succeeded");
}

// `weft run p.yml | head -2`: once head has gone, weft's output is a closed pipe; weft stops
// printing, finishes the run and exits by its result.
TEST_F(LifecycleTest, AClosedOutputPipeDoesNotStopTheRun) {
  std::string jobs;
  for (int i = 0; i < 6; ++i) {
    jobs += "  s" + std::to_string(i) + ":\n    command: sleep 0.3; echo " + std::to_string(i) +
            " > ${{outputs.o}}/v\n    outputs: {o: }\n    " + kEnv;
  }
  dir_.Write("p.yml", "type: pipeline\njobs:\n" + jobs);
  ServeOnce();  // (through a server: before the command below, which is run as it is)
  ProcessResult r = testing::Run(
      {"/bin/bash", "-c", std::string("'") + WEFT_BINARY + "' run p.yml 2>&1 | head -2; echo \"${PIPESTATUS[0]}\""},
      dir_.path());
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[2], "0") << "weft's own exit code, by the run's result";
  nlohmann::json runs = nlohmann::json::parse(Weft({"runs", "--json"}).out);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  for (const auto& [step, status] : Statuses()) EXPECT_EQ(status, "succeeded") << step;
}

// Ctrl-C while weft snapshots a large input: it stops at once (not after hashing everything),
// exits 130, starts no step and records no run.
TEST_F(LifecycleTest, CtrlCDuringTheFirstSnapshotStopsAtOnceAndStartsNothing) {
  // 400 MB in 100 files: seconds to copy and hash here.
  std::string block(1 << 20, 'x');
  for (int f = 0; f < 100; ++f) {
    std::ofstream out(dir_.path() + "/data/f" + std::to_string(f),
                      std::ios::binary | std::ios::trunc);
    if (!out) fs::create_directories(dir_.path() + "/data");
    std::ofstream again(dir_.path() + "/data/f" + std::to_string(f), std::ios::binary);
    for (int k = 0; k < 4; ++k) {
      block[0] = static_cast<char>('a' + (f + k) % 26);  // no two files alike
      block[1] = static_cast<char>('a' + f / 26);
      block[2] = static_cast<char>('a' + k);
      again << block;
    }
  }
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {d: {type: uri_folder, path: ./data}}
jobs:
  use:
    command: touch "$TEST_DIR/step-started"
    inputs: {d: "${{parent.inputs.d}}"}
    )") + kEnv);
  pid_t pid = Start({"run", "p.yml"}, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // inside the snapshot
  auto sent = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  int code = Wait(pid);
  auto took = std::chrono::steady_clock::now() - sent;  // from the Ctrl-C, not from weft's start
  EXPECT_EQ(code, 130);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_FALSE(fs::exists(dir_.path() + "/step-started"));
  EXPECT_EQ(Weft({"runs", "--json"}).out, "[]\n");
  // Nothing half-made is left in the store to be trusted later.
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/.weft/store/tmp"));
}

// A second Ctrl-C skips the grace period a step gets after the first.
TEST_F(LifecycleTest, ASecondCtrlCKillsStepsAtOnce) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  deaf:
    command: trap '' TERM INT; touch "$TEST_DIR/started"; sleep 30
    )") + kEnv);
  pid_t pid = Start({"run", "p.yml"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGINT);
  EXPECT_EQ(Wait(pid), 130);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
      << "the 5 s grace period was not skipped";
  EXPECT_EQ(Statuses()["deaf"], "canceled");
}

// A command far longer than one argument may be (128 KiB) runs, and the programs it starts get
// more than the usual 2 MiB of arguments: 3 MB of words here, to an external program.
TEST_F(LifecycleTest, CommandsLongerThanTheArgumentLimitsRun) {
  std::string words;
  for (int i = 0; i < 3000; ++i) words += std::string(999, 'a' + i % 26) + " ";
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {many: ")") + words + R"("}
jobs:
  count:
    command: /usr/bin/printf '%s\n' ${{inputs.many}} | wc -l > ${{outputs.o}}/n
    inputs: {many: "${{parent.inputs.many}}"}
    outputs: {o: }
    )" + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(Weft({"get", "last", "count.o", "got"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got/n"), "3000\n");
}

}  // namespace
}  // namespace weft
