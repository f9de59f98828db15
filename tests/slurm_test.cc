// End-to-end tests of steps on a Slurm compute target: the real weft binary against a real
// one-node cluster (munged, slurmctld, slurmd on loopback), which ctest starts before these tests
// and stops after them (tools/slurm-cluster; SLURM_CONF names it). Without the cluster they fail:
// the fixture says why.
#include <signal.h>

#include <regex>
#include <set>

#include <fmt/format.h>

#include "weft_fixture.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

class SlurmTest : public WeftTest {
 protected:
  void SetUp() override {
    const char* conf = std::getenv("SLURM_CONF");
    ASSERT_TRUE(conf != nullptr && fs::exists(conf))
        << "SLURM_CONF does not name a running test cluster (ctest starts it: slurm_cluster_start)";
    ProcessResult info = testing::Run({"/usr/bin/sinfo", "--noheader", "--format=%t"}, dir_.path());
    ASSERT_EQ(info.exit_code, 0) << info.err;
    ASSERT_TRUE(std::regex_search(info.out, std::regex("^(idle|mix|alloc|comp)", std::regex::multiline)))
        << "the node is not up: " << info.out;
  }
  void Configure(const std::string& extra = "") {
    dir_.Write(".weft/config.yaml", "computes:\n"
                                    "  cpu-cluster: {type: slurm, partition: debug" + extra + "}\n");
  }
  // A pipeline whose job `score` is a parallel step on the cluster: src/score.py's run() over the
  // files of ./data, its rows appended to output `scores`; `settings` are its mini-batch and
  // resource lines (indented as the job's), `more` further jobs.
  static std::string ParallelOnCluster(const std::string& settings, const std::string& more = "") {
    return std::string(R"(
type: pipeline
jobs:
  score:
    type: parallel
    compute: azureml:cpu-cluster
    inputs:
      data: {type: uri_folder, path: ./data}
    outputs:
      scores: {type: uri_folder}
    input_data: ${{inputs.data}}
)") + settings + R"(    task:
      type: run_function
      code: ./src
      entry_script: score.py
      append_row_to: ${{outputs.scores}}
      )" + kEnv + more;
  }
  // Starts `weft run` of a job on the cluster that records each of its runs in $TEST_DIR/runs and
  // sleeps through its first (`more`: further lines of the job); returns once it has started.
  pid_t StartRequeueable(const std::string& more = "") {
    Configure();
    dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: >-
  echo "run ${SLURM_RESTART_COUNT:-0} of job $SLURM_JOB_ID" >> "$TEST_DIR/runs";
  if [ -z "$SLURM_RESTART_COUNT" ]; then sleep 60; fi
)") + more + kEnv);
    return Start({"run", "p.yml"}, dir_.path() + "/runs", dir_.path() + "/run.log");
  }
  // That run `run` (StartRequeueable) succeeded, its job having run twice under one id.
  void ExpectRanTwiceAsOneJob(pid_t run) {
    EXPECT_EQ(Wait(run), 0) << Read(dir_.path() + "/run.log");
    std::string runs = Read(dir_.path() + "/runs");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(runs, m, std::regex("run 0 of job (\\d+)\nrun 1 of job (\\d+)\n"))) << runs;
    EXPECT_EQ(m[1], m[2]) << "the same job, requeued";
    nlohmann::json step = StepJson("main");
    EXPECT_EQ(step["status"], "succeeded") << step.dump();
  }
  // The state squeue gives job `id`.
  static std::string Squeue(const std::string& id) {
    return testing::Run({"/usr/bin/squeue", "--noheader", "--states=all", "--format=%T", "--jobs=" + id}, "/").out;
  }
};

// A step on the cluster and one here, data passed between them by the store; the Slurm job got
// the CPUs and memory the step declared, its log is where `weft logs` reads it, `weft show` names
// the job, and a second run reuses both.
TEST_F(SlurmTest, AStepRunsAsABatchJobAndItsOutputFeedsALocalStep) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
jobs:
  make:
    type: command
    compute: azureml:cpu-cluster
    command: >-
      echo "job=$SLURM_JOB_ID cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE" &&
      echo 21 > ${{outputs.out}}/n.txt
    outputs: {out: {type: uri_folder}}
    resources: {properties: {weft.cpus: 2, weft.memory: 300MB}}
    )") + kEnv + R"(
  double:
    type: command
    command: echo $(( $(cat ${{inputs.n}}/n.txt) * 2 )) > ${{outputs.out}}/n.txt
    inputs:
      n: ${{parent.jobs.make.outputs.out}}
    outputs: {out: {type: uri_folder}}
    )" + kEnv);
  ProcessResult first = Weft({"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(OutputText("double.out"), "42\n");
  ProcessResult log = Weft({"logs", "last", "make"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log.out, m, std::regex("job=(\\d+) cpus=2 mem=300"))) << log.out;
  std::string job = m[1];
  nlohmann::json make = StepJson("make");
  EXPECT_EQ(make["target"], "cpu-cluster") << make.dump();
  EXPECT_EQ(make["job"], "slurm:" + job) << make.dump();
  ASSERT_TRUE(make.contains("slurm")) << make.dump();
  EXPECT_EQ(make["slurm"]["node"].get<std::string>().empty(), false) << make.dump();
  EXPECT_EQ(make["slurm"]["state"], "COMPLETED") << make.dump();
  EXPECT_EQ(StepJson("double")["target"], "local");
  ProcessResult text = Weft({"show", "last"});
  EXPECT_NE(text.out.find("slurm job " + job), std::string::npos) << text.out;

  ProcessResult again = Weft({"run", "p.yml"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{{"make", "reused"}, {"double", "reused"}}));
  EXPECT_NE(Explain("make").find("cpu-cluster"), std::string::npos) << Explain("make");
}

// The node runs the step in the same sandbox as this machine: the workspace is read-only there.
TEST_F(SlurmTest, TheStepIsSandboxedOnTheNode) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: touch "$WEFT_WORKSPACE_PROBE/x" 2>&1 && echo wrote || echo refused
)") + kEnv);
  ::setenv("WEFT_WORKSPACE_PROBE", (dir_.path() + "/.weft").c_str(), 1);
  dir_.Write(".weft/config.yaml", "computes:\n  cpu-cluster: {type: slurm, export: [WEFT_WORKSPACE_PROBE]}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ::unsetenv("WEFT_WORKSPACE_PROBE");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Weft({"logs", "last", "main"}).out.find("refused"), std::string::npos)
      << Weft({"logs", "last", "main"}).out;
  EXPECT_FALSE(fs::exists(dir_.path() + "/.weft/x"));
}

// Setup lines run before the step, in its shell: what they set, it sees.
TEST_F(SlurmTest, SetupLinesRunBeforeTheStep) {
  Configure(", setup: ['export FROM_SETUP=\"set up; $((1+1))\"']");
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo "setup said [$FROM_SETUP]"
)") + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Weft({"logs", "last", "main"}).out.find("setup said [set up; 2]"), std::string::npos);
}

// A step that fails on the node fails the run with its exit code; one that uses more memory than
// it declared is killed by Slurm, and weft says so; a timeout counts as one (with a retry).
TEST_F(SlurmTest, FailuresOnTheClusterAreReportedWithTheirCause) {
  Configure();
  dir_.Write("fail.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo about to fail; exit 3
)") + kEnv);
  ProcessResult failed = Weft({"run", "fail.yml"});
  EXPECT_EQ(failed.exit_code, 1);
  nlohmann::json step = StepJson("main");
  EXPECT_EQ(step["status"], "failed");
  EXPECT_NE(step["message"].get<std::string>().find("exit code 3"), std::string::npos) << step.dump();
  EXPECT_NE(Weft({"logs", "last", "main"}).out.find("about to fail"), std::string::npos);

  dir_.Write("oom.yml", std::string(R"y(
type: command
compute: azureml:cpu-cluster
command: python3 -c "b = bytearray(600 * 1024 * 1024); print(len(b))"
resources: {properties: {weft.memory: 200MB}}
)y") + kEnv);
  ProcessResult oom = Weft({"run", "oom.yml"});
  EXPECT_EQ(oom.exit_code, 1) << oom.err;
  step = StepJson("main");
  EXPECT_EQ(step["status"], "failed");
  EXPECT_NE(step["message"].get<std::string>().find("killed by Slurm: out of memory (200 MB)"),
            std::string::npos)
      << step.dump();
  EXPECT_EQ(step["slurm"]["state"], "OUT_OF_MEMORY") << step.dump();

  dir_.Write("slow.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo attempt >> "$TEST_DIR/attempts"; sleep 60
limits: {timeout: 1}
resources: {properties: {weft.retries: 1, weft.retry_delay: 0}}
)") + kEnv);
  ProcessResult slow = Weft({"run", "slow.yml"});
  EXPECT_EQ(slow.exit_code, 1);
  EXPECT_EQ(StepJson("main")["status"], "timed_out");
  EXPECT_EQ(Read(dir_.path() + "/attempts"), "attempt\nattempt\n");
}

// A job cancelled with scancel behind weft's back fails its step, saying so, without a retry.
TEST_F(SlurmTest, AJobCancelledOutsideWeftFailsItsStep) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo $SLURM_JOB_ID > "$TEST_DIR/job"; sleep 60
resources: {properties: {weft.retries: 2}}
)") + kEnv);
  pid_t run = Start({"run", "p.yml"}, dir_.path() + "/job", dir_.path() + "/run.log");
  std::string job = Read(dir_.path() + "/job");
  job = job.substr(0, job.find('\n'));
  ASSERT_FALSE(job.empty());
  ASSERT_EQ(testing::Run({"/usr/bin/scancel", job}, "/").exit_code, 0);
  EXPECT_EQ(Wait(run), 1) << Read(dir_.path() + "/run.log");
  nlohmann::json step = StepJson("main");
  EXPECT_EQ(step["status"], "failed");
  EXPECT_NE(step["message"].get<std::string>().find("cancelled outside weft"), std::string::npos)
      << step.dump();
}

// `weft cancel` (and Ctrl-C) stop the Slurm job: scancel, and the step is canceled.
TEST_F(SlurmTest, CancellingTheRunCancelsTheJob) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo $SLURM_JOB_ID > "$TEST_DIR/job"; sleep 60
)") + kEnv);
  pid_t run = Start({"run", "p.yml"}, dir_.path() + "/job", dir_.path() + "/run.log");
  std::string job = Read(dir_.path() + "/job");
  job = job.substr(0, job.find('\n'));
  ::kill(run, SIGINT);
  EXPECT_EQ(Wait(run), 130) << Read(dir_.path() + "/run.log");
  EXPECT_EQ(StepJson("main")["status"], "canceled");
  std::string state;
  for (int i = 0; i < 100; ++i) {
    state = Squeue(job);
    if (state.find("CANCELLED") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(state.find("CANCELLED"), std::string::npos) << state;
}

// After kill -9 of weft the job keeps running on the cluster; `weft resume` re-attaches to it by
// its job id (nothing is submitted twice) and collects its result.
TEST_F(SlurmTest, ResumeReattachesToTheJobAKilledWeftLeft) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: pipeline
jobs:
  long:
    type: command
    compute: azureml:cpu-cluster
    command: >-
      echo $SLURM_JOB_ID >> "$TEST_DIR/jobs";
      while [ ! -e "$TEST_DIR/go" ]; do sleep 0.1; done;
      echo done > ${{outputs.out}}/r.txt
    outputs: {out: {type: uri_folder}}
    )") + kEnv + R"(
  after:
    type: command
    command: cat ${{inputs.r}}/r.txt > ${{outputs.out}}/r.txt
    inputs:
      r: ${{parent.jobs.long.outputs.out}}
    outputs: {out: {type: uri_folder}}
    )" + kEnv);
  pid_t run = Start({"run", "p.yml"}, dir_.path() + "/jobs");
  ASSERT_TRUE(fs::exists(dir_.path() + "/jobs"));
  ::kill(run, SIGKILL);
  Wait(run);
  std::string job = Read(dir_.path() + "/jobs");
  job = job.substr(0, job.find('\n'));
  EXPECT_NE(Squeue(job).find("RUNNING"), std::string::npos) << "the job outlives weft";
  dir_.Write("go", "");
  ProcessResult resume = Weft({"resume", "last"});
  ASSERT_EQ(resume.exit_code, 0) << resume.out << resume.err;
  EXPECT_NE(resume.err.find("re-attached to the job"), std::string::npos) << resume.err;
  EXPECT_EQ(Read(dir_.path() + "/jobs"), job + "\n") << "submitted once";
  EXPECT_EQ(OutputText("after.out"), "done\n");
}

// A distributed step gets one Slurm task per process, each told its rank by Slurm's variables.
TEST_F(SlurmTest, ADistributedStepRunsOneTaskPerProcess) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: echo "rank $RANK of $WORLD_SIZE local $LOCAL_RANK master $MASTER_ADDR:$MASTER_PORT" >> "$TEST_DIR/ranks"
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 1}
)") + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Weft({"logs", "last", "main"}).out;
  std::string ranks = Read(dir_.path() + "/ranks");
  EXPECT_TRUE(std::regex_search(ranks, std::regex("rank 0 of 2 local 0 master localhost:29\\d\\d\\d"))) << ranks;
  EXPECT_TRUE(std::regex_search(ranks, std::regex("rank 1 of 2 local 1 master localhost:29\\d\\d\\d"))) << ranks;
}

// A parallel step's instances are the tasks of one Slurm job array, which claim mini-batches from
// the shared workspace folder: every item is scored once, whichever task claimed it.
TEST_F(SlurmTest, AParallelStepsInstancesAreOneJobArrayAndShareTheMiniBatches) {
  Configure();
  for (int k = 0; k < 40; ++k) dir_.Write(fmt::format("data/f{:04d}.txt", k), std::to_string(k));
  dir_.Write("src/score.py",
             "import os\n"
             "def init():\n    pass\n\n"
             "def run(mini_batch):\n"
             "    task = os.environ['SLURM_ARRAY_JOB_ID'] + '_' + os.environ['SLURM_ARRAY_TASK_ID']\n"
             "    return [os.path.basename(p) + ' ' + task for p in mini_batch]\n");
  dir_.Write("p.yml", ParallelOnCluster("    mini_batch_size: \"4\"\n"
                                         "    resources: {instance_count: 3}\n"
                                         "    max_concurrency_per_instance: 2\n",
                                         R"(
  count:
    command: cp ${{inputs.s}}/parallel_run_step.txt ${{outputs.rows}}
    inputs:
      s: ${{parent.jobs.score.outputs.scores}}
    outputs:
      rows: {type: uri_file}
    )" + std::string(kEnv)));
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::istringstream rows(OutputText("count.rows"));
  std::set<std::string> files, tasks;
  for (std::string line; std::getline(rows, line);) {
    std::string file = line.substr(0, line.find(' '));
    EXPECT_TRUE(files.insert(file).second) << file << " scored twice";
    tasks.insert(line.substr(line.find(' ') + 1));
  }
  EXPECT_EQ(files.size(), 40u);
  nlohmann::json step = StepJson("score");
  EXPECT_EQ(step["target"], "cpu-cluster");
  // The instances are tasks 0..2 of one array, each running two workers; the tasks that scored
  // are among them.
  ASSERT_EQ(step["jobs"].size(), 6u) << step.dump();
  std::smatch m;
  std::string first = step["jobs"][0]["job_id"];
  ASSERT_TRUE(std::regex_match(first, m, std::regex("slurm:(\\d+)_0"))) << first;
  std::string array = m[1];
  for (int k = 0; k < 6; ++k) {
    EXPECT_EQ(step["jobs"][k]["job_id"], fmt::format("slurm:{}_{}", array, k / 2)) << step.dump();
  }
  // Each task asked for its two workers' CPUs.
  ProcessResult asked = testing::Run({"/usr/bin/scontrol", "show", "job", array + "_1"}, "/");
  EXPECT_NE(asked.out.find("NumCPUs=2"), std::string::npos) << asked.out;
  for (const std::string& task : tasks) EXPECT_EQ(task.rfind(array + "_", 0), 0u) << task;
}

// After kill -9 of weft, a parallel step's array tasks cannot be re-attached to one by one: the
// next weft stops them, and `weft resume` runs the step again, reusing what finished.
TEST_F(SlurmTest, ResumeStopsTheArrayTasksAKilledWeftLeftAndRunsTheStepAgain) {
  Configure();
  for (int k = 0; k < 6; ++k) dir_.Write(fmt::format("data/f{}.txt", k), std::to_string(k));
  dir_.Write("src/score.py",
             "import os, time\n"
             "def init():\n    pass\n\n"
             "def run(mini_batch):\n"
             "    with open(os.environ['TEST_DIR'] + '/tasks', 'a') as f:\n"
             "        f.write(os.environ['SLURM_ARRAY_JOB_ID'] + '\\n')\n"
             "    while not os.path.exists(os.environ['TEST_DIR'] + '/go'):\n"
             "        time.sleep(0.1)\n"
             "    return [os.path.basename(p) for p in mini_batch]\n");
  dir_.Write("p.yml", ParallelOnCluster("    mini_batch_size: \"1\"\n    resources: {instance_count: 2}\n"));
  pid_t run = Start({"run", "p.yml"}, dir_.path() + "/tasks", dir_.path() + "/run.log");
  ASSERT_TRUE(fs::exists(dir_.path() + "/tasks")) << Read(dir_.path() + "/run.log");
  ::kill(run, SIGKILL);
  Wait(run);
  std::string first = Read(dir_.path() + "/tasks");
  first = first.substr(0, first.find('\n'));
  EXPECT_NE(Squeue(first).find("RUNNING"), std::string::npos) << "the array outlives weft";
  pid_t resume = Start({"resume", "last"}, "", dir_.path() + "/resume.log");
  // The killed weft's tasks are stopped, not left to run beside the new ones.
  std::string state = Squeue(first);  // (COMPLETING for a moment, then CANCELLED)
  for (int i = 0; i < 100 && state.find("CANCELLED") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = Squeue(first);
  }
  EXPECT_NE(state.find("CANCELLED"), std::string::npos) << state;
  EXPECT_EQ(state.find("RUNNING"), std::string::npos) << state;
  dir_.Write("go", "");
  ASSERT_EQ(Wait(resume), 0) << Read(dir_.path() + "/resume.log");
  EXPECT_EQ(StepJson("score")["status"], "succeeded");
  std::string rows = OutputText("score.scores");
  for (int k = 0; k < 6; ++k) EXPECT_NE(rows.find(fmt::format("f{}.txt", k)), std::string::npos) << rows;
}

// A job preempted by one of a higher-priority partition: Slurm requeues it (same job id), it runs
// again when the node is free, and the step succeeds without using a retry. Slurm delays a
// requeued job's start by its own rules, so this test is in the slow tier.
TEST_F(SlurmTest, SlowTierAPreemptedJobIsRequeuedWithoutUsingARetry) {
  pid_t run = StartRequeueable("resources: {properties: {weft.cpus: 8}}\n");
  ASSERT_TRUE(fs::exists(dir_.path() + "/runs"));
  // The whole node, asked for in the partition whose jobs preempt.
  ProcessResult urgent = testing::Run({"/usr/bin/sbatch", "--parsable", "--partition=urgent",
                                       "--cpus-per-task=8", "--wrap=sleep 2"}, "/tmp");
  ASSERT_EQ(urgent.exit_code, 0) << urgent.err;
  // While it waits to run again, what its first run wrote is not shown as the job's state.
  std::string job = Read(dir_.path() + "/runs");
  job = job.substr(job.rfind(' ') + 1);
  job.pop_back();
  for (int i = 0; i < 300 && Squeue(job).find("PENDING") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(Squeue(job).find("PENDING"), std::string::npos) << Squeue(job);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // (weft asks Slurm every 2 s)
  nlohmann::json waiting = StepJson("main");
  EXPECT_FALSE(waiting.contains("slurm")) << waiting.dump();
  EXPECT_EQ(waiting["status"], "running") << waiting.dump();
  ExpectRanTwiceAsOneJob(run);
}

// A node lost under a running job: Slurm requeues it (same job id), it runs again, and the step
// succeeds without using a retry (it has none). Downing the cluster's one node stops every other
// job too, so this test runs alone, in the slow tier.
TEST_F(SlurmTest, SlowTierAJobWhoseNodeFailedIsRequeuedWithoutUsingARetry) {
  pid_t run = StartRequeueable();
  ASSERT_TRUE(fs::exists(dir_.path() + "/runs"));
  auto node = [](const char* state) {
    return testing::Run({"/usr/bin/scontrol", "update", "nodename=localhost",
                         std::string("state=") + state, "reason=weft-test"}, "/");
  };
  ASSERT_EQ(node("down").exit_code, 0);
  // (The test cluster returns a node to service as soon as its slurmd registers again: resuming
  // it may find it up already. Slurm starts a requeued job again after a delay of its own.)
  std::this_thread::sleep_for(std::chrono::seconds(3));
  node("resume");
  ExpectRanTwiceAsOneJob(run);
}

// What the cluster refuses is said before or as the step starts, naming it.
TEST_F(SlurmTest, WhatTheClusterCannotDoIsAClearError) {
  dir_.Write(".weft/config.yaml", "computes:\n  cpu-cluster: {type: slurm, partition: nosuch}\n");
  dir_.Write("p.yml", std::string(R"(
type: command
compute: azureml:cpu-cluster
command: "true"
)") + kEnv);
  ProcessResult bad = Weft({"run", "p.yml"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no partition `nosuch`"), std::string::npos) << bad.err;

  Configure(", sbatch_args: [--nodes=5]");
  ProcessResult refused = Weft({"run", "p.yml"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  nlohmann::json step = StepJson("main");
  EXPECT_NE(step["message"].get<std::string>().find("cannot run job"), std::string::npos) << step.dump();
  EXPECT_NE(step["message"].get<std::string>().find("pends for Partition"), std::string::npos) << step.dump();
}

}  // namespace
}  // namespace weft::testing
