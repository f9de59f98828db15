// End-to-end tests of `weft run` and the commands that read runs: real processes, a real SQLite
// file, a real store, in a temporary folder per test.
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "weft_fixture.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

using RunTest = testing::WeftTest;
using testing::Read;
using testing::kEnv;


// prep counts the lines of a data file; train reads the count and a learning rate; report
// reads the count. Each component has its own code folder; train and report share `lib/`.
void WriteReusePipeline(const testing::TempDir& d) {
  d.Write("data/rows.csv", "a\nb\nc\n");
  d.Write("prep/prep.sh", "wc -l < \"$1\" > \"$2/count.txt\"\n");
  d.Write("train/train.sh", "echo \"lr=$2 count=$(cat \"$1/count.txt\")\" > \"$3/model.txt\"\n");
  d.Write("shared/lib.sh", "helper=1\n");
  d.Write("pipeline.yml", std::string(R"(type: pipeline
experiment_name: reuse
inputs:
  rows: {type: uri_file, path: ./data/rows.csv}
  lr: 0.1
jobs:
  prep:
    command: bash prep.sh ${{inputs.rows}} ${{outputs.counted}}
    code: ./prep
    )") + kEnv + R"(    inputs: {rows: "${{parent.inputs.rows}}"}
    outputs: {counted: {type: uri_folder}}
  train:
    command: bash train.sh ${{inputs.counted}} ${{inputs.lr}} ${{outputs.model}}
    code: ./train
    )" + kEnv + R"(    inputs:
      counted: ${{parent.jobs.prep.outputs.counted}}
      lr: ${{parent.inputs.lr}}
    outputs: {model: {type: uri_folder}}
  report:
    command: cat ${{inputs.counted}}/count.txt
    )" + kEnv + R"(    inputs: {counted: "${{parent.jobs.prep.outputs.counted}}"}
)");
}

TEST_F(RunTest, ReuseFollowsContentAndExplainsWhy) {
  WriteReusePipeline(dir_);
  ProcessResult first = Weft({"run", "pipeline.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find(weft::testing::ThroughServer() ? "run r1 on " + server_->url()
                                            : "run r1 in workspace " + dir_.path() + "/.weft"),
            std::string::npos);
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{
                            {"prep", "succeeded"}, {"train", "succeeded"}, {"report", "succeeded"}}));
  ProcessResult get = Weft({"get", "last", "train.model", "model_copy"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Read(dir_.path() + "/model_copy/model.txt"), "lr=0.1 count=3\n");

  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{
                            {"prep", "reused"}, {"train", "reused"}, {"report", "reused"}}));

  // --dry-run says what would happen and why, and runs nothing.
  ProcessResult dry = Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would-reuse prep"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("would-run  train  input lr 0.1 -> 0.2"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("would-reuse report"), std::string::npos) << dry.out;
  ProcessResult runs = Weft({"runs", "--json"});
  EXPECT_EQ(nlohmann::json::parse(runs.out).size(), 2u);

  // A literal: only train reruns.
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "succeeded");
  EXPECT_EQ(Statuses()["prep"], "reused");
  EXPECT_EQ(Statuses()["report"], "reused");
  EXPECT_NE(Explain("train").find("input lr 0.1 -> 0.2"), std::string::npos) << Explain("train");

  // A code file: only the step whose code folder holds it.
  dir_.Write("train/train.sh", "echo \"lr=$2 count=$(cat \"$1/count.txt\") v2\" > \"$3/model.txt\"\n");
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "succeeded");
  EXPECT_EQ(Statuses()["prep"], "reused");
  EXPECT_NE(Explain("train").find("code file train.sh changed"), std::string::npos)
      << Explain("train");

  // The data changes but its line count does not: prep reruns, its output is identical, so its
  // consumers are reused and explain says so.
  dir_.Write("data/rows.csv", "x\ny\nz\n");
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  EXPECT_EQ(Statuses()["prep"], "succeeded");
  EXPECT_EQ(Statuses()["train"], "reused");
  EXPECT_EQ(Statuses()["report"], "reused");
  EXPECT_NE(Explain("prep").find("input rows sha256:"), std::string::npos) << Explain("prep");
  EXPECT_NE(Explain("report").find("upstream prep reran, output identical: reused"),
            std::string::npos)
      << Explain("report");
}

// Most users are not root: code folders, data files and folder outputs enter the store, a rerun
// reuses them, and fsck and gc find the store whole (read-only folders cannot move unless root
// moves them).
TEST_F(RunTest, AUserWithoutRootRunsReusesAndKeepsTheStoreWhole) {
  WEFT_LOCAL_ONLY("runs the weft binary as another user");
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  WriteReusePipeline(dir_);
  ::chown(dir_.path().c_str(), 65534, 65534);
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    ::chown(e.path().c_str(), 65534, 65534);
  }
  auto as_nobody = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "HOME=" + dir_.path(), "/usr/bin/setpriv",
                               "--reuid=65534", "--regid=65534", "--clear-groups", WEFT_BINARY});
    return testing::Run(args, dir_.path());
  };
  ProcessResult first = as_nobody({"run", "pipeline.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{
                            {"prep", "succeeded"}, {"train", "succeeded"}, {"report", "succeeded"}}));
  ProcessResult again = as_nobody({"run", "pipeline.yml"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Statuses()["train"], "reused");
  ProcessResult get = as_nobody({"get", "last", "train.model", "model_copy"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Read(dir_.path() + "/model_copy/model.txt"), "lr=0.1 count=3\n");
  ProcessResult fsck = as_nobody({"fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_NE(fsck.out.find("all intact"), std::string::npos) << fsck.out;
  // gc takes objects out of the store by moving them: as their owner, not as root.
  ProcessResult gc = as_nobody({"gc", "--keep-runs", "0"});
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_EQ(gc.out.find("removed 0 of"), std::string::npos) << gc.out;
  ProcessResult after = as_nobody({"fsck"});
  EXPECT_NE(after.out.find("all intact"), std::string::npos) << after.out << after.err;
}

// `weft hash` names a path as the store does: a snapshotted data file and code folder are found
// under the digests it prints.
// Control characters in a value are shown escaped by explain, never sent to the terminal.
TEST_F(RunTest, ExplainEscapesControlCharacters) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {note: hello}
jobs:
  say:
    command: echo ${{inputs.note}}
    inputs: {note: "${{parent.inputs.note}}"}
    )") + kEnv);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "p.yml", "--set", "inputs.note=x\x1b[2Jy\nz"}).exit_code, 0);
  std::string escaped = Explain("say");
  EXPECT_NE(escaped.find("input note hello -> x\\x1b[2Jy\\nz"), std::string::npos) << escaped;
  EXPECT_EQ(escaped.find('\x1b'), std::string::npos);
}

TEST_F(RunTest, HashNamesPathsAsTheStoreDoes) {
  WriteReusePipeline(dir_);
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  for (const char* path : {"data/rows.csv", "prep"}) {
    ProcessResult r = Weft({"hash", path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out.rfind("sha256:", 0), 0u) << r.out;
    std::string hex = r.out.substr(7, 64);
    EXPECT_TRUE(fs::is_directory(dir_.path() + "/.weft/store/objects/" + hex)) << path;
    EXPECT_NE(r.out.find("  " + std::string(path)), std::string::npos);
  }
  std::string before = Weft({"hash", "data/rows.csv"}).out;
  dir_.Write("data/rows.csv", "a\n");
  EXPECT_NE(Weft({"hash", "data/rows.csv"}).out, before);
  ProcessResult missing = Weft({"hash", "nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope: does not exist"), std::string::npos) << missing.err;
}

// What a run warned of, when it was loaded and while it ran, is kept with it: `weft show` says it
// later, in order, and a run without warnings shows none.
TEST_F(RunTest, ShowSaysWhatTheRunWarnedOf) {
  dir_.Write("p.yml", R"(type: pipeline
jobs:
  train:
    command: echo 'not json' >> "$WEFT_METRICS"
    environment: azureml:not-registered-here:1
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json show = nlohmann::json::parse(Weft({"show", "last", "--json"}).out);
  ASSERT_EQ(show["warnings"].size(), 2u) << show.dump();
  EXPECT_EQ(show["warnings"][0].get<std::string>().rfind(
                "p.yml:5:18: warning: environment `azureml:not-registered-here:1` is not registered", 0),
            0u)
      << show["warnings"][0];
  EXPECT_NE(show["warnings"][1].get<std::string>().find("step train: "), std::string::npos);
  EXPECT_NE(show["warnings"][1].get<std::string>().find("line 1: not a JSON object (skipped)"),
            std::string::npos)
      << show["warnings"][1];
  ProcessResult text = Weft({"show", "last"});
  EXPECT_NE(text.out.find("\nwarnings:\n  p.yml:5:18: warning: environment"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("\n    hint: register it"), std::string::npos) << text.out;
  // A reused run warned of the environment again, and of nothing the step did: it did not run.
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  show = nlohmann::json::parse(Weft({"show", "last", "--json"}).out);
  EXPECT_EQ(show["warnings"].size(), 1u) << show.dump();
  dir_.Write("q.yml", std::string("type: pipeline\njobs:\n  quiet:\n    command: 'true'\n    ") + kEnv);
  ASSERT_EQ(Weft({"run", "q.yml"}).exit_code, 0);
  EXPECT_EQ(Weft({"show", "last"}).out.find("warnings:"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(Weft({"show", "last", "--json"}).out)["warnings"].size(), 0u);
}

// Steps log metrics as JSON lines or with `weft log-metric`; `weft metrics` shows them, and a
// reused step's metrics are those of the attempt it reuses.
TEST_F(RunTest, MetricsFromJsonLinesAndLogMetric) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  train:
    command: >-
      echo '{"name": "acc", "value": 0.5, "step": 1}' >> "$WEFT_METRICS" &&
      weft log-metric acc 0.75 --step 2 &&
      weft log-metric loss 1e-3 &&
      echo 'not json' >> "$WEFT_METRICS"
    )") + kEnv);
  ProcessResult first = Weft({"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE((first.out + first.err).find("line 4: not a JSON object (skipped)"), std::string::npos)
      << first.out << first.err;
  ProcessResult m = Weft({"metrics", "last", "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  nlohmann::json j = nlohmann::json::parse(m.out);
  ASSERT_EQ(j.size(), 1u);
  ASSERT_EQ(j[0]["metrics"].size(), 2u);
  EXPECT_EQ(j[0]["metrics"][0]["name"], "acc");
  EXPECT_EQ(j[0]["metrics"][0]["latest"], 0.75);
  EXPECT_EQ(j[0]["metrics"][0]["min"], 0.5);
  EXPECT_EQ(j[0]["metrics"][0]["count"], 2);
  EXPECT_EQ(j[0]["metrics"][1]["latest"], 0.001);
  nlohmann::json h = nlohmann::json::parse(Weft({"metrics", "last", "train", "--history", "--json"}).out);
  ASSERT_EQ(h[0]["metrics"].size(), 3u);
  EXPECT_EQ(h[0]["metrics"][1]["step"], 2);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  ProcessResult reused = Weft({"metrics", "last"});
  EXPECT_NE(reused.out.find("train (reused from r1)"), std::string::npos) << reused.out;
  EXPECT_NE(reused.out.find("acc"), std::string::npos) << reused.out;
  // JSON has no NaN or infinities: refused with a reason; a number out of range is said to be.
  dir_.Write("q.yml", std::string(R"(type: pipeline
jobs:
  odd:
    command: >-
      weft log-metric a nan; echo "nan=$?";
      weft log-metric b inf; echo "inf=$?";
      weft log-metric c 1e400; echo "big=$?";
      echo '{"name": "d", "value": 1e400}' >> "$WEFT_METRICS"
    )") + kEnv);
  ProcessResult odd = Weft({"run", "q.yml"});
  ASSERT_EQ(odd.exit_code, 0) << odd.out << odd.err;
  std::string odd_log = Weft({"logs", "last", "odd"}).out;
  EXPECT_NE(odd_log.find("`nan` is not a finite number"), std::string::npos) << odd_log;
  EXPECT_NE(odd_log.find("nan=2\n"), std::string::npos) << odd_log;
  EXPECT_NE(odd_log.find("`inf` is not a finite number"), std::string::npos) << odd_log;
  EXPECT_NE(odd_log.find("inf=2\n"), std::string::npos) << odd_log;
  EXPECT_NE(odd_log.find("`1e400` is out of range"), std::string::npos) << odd_log;
  EXPECT_NE(odd_log.find("big=2"), std::string::npos) << odd_log;
  EXPECT_NE((odd.out + odd.err).find("line 1: a number is out of range"), std::string::npos)
      << odd.out << odd.err;
  ProcessResult outside = Weft({"log-metric", "acc", "1"});
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_NE(outside.err.find("$WEFT_METRICS is not set"), std::string::npos) << outside.err;
}

// resources.properties weft.retries: a step that fails twice succeeds on its third attempt, each
// attempt in its own folder with its own log; without enough retries it fails.
TEST_F(RunTest, RetriesGiveEachAttemptItsOwnFolder) {
  std::string command = "echo try >> \"$TEST_DIR/tries\" && echo \"attempt $(wc -l < "
                        "\"$TEST_DIR/tries\")\" && test $(wc -l < \"$TEST_DIR/tries\") -ge 3";
  auto write = [&](int retries) {
    dir_.Write("p.yml", "type: pipeline\njobs:\n  flaky:\n    command: '" + command +
                            "'\n    resources:\n      properties: {weft.retries: " +
                            std::to_string(retries) + ", weft.retry_delay: 0}\n    " + kEnv);
  };
  write(1);
  ProcessResult short_of = Weft({"run", "p.yml"});
  EXPECT_EQ(short_of.exit_code, 1) << short_of.out << short_of.err;
  EXPECT_NE(short_of.out.find("attempt 1 of 2: exit code 1"), std::string::npos) << short_of.out;
  fs::remove(dir_.path() + "/tries");
  write(2);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Statuses()["flaky"], "succeeded");
  std::string run_dir = dir_.path() + "/.weft/runs/r2";
  for (int a = 1; a <= 3; ++a) {
    EXPECT_EQ(Read(run_dir + "/0." + std::to_string(a) + "/log"), "attempt " + std::to_string(a) + "\n");
  }
  EXPECT_EQ(Weft({"logs", "last", "flaky"}).out, "attempt 3\n");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  a:\n    command: 'true'\n"
                                  "    resources: {properties: {weft.retries: many}}\n    ") + kEnv);
  ProcessResult bad = Weft({"run", "p.yml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("step a: resources.properties weft.retries is `many`"), std::string::npos)
      << bad.err;
}

// `weft runs` filters by experiment, status, date and tag.
TEST_F(RunTest, RunsFilterByExperimentStatusAndDate) {
  dir_.Write("ok.yml", std::string("type: pipeline\ntags: {team: vision}\njobs:\n  a:\n"
                                   "    command: 'true'\n    ") + kEnv);
  dir_.Write("bad.yml", std::string("type: pipeline\njobs:\n  a:\n    command: 'false'\n    ") + kEnv);
  ASSERT_EQ(Weft({"run", "ok.yml", "--experiment", "alpha"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "bad.yml", "--experiment", "alpha"}).exit_code, 1);
  ASSERT_EQ(Weft({"run", "ok.yml", "--experiment", "beta", "--force", "--tag", "owner=ann",
                  "--tag", "team=speech"}).exit_code,
            0);
  auto ids = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"runs", "--json"});
    ProcessResult r = Weft(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    for (const auto& run : nlohmann::json::parse(r.out)) out.push_back(run["id"]);
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{"r3", "r2", "r1"}));
  EXPECT_EQ(ids({"--experiment", "alpha"}), (std::vector<std::string>{"r2", "r1"}));
  EXPECT_EQ(ids({"--status", "failed"}), (std::vector<std::string>{"r2"}));
  EXPECT_EQ(ids({"--experiment", "beta", "--status", "succeeded"}), (std::vector<std::string>{"r3"}));
  EXPECT_EQ(ids({"--since", "2000-01-01"}).size(), 3u);
  EXPECT_TRUE(ids({"--since", "2999-01-01"}).empty());
  EXPECT_EQ(ids({"--tag", "team"}), (std::vector<std::string>{"r3", "r1"}));
  EXPECT_EQ(ids({"--tag", "team=vision"}), (std::vector<std::string>{"r1"}));  // --tag wins
  EXPECT_EQ(ids({"--tag", "owner=ann"}), (std::vector<std::string>{"r3"}));
  nlohmann::json r3 = nlohmann::json::parse(Weft({"runs", "--json", "-n", "1"}).out)[0];
  EXPECT_EQ(r3["tags"], nlohmann::json({{"team", "speech"}, {"owner", "ann"}}));
  ProcessResult bad = Weft({"runs", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--since yesterday: expected a date, YYYY-MM-DD"), std::string::npos) << bad.err;
}

TEST_F(RunTest, CompareSetsRunsSideBySideAndMarksDifferences) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {lr: 0.1}
jobs:
  prep:
    command: echo fixed > ${{outputs.o}}/a.txt
    )") + kEnv + R"(    outputs: {o: {type: uri_folder}}
  train:
    command: weft log-metric loss ${{inputs.lr}} && echo ${{inputs.lr}} > ${{outputs.m}}/m.txt
    )" + kEnv + R"(    inputs: {lr: "${{parent.inputs.lr}}", data: "${{parent.jobs.prep.outputs.o}}"}
    outputs: {m: {type: uri_folder}}
)");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "p.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  ProcessResult r = Weft({"compare", "r1", "r2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, nlohmann::json> rows;  // "step/kind/name" -> row
  nlohmann::json all = nlohmann::json::parse(r.out);
  for (const auto& row : all["rows"]) {
    rows[row["step"].get<std::string>() + "/" + row["kind"].get<std::string>() + "/" +
         row["name"].get<std::string>()] = row;
  }
  EXPECT_EQ(rows["train/input/lr"]["values"], nlohmann::json::parse(R"(["0.1", "0.2"])"));
  EXPECT_TRUE(rows["train/input/lr"]["differs"]);
  EXPECT_EQ(rows["train/metric/loss"]["values"], nlohmann::json::parse(R"(["0.1", "0.2"])"));
  EXPECT_TRUE(rows["train/output/m"]["differs"]);
  // prep was reused: the same output digest, the status says how it came.
  EXPECT_FALSE(rows["prep/output/o"]["differs"]);
  EXPECT_EQ(rows["prep/output/o"]["values"][0].get<std::string>().rfind("sha256:", 0), 0u);
  EXPECT_EQ(rows["prep/status/status"]["values"], nlohmann::json::parse(R"(["succeeded", "reused"])"));
  EXPECT_EQ(rows["train/input/data"]["values"][0], rows["prep/output/o"]["values"][0]);
  // --diff keeps only rows that differ; the text marks them.
  ProcessResult d = Weft({"compare", "r1", "r2", "--diff"});
  EXPECT_NE(d.out.find("*   input lr"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("output o"), std::string::npos) << d.out;
  // A reused step shows what the attempt it reuses was given and made.
  ASSERT_EQ(Weft({"run", "p.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  nlohmann::json again = nlohmann::json::parse(Weft({"compare", "r2", "r3", "--json"}).out);
  for (const auto& row : again["rows"]) {
    if (row["step"] == "train" && row["kind"] == "input" && row["name"] == "lr") {
      EXPECT_EQ(row["values"], nlohmann::json::parse(R"(["0.2", "0.2"])"));
    }
    if (row["step"] == "train" && row["kind"] != "status") {
      EXPECT_FALSE(row["differs"]) << row;
    }
  }
  EXPECT_EQ(Weft({"compare", "r1"}).exit_code, 2);
  EXPECT_EQ(Weft({"compare", "r1", "r9"}).exit_code, 2);
}

TEST_F(RunTest, GcKeepsWhatIsReferencedAndFreesTheRest) {
  WriteReusePipeline(dir_);
  dir_.Write("data/other.csv", "kept by an asset\n");
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);                         // r1, lr 0.1
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);  // r2: train reruns
  ASSERT_EQ(Weft({"data", "create", "--name", "other", "--path", "data/other.csv"}).exit_code, 0);
  auto output = [&](const std::string& run, const std::string& step, const std::string& name) {
    nlohmann::json j = nlohmann::json::parse(Weft({"compare", run, run, "--json"}).out);
    for (const auto& row : j["rows"]) {
      if (row["step"] == step && row["kind"] == "output" && row["name"] == name) {
        return dir_.path() + "/.weft/store/objects/" + row["values"][0].get<std::string>().substr(7);
      }
    }
    return std::string();
  };
  std::string old_model = output("r1", "train", "model");
  std::string new_model = output("r2", "train", "model");
  std::string counted = output("r2", "prep", "counted");  // computed by r1, reused by r2
  ASSERT_TRUE(fs::exists(old_model) && fs::exists(new_model) && fs::exists(counted));
  auto objects = [&] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_.path() + "/.weft/store/objects")) ++n;
    return n;
  };
  size_t before = objects();

  // The space the store and run folders take as the disk counts it (each file once), and what gc
  // says it freed.
  auto disk = [&] {
    std::set<std::pair<dev_t, ino_t>> seen;
    uint64_t bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/.weft")) {
      if (e.path().filename().string().rfind("weft.db", 0) == 0) continue;  // the database's
      struct stat st {};
      if (::lstat(e.path().c_str(), &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second) {
        bytes += static_cast<uint64_t>(st.st_blocks) * 512;
      }
    }
    return bytes;
  };
  auto freed = [](const std::string& out) {
    size_t at = out.find(" MB (");
    return at == std::string::npos ? uint64_t{0} : std::stoull(out.substr(at + 5));
  };
  auto attempt_dir = [&](const std::string& run, const std::string& step) {  // steps list in order
    nlohmann::json steps = nlohmann::json::parse(Weft({"show", run, "--json"}).out)["steps"];
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i]["name"] == step) return fmt::format("{}/.weft/runs/{}/{}.1", dir_.path(), run, i);
    }
    return std::string();
  };
  std::string r1_train = attempt_dir("r1", "train"), r2_train = attempt_dir("r2", "train");
  ASSERT_TRUE(fs::is_directory(r1_train + "/work") && fs::is_directory(r2_train + "/work"));

  // Every run kept: no object is garbage; the working folders of succeeded attempts are.
  ProcessResult all = Weft({"gc"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("removed 0 of"), std::string::npos) << all.out;
  EXPECT_EQ(objects(), before);
  EXPECT_FALSE(fs::exists(r2_train + "/work"));
  EXPECT_TRUE(fs::exists(r2_train + "/log")) << "logs stay";
  // Keeping the newest run: a dry run names r1's model, says what the real one frees, and
  // removes nothing.
  ProcessResult dry = Weft({"gc", "--keep-runs", "1", "--dry-run", "-v"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would remove sha256:" + fs::path(old_model).filename().string()), std::string::npos)
      << dry.out;
  EXPECT_EQ(objects(), before);
  uint64_t disk_before = disk();
  ProcessResult gc = Weft({"gc", "--keep-runs", "1"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_GT(freed(gc.out), 0u) << gc.out;
  EXPECT_EQ(freed(dry.out), freed(gc.out)) << dry.out << gc.out;
  EXPECT_EQ(disk_before - disk(), freed(gc.out)) << gc.out;
  EXPECT_TRUE(fs::exists(r1_train + "/log") && !fs::exists(r1_train + "/work"));
  EXPECT_FALSE(fs::exists(old_model));
  EXPECT_TRUE(fs::exists(new_model));
  EXPECT_TRUE(fs::exists(counted)) << "r2 reuses it";
  EXPECT_LT(objects(), before);
  ProcessResult asset = Weft({"data", "show", "other:1", "--json"});
  std::string asset_digest = nlohmann::json::parse(asset.out)["digest"];
  EXPECT_TRUE(fs::exists(dir_.path() + "/.weft/store/objects/" + asset_digest.substr(7)));

  ProcessResult gone = Weft({"get", "r1", "train.model", "got"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("is no longer in the store (removed by `weft gc`)"), std::string::npos) << gone.err;
  // What r2 needs is all there: running it again reuses every step.
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--set", "inputs.lr=0.2"}).exit_code, 0);
  for (const auto& [step, status] : Statuses()) EXPECT_EQ(status, "reused") << step;
  // r1's model is gone: its step runs again rather than being reused, and makes the same object.
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "succeeded");
  EXPECT_EQ(Statuses()["prep"], "reused");
  EXPECT_TRUE(fs::exists(old_model));

  // Never while a run uses the workspace: gc gives up (exit 75), or waits with --wait.
  dir_.Write("slow.yml", std::string("type: pipeline\njobs:\n  slow:\n    command: touch "
                                     "\"$TEST_DIR/started\"; sleep 2\n    ") + kEnv);
  pid_t run = Start({"run", "slow.yml"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  ProcessResult busy = Weft({"gc", "--keep-runs", "0"});
  EXPECT_EQ(busy.exit_code, 75);
  EXPECT_NE(busy.err.find("nothing was changed"), std::string::npos) << busy.err;
  EXPECT_TRUE(fs::exists(new_model));
  ProcessResult waited = Weft({"gc", "--wait"});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(Wait(run), 0);
}

TEST_F(RunTest, ResumeFinishesAKilledRunAsItWasSubmitted) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  dir_.Write("src/s.py", "import sys, time\ntime.sleep(float(sys.argv[1]))\n"
                         "open(sys.argv[2] + '/o.txt', 'w').write(sys.argv[3])\n");
  auto write = [&](const std::string& word) {
    dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {word: )") + word + R"(}
jobs:
  first:
    code: ./src
    command: python s.py 0 ${{outputs.o}} ${{inputs.word}}
    )" + kEnv + R"(    inputs: {word: "${{parent.inputs.word}}"}
    outputs: {o: }
  second:
    code: ./src
    command: touch "$TEST_DIR/started" && python s.py 2 ${{outputs.o}} $(cat ${{inputs.i}}/o.txt)-2
    )" + kEnv + R"(    inputs: {i: "${{parent.jobs.first.outputs.o}}"}
    outputs: {o: }
)");
  };
  write("submitted");
  pid_t owner = Start({"run", "p.yml", "--set", "inputs.word=as-set"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  ::kill(owner, SIGKILL);
  EXPECT_EQ(Wait(owner), 128 + SIGKILL);
  // Edited since: resume still replays what was submitted, --set included.
  write("edited");
  dir_.Write("src/s.py", "raise SystemExit('the edited code must not run')\n");
  // Its weft is gone: any command that reads it shows it interrupted, never running.
  ProcessResult listed = Weft({"runs"});
  EXPECT_NE(listed.out.find("r1     interrupted"), std::string::npos) << listed.out;
  ProcessResult r = Weft({"resume", "r1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("resuming run r1 as submitted"), std::string::npos) << r.out;
  std::map<std::string, std::string> st = Statuses("r2");
  EXPECT_EQ(st["first"], "reused") << "it had succeeded in r1";
  EXPECT_EQ(st["second"], "succeeded");
  ASSERT_EQ(Weft({"get", "r2", "second.o", "got"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got/o.txt"), "as-set-2");
  EXPECT_EQ(Statuses("r1")["second"], "interrupted");
  nlohmann::json runs = nlohmann::json::parse(Weft({"runs", "--json"}).out);
  EXPECT_EQ(runs[1]["status"], "interrupted");
  // Nothing left to resume; a later plain run does not mention r1 again.
  ProcessResult again = Weft({"resume", "r2"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("nothing to resume"), std::string::npos) << again.err;
}

TEST_F(RunTest, RunNoticesAnInterruptedRunOfTheSameFile) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  slow:\n    command: touch "
                                  "\"$TEST_DIR/started\"; sleep 30\n    ") + kEnv);
  pid_t owner = Start({"run", "p.yml"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  ::kill(owner, SIGKILL);
  Wait(owner);
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  quick:\n    command: echo hi\n    ") + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("note: run r1 of p.yml was interrupted (its weft process was gone); `weft "
                       "resume r1` finishes it"),
            std::string::npos)
      << r.err;
}

// Each step appends a line to count/<step> (outside the workspace) each time it really runs.
// With `slow`, prep takes 3 s and touches `prep-started` when it starts.
void WriteCountingPipeline(const testing::TempDir& d, bool slow = false) {
  d.Mkdir("count");
  auto step = [&](const std::string& name, double secs, const std::string& input) {
    std::string cmd = "echo x >> \"$TEST_DIR/count/" + name + "\"" +
                      (name == "prep" && slow ? " && touch \"$TEST_DIR/prep-started\"" : "") +
                      " && sleep " + std::to_string(secs) + " && echo " + name + " > ${{outputs.o}}/v";
    std::string y = "  " + name + ":\n    command: " + cmd + "\n    " + kEnv;
    if (!input.empty()) y += "    inputs: {i: \"${{parent.jobs." + input + ".outputs.o}}\"}\n";
    return y + "    outputs: {o: }\n";
  };
  d.Write("p.yml", "type: pipeline\njobs:\n" + step("prep", slow ? 3 : 0.5, "") +
                       step("a", 0.4, "prep") + step("b", 0.4, "prep") + step("c", 0.4, "prep") +
                       step("join", 0.2, "a"));
}

TEST_F(RunTest, FourConcurrentRunsComputeEachStepOnce) {
  WriteCountingPipeline(dir_);
  ASSERT_EQ(Weft({"validate", "p.yml"}).exit_code, 0);  // the workspace exists before they race
  std::vector<pid_t> runs;
  for (int k = 0; k < 4; ++k) {
    runs.push_back(Start({"run", "p.yml"}, "", dir_.path() + "/run" + std::to_string(k) + ".log"));
  }
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(Wait(runs[k]), 0) << Read(dir_.path() + "/run" + std::to_string(k) + ".log");
    EXPECT_EQ(Read(dir_.path() + "/run" + std::to_string(k) + ".log").find("locked"), std::string::npos);
  }
  for (const char* step : {"prep", "a", "b", "c", "join"}) {
    EXPECT_EQ(Read(dir_.path() + "/count/" + step), "x\n") << step << " ran more than once";
  }
  ProcessResult fsck = Weft({"fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
}

TEST_F(RunTest, AWaiterTakesOverFromAClaimOwnerKilledMidStep) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  std::string marker = dir_.path() + "/prep-started";
  WriteCountingPipeline(dir_, true);
  ASSERT_EQ(Weft({"validate", "p.yml"}).exit_code, 0);
  pid_t owner = Start({"run", "p.yml"}, marker);
  ASSERT_TRUE(fs::exists(marker));
  std::vector<pid_t> waiters;
  for (int k = 0; k < 3; ++k) {
    waiters.push_back(Start({"run", "p.yml"}, "", dir_.path() + "/w" + std::to_string(k) + ".log"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // they find prep claimed
  ::kill(owner, SIGKILL);
  Wait(owner);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(Wait(waiters[k]), 0) << Read(dir_.path() + "/w" + std::to_string(k) + ".log");
  }
  // prep: the killed owner's attempt and one take-over; everything after it once.
  EXPECT_EQ(Read(dir_.path() + "/count/prep"), "x\nx\n");
  for (const char* step : {"a", "b", "c", "join"}) {
    EXPECT_EQ(Read(dir_.path() + "/count/" + step), "x\n") << step;
  }
  std::string logs;
  for (int k = 0; k < 3; ++k) logs += Read(dir_.path() + "/w" + std::to_string(k) + ".log");
  EXPECT_NE(logs.find("waiting for run r1, which is computing the same step"), std::string::npos) << logs;
}

// A real full disk: the workspace on a small tmpfs, mounted in a mount namespace of this test's
// own (so that it goes with the test process), and grown when space is back. Needs root.
class FullDiskTest : public testing::WeftTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small file system needs root";
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);
    disk_ = dir_.Mkdir(".weft");
    Resize(512 << 10);
  }
  // Makes the file system `bytes` big (at least what it holds).
  void Resize(uint64_t bytes) {
    std::string options = "size=" + std::to_string(bytes);
    unsigned long flags = mounted_ ? MS_REMOUNT : 0;
    ASSERT_EQ(::mount("tmpfs", disk_.c_str(), "tmpfs", flags, options.c_str()), 0)
        << options << ": " << std::strerror(errno);
    mounted_ = true;
  }
  uint64_t Used() {
    struct statvfs v {};
    ::statvfs(disk_.c_str(), &v);
    return (v.f_blocks - v.f_bfree) * v.f_frsize;
  }
  std::string disk_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, AFullDiskLeavesNothingHalfWrittenAndTheRunResumesOnceSpaceIsBack) {
  WEFT_LOCAL_ONLY("a 512 KiB workspace cannot hold what a server keeps of the upload");
  dir_.Write("data/big.bin", std::string(1 << 20, 'd'));
  // The step hard-links its output file, so committing it has to copy (the link is shared).
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  keep:
    command: head -c 300000 /dev/zero > ../kept && ln ../kept ${{outputs.o}}/kept && wc -c < ${{inputs.d}}
    )") + kEnv + R"(    inputs: {d: {type: uri_file, path: ./data/big.bin}}
    outputs: {o: }
)");
  // No store file holds a part of the big input or of the output (300000 zero bytes).
  auto nothing_partial = [&] {
    for (const auto& e : fs::recursive_directory_iterator(disk_ + "/store")) {
      if (!e.is_regular_file()) continue;
      EXPECT_NE(e.path().filename(), "kept") << e.path();
      EXPECT_NE(e.file_size(), 300000u) << e.path();
      EXPECT_TRUE(e.file_size() == (1u << 20) || e.file_size() < 65536) << e.path();
    }
    EXPECT_TRUE(fs::is_empty(disk_ + "/store/tmp"));
  };
  ASSERT_EQ(Weft({"validate", "p.yml"}).exit_code, 0);
  // 512 KiB: snapshotting the 1 MiB input fails; the run does not start, and nothing of the file
  // is kept.
  ProcessResult snap = Weft({"run", "p.yml"});
  EXPECT_EQ(snap.exit_code, 3) << snap.out << snap.err;
  EXPECT_NE(snap.err.find("step keep, input d: "), std::string::npos) << snap.err;
  EXPECT_NE(snap.err.find("No space left on device"), std::string::npos) << snap.err;
  nothing_partial();
  for (const auto& e : fs::recursive_directory_iterator(disk_ + "/store")) {
    EXPECT_NE(e.path().filename(), "big.bin") << e.path();
  }
  // With the input stored (a dry run stores snapshots), and room for the step's own 300000 bytes
  // but not for a copy of them, committing the output fails: the step fails and says why,
  // nothing of the output is kept.
  Resize(8 << 20);
  ASSERT_EQ(Weft({"run", "p.yml", "--dry-run"}).exit_code, 0);
  Resize(Used() + (480 << 10));
  ProcessResult out = Weft({"run", "p.yml"});
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  ProcessResult shown = Weft({"show", "last"});
  EXPECT_NE(shown.out.find("No space left on device"), std::string::npos) << shown.out << out.out;
  nothing_partial();
  // Space is back: resuming finishes the run.
  Resize(16 << 20);
  ProcessResult resumed = Weft({"resume", "last"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Statuses()["keep"], "succeeded");
  EXPECT_EQ(Weft({"fsck"}).exit_code, 0);
}

TEST_F(RunTest, FsckQuarantinesDamageAndTheStepsThatMadeItRunAgain) {
  WriteReusePipeline(dir_);
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  ProcessResult clean = Weft({"fsck"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("all intact"), std::string::npos) << clean.out;
  // Damage prep's output as root can: through the object's file, which is the blob's inode.
  nlohmann::json rows = nlohmann::json::parse(Weft({"compare", "r1", "r1", "--json"}).out)["rows"];
  std::string digest;
  for (const auto& row : rows) {
    if (row["step"] == "prep" && row["name"] == "counted") digest = row["values"][0].get<std::string>().substr(7);
  }
  std::string file = dir_.path() + "/.weft/store/objects/" + digest + "/count.txt";
  ASSERT_TRUE(fs::exists(file));
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(file) << "999\n";
  ProcessResult found = Weft({"fsck", "--json"});
  EXPECT_EQ(found.exit_code, 1) << found.out << found.err;
  nlohmann::json j = nlohmann::json::parse(found.out);
  EXPECT_FALSE(j["clean"]);
  EXPECT_EQ(j["quarantined_objects"], nlohmann::json::array({digest}));
  EXPECT_EQ(j["quarantined_blobs"].size(), 1u);
  EXPECT_FALSE(fs::exists(dir_.path() + "/.weft/store/objects/" + digest));
  EXPECT_FALSE(fs::is_empty(dir_.path() + "/.weft/store/quarantine"));
  // Never reused again: prep runs and makes the object anew, intact; train's input is the same.
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["prep"], "succeeded");
  EXPECT_EQ(Statuses()["train"], "reused");
  EXPECT_EQ(Read(file), "3\n");
  ProcessResult again = Weft({"fsck"});
  EXPECT_EQ(again.exit_code, 0) << again.out;
}

// A workspace copied with `cp -a` (or restored from a backup) has new inodes everywhere: its
// objects are verified by content once and reused, and fsck finds them all intact.
TEST_F(RunTest, ACopiedWorkspaceReuses) {
  WEFT_LOCAL_ONLY("the copy is used where it was copied to, with no server");
  WriteReusePipeline(dir_);
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  testing::TempDir other;
  ASSERT_EQ(testing::Run({"/bin/cp", "-a", dir_.path() + "/.", other.path()}, "/").exit_code, 0);
  ProcessResult again = testing::Run({WEFT_BINARY, "run", "pipeline.yml"}, other.path());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  ProcessResult shown = testing::Run({WEFT_BINARY, "show", "last", "--json"}, other.path());
  for (const auto& step : nlohmann::json::parse(shown.out)["steps"]) {
    EXPECT_EQ(step["status"], "reused") << step["name"];
  }
  ProcessResult fsck = testing::Run({WEFT_BINARY, "fsck"}, other.path());
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_NE(fsck.out.find("all intact"), std::string::npos) << fsck.out;
}

// What `weft run` would refuse in a code folder (a link out of it, a FIFO), `weft validate`
// reports at the `code` line, with the hint that .amlignore leaves it out; so left out, both work.
TEST_F(RunTest, ValidateReportsCodeFolderEntriesRunWouldRefuse) {
  dir_.Write("src/train.sh", "echo trained\n");
  fs::create_symlink("/etc/passwd", dir_.path() + "/src/passwd");
  ASSERT_EQ(::mkfifo((dir_.path() + "/src/pipe").c_str(), 0644), 0);
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  train:\n    command: bash train.sh\n"
                                  "    code: ./src\n    ") + kEnv);
  // Through a server, the folder sent with the pipeline cannot hold them either: the command
  // says so before sending anything.
  const bool served = weft::testing::ThroughServer();
  ProcessResult v = Weft({"validate", "p.yml"});
  EXPECT_EQ(v.exit_code, 2) << v.out << v.err;
  EXPECT_NE(v.err.find(served ? "`src/passwd` is a link out of the folder sent"
                              : "p.yml:5:11: error: code folder " + dir_.path() +
                                    "/src: symbolic link `passwd` points outside its folder"),
            std::string::npos)
      << v.err;
  EXPECT_NE(v.err.find(served ? "hint: leave them out with patterns in an .amlignore beside them"
                              : "hint: `weft run` cannot snapshot it; leave the entry out with a "
                                "pattern in .amlignore"),
            std::string::npos)
      << v.err;
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  fs::remove(dir_.path() + "/src/passwd");
  v = Weft({"validate", "p.yml"});
  EXPECT_NE(v.err.find(served ? "`src/pipe` is not a regular file, folder or link"
                              : "`pipe` is not a regular file, folder or link"),
            std::string::npos)
      << v.err;
  fs::create_symlink("/etc/passwd", dir_.path() + "/src/passwd");
  dir_.Write("src/.amlignore", "passwd\npipe\n");
  v = Weft({"validate", "p.yml"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Weft({"logs", "last", "train"}).out, "trained\n");
}

TEST_F(RunTest, SecretsReachStepsButNotLogsTheDatabaseOrShow) {
  WEFT_LOCAL_ONLY("the workspace's secrets are the server's own, never given to its steps (docs/server.md)");
  const std::string secret = "s3cr3t-Value-42", pipe_secret = "pipeline-set-secret";
  ::setenv("MY_TOKEN", secret.c_str(), 1);
  dir_.Write(".weft/config.yaml", "secrets: [MY_TOKEN, PIPE_SECRET]\n");
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs: {note: s3cr3t-Value-42}
jobs:
  s:
    command: >-
      echo "token=$MY_TOKEN pipe=$PIPE_SECRET note=${{inputs.note}}" &&
      echo "$MY_TOKEN" > ${{outputs.o}}/t.txt &&
      weft log-metric "loss-$MY_TOKEN" 1 &&
      echo '{"param": "tok", "value": "'$MY_TOKEN'"}' >> "$WEFT_METRICS"
    )") + kEnv + R"(    environment_variables: {PIPE_SECRET: pipeline-set-secret}
    inputs: {note: "${{parent.inputs.note}}"}
    outputs: {o: {type: uri_folder}}
)");
  ProcessResult r = Weft({"run", "p.yml", "--tag", "who=" + secret});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The step had the real values.
  ASSERT_EQ(Weft({"get", "last", "s.o", "got"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got/t.txt"), secret + "\n");
  // Nothing weft wrote has them.
  std::string log = Weft({"logs", "last", "s"}).out;
  EXPECT_EQ(log, "token=[secret] pipe=[secret] note=[secret]\n");
  std::string shown = Weft({"show", "last", "--json"}).out + Weft({"show", "last"}).out +
                      Weft({"metrics", "last", "--json"}).out + Weft({"explain", "last", "s"}).out +
                      Weft({"runs", "--json"}).out;
  EXPECT_NE(shown.find("[secret]"), std::string::npos) << shown;
  for (const std::string& v : {secret, pipe_secret}) {
    EXPECT_EQ(shown.find(v), std::string::npos) << shown;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/.weft")) {
      if (!e.is_regular_file() || e.path().string().find("/store/") != std::string::npos) continue;
      EXPECT_EQ(Read(e.path().string()).find(v), std::string::npos) << e.path();
    }
  }
  ::unsetenv("MY_TOKEN");
}

TEST_F(RunTest, SharedCodeFolderRerunsEveryUser) {
  dir_.Write("src/a.sh", "echo a > \"$1/a.txt\"\n");
  dir_.Write("src/b.sh", "echo b > \"$1/b.txt\"\n");
  dir_.Write("src/common.sh", "x=1\n");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n") +
                          "  one:\n    command: bash a.sh ${{outputs.o}}\n    code: ./src\n    " +
                          kEnv + "    outputs: {o: }\n" +
                          "  two:\n    command: bash b.sh ${{outputs.o}}\n    code: ./src\n    " +
                          kEnv + "    outputs: {o: }\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  dir_.Write("src/common.sh", "x=2\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["one"], "succeeded");
  EXPECT_EQ(Statuses()["two"], "succeeded");
  EXPECT_NE(Explain("two").find("code file common.sh changed"), std::string::npos);
}

TEST_F(RunTest, ForceFlagsAndNonDeterministicComponents) {
  WriteReusePipeline(dir_);
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--force"}).exit_code, 0);
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{
                            {"prep", "succeeded"}, {"train", "succeeded"}, {"report", "succeeded"}}));
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--force-step", "prep"}).exit_code, 0);
  EXPECT_EQ(Statuses()["prep"], "succeeded");
  EXPECT_EQ(Statuses()["train"], "reused");  // prep's output is identical
  EXPECT_NE(Explain("prep").find("forced by --force-step"), std::string::npos);
  EXPECT_EQ(Weft({"run", "pipeline.yml", "--force-step", "nope"}).exit_code, 2);

  dir_.Write("nd.yml", std::string("type: pipeline\njobs:\n  roll:\n    component: ./roll.yml\n"));
  dir_.Write("roll.yml", std::string("name: roll\nis_deterministic: false\n") + kEnv +
                             "command: echo $RANDOM\n");
  ASSERT_EQ(Weft({"run", "nd.yml"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "nd.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["roll"], "succeeded");
}

TEST_F(RunTest, UntilAndOnlySelectSteps) {
  WriteReusePipeline(dir_);
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--until", "prep"}).exit_code, 0);
  std::map<std::string, std::string> st = Statuses();
  EXPECT_EQ(st["prep"], "succeeded");
  EXPECT_EQ(st["train"], "skipped");
  EXPECT_EQ(st["report"], "skipped");
  // --only runs one step; what it needs must be reusable (prep is, from the run above).
  ASSERT_EQ(Weft({"run", "pipeline.yml", "--only", "report"}).exit_code, 0);
  st = Statuses();
  EXPECT_EQ(st["prep"], "reused");
  EXPECT_EQ(st["report"], "succeeded");
  EXPECT_EQ(st["train"], "skipped");
  EXPECT_EQ(Weft({"run", "pipeline.yml", "--only", "nope"}).exit_code, 2);
}

TEST_F(RunTest, ForceRerunResultsNeverSeedReuse) {
  dir_.Write("p.yml", std::string("type: pipeline\nsettings: {force_rerun: true}\njobs:\n  a:\n") +
                          "    command: echo hi\n    " + kEnv);
  dir_.Write("q.yml", std::string("type: pipeline\njobs:\n  a:\n    command: echo hi\n    ") + kEnv);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["a"], "succeeded");
  ASSERT_EQ(Weft({"run", "q.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["a"], "succeeded");  // same fingerprint, but only force_rerun results exist
  ASSERT_EQ(Weft({"run", "q.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["a"], "reused");
}

TEST_F(RunTest, HostileValuesRunNothingAndArriveVerbatim) {
  // An injected command would make pwned<N> in the step's working folder.
  std::string canary = "pwned";
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs:
  a: '"; touch )") + canary + R"(1; echo "'
  b: '$(touch )" + canary + R"(2)'
  c: '`touch )" + canary + R"(3`'
  d: '* ~ && touch )" + canary + R"(4'
jobs:
  echo:
    command: >-
      for x in ${{inputs.a}} "${{inputs.b}}" '${{inputs.c}}' ${{inputs.d}}; do printf '<%s>' "$x"; done
      > ${{outputs.o}}/argv.txt
    )" + kEnv + R"(    inputs: {a: "${{parent.inputs.a}}", b: "${{parent.inputs.b}}", c: "${{parent.inputs.c}}", d: "${{parent.inputs.d}}"}
    outputs: {o: }
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().rfind(canary, 0), std::string::npos) << e.path();
  }
  ASSERT_EQ(Weft({"get", "last", "echo.o", "got"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got/argv.txt"),
            "<\";><touch><" + canary + "1;><echo><\"><$(touch " + canary + "2)><`touch " + canary +
                "3`><*><~><&&><touch><" + canary + "4>");
}

TEST_F(RunTest, OutputFoldersExistBeforeTheStepStarts) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  check:
    command: test -d ${{outputs.folder}} && test -d "$(dirname ${{outputs.file}})/." && echo ok > ${{outputs.file}} && test -d outputs && echo art > outputs/a.txt
    )") + kEnv + R"(    outputs:
      folder: {type: uri_folder}
      file: {type: uri_file}
  use:
    command: cat ${{inputs.f}} ${{inputs.art}}/outputs/a.txt
    )" + kEnv + R"(    inputs: {f: "${{parent.jobs.check.outputs.file}}", art: "${{parent.jobs.check.outputs.artifacts}}"}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ProcessResult logs = Weft({"logs", "last", "use"});
  EXPECT_EQ(logs.out, "ok\nart\n");
}

// Steps run as root here, and read-only bits do not stop root: the sandbox must. A step that
// writes into its input, the store or the database fails, and the store keeps its content.
TEST_F(RunTest, StepsCannotChangeTheStoreOrTheDatabaseEvenAsRoot) {
  dir_.Write("data/rows.csv", "a,b\n");
  dir_.Write("p.yml", std::string(R"(type: pipeline
settings: {continue_on_step_failure: true}
inputs:
  rows: {type: uri_file, path: ./data/rows.csv}
jobs:
  tamper_input:
    command: echo evil >> ${{inputs.rows}}
    inputs: {rows: "${{parent.inputs.rows}}"}
    )") + kEnv + R"(  tamper_store:
    command: touch $WEFT_STORE_PROBE/objects/evil
    environment_variables: {WEFT_STORE_PROBE: )" + dir_.path() + R"(/.weft/store}
    )" + kEnv + R"(  tamper_db:
    command: echo evil >> "$TEST_DIR/.weft/weft.db"
    )" + kEnv + R"(  own_output:
    command: head -c 4 /dev/zero > ${{outputs.o}}/f  # devices work
    outputs: {o: {type: uri_folder}}
    )" + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{{"tamper_input", "failed"},
                                                             {"tamper_store", "failed"},
                                                             {"tamper_db", "failed"},
                                                             {"own_output", "succeeded"}}));
  EXPECT_NE(Weft({"logs", "last", "tamper_input"}).out.find("Read-only file system"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() + "/.weft/store/objects/evil"));
  // Every object still has the content its name says (a file object is a folder holding the
  // file under its names: its digest is the file's).
  for (const auto& e : fs::directory_iterator(dir_.path() + "/.weft/store/objects")) {
    std::string name = e.path().filename().string();
    std::string as_folder = Weft({"hash", e.path().string()}).out.substr(7, 64);
    fs::path first = fs::directory_iterator(e.path())->path();
    std::string as_file =
        fs::is_regular_file(first) ? Weft({"hash", first.string()}).out.substr(7, 64) : "";
    EXPECT_TRUE(as_folder == name || as_file == name) << "object " << name << " changed";
  }
  EXPECT_EQ(Read(dir_.path() + "/data/rows.csv"), "a,b\n");
  ProcessResult again = Weft({"runs"});
  EXPECT_EQ(again.exit_code, 0) << again.err;  // the database is fine
}

TEST_F(RunTest, ABadSandboxSettingIsALocatedError) {
  dir_.Write(".weft/config.yaml", "sandbox: maybe\n");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  a:\n    command: 'true'\n    ") + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("config.yaml:1:10: error: `sandbox` is `bubblewrap` (the default) or `off`"),
            std::string::npos)
      << r.err;
}

TEST_F(RunTest, DatastoreOutputsAreLinkedToTheirStoredObject) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
settings: {default_datastore: azureml:workspaceblobstore}
jobs:
  make:
    command: echo model > ${{outputs.m}}/model.txt
    )") + kEnv + R"(    outputs:
      m:
        type: uri_folder
        path: azureml://datastores/${{default_datastore}}/paths/models/${{name}}/${{output_name}}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string linked = dir_.path() + "/.weft/datastores/workspaceblobstore/models/make/m";
  EXPECT_TRUE(fs::is_symlink(linked));
  EXPECT_EQ(Read(linked + "/model.txt"), "model\n");
  EXPECT_NE(fs::read_symlink(linked).string().find("/.weft/store/objects/"), std::string::npos);
}

// An untyped job output bound to a pipeline output of type uri_file is a file (Azure ML gives it
// the pipeline output's type): the step writes a file whose folder exists, the store holds that
// file, and the datastore gets it under the file name the path gives. A later pipeline reads it
// back from the default datastore (under .weft/datastores).
TEST_F(RunTest, AnUntypedOutputBoundToAUriFilePipelineOutputIsAFile) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
outputs:
  result:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/${{name}}/result.txt
jobs:
  make:
    command: test -d "$(dirname ${{outputs.out}})/." && echo hello > ${{outputs.out}}
    outputs:
      out: ${{parent.outputs.result}}
    )") + kEnv + R"(  read:
    command: cat ${{inputs.f}} && basename ${{inputs.f}}
    inputs: {f: "${{parent.jobs.make.outputs.out}}"}
    )" + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Weft({"logs", "last", "read"}).out, "hello\nresult.txt\n");
  std::string published = dir_.path() + "/.weft/datastores/workspaceblobstore/make/result.txt";
  EXPECT_TRUE(fs::is_regular_file(published)) << published;
  EXPECT_EQ(Read(published), "hello\n");
  ASSERT_EQ(Weft({"get", "last", "make.out", "got.txt"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got.txt"), "hello\n");

  dir_.Write("q.yml", std::string(R"(type: pipeline
inputs:
  before: {type: uri_file, path: azureml://datastores/workspaceblobstore/paths/make/result.txt}
jobs:
  again:
    command: cat ${{inputs.f}}
    inputs: {f: "${{parent.inputs.before}}"}
    )") + kEnv);
  ProcessResult q = Weft({"run", "q.yml"});
  ASSERT_EQ(q.exit_code, 0) << q.out << q.err;
  EXPECT_EQ(Weft({"logs", "last", "again"}).out, "hello\n");
  // weft's own files stay refused.
  dir_.Write("bad.yml", std::string(R"(type: pipeline
jobs:
  peek:
    command: ls ${{inputs.d}}
    inputs: {d: {type: uri_folder, path: ./.weft/store}}
    )") + kEnv);
  // (a server is never sent them: there they are not among the pipeline's files)
  ProcessResult bad = Weft({"run", "bad.yml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(weft::testing::ThroughServer() ? "`./.weft/store` does not exist"
                                                        : "weft's own files"),
            std::string::npos)
      << bad.err;
}

TEST_F(RunTest, AnOutputLinkingOutsideItselfFailsTheStepAndStoresNothing) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  sneaky:
    command: echo fine > ${{outputs.good}}/ok.txt && ln -s /etc/passwd ${{outputs.o}}/escape
    )") + kEnv + "    outputs: {good: , o: }\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Statuses()["sneaky"], "failed");
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("symbolic link `escape` points outside its folder"), std::string::npos)
      << show.out;
  // The only object is the pipeline file, kept for `weft resume`; no output entered the store.
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/.weft/store/objects")) {
    EXPECT_NE(e.path().filename(), "partial.txt") << e.path();
  }
}

TEST_F(RunTest, DatastoreInputsReadTheConfiguredFolder) {
  dir_.Write(".weft/config.yaml", "datastores: {lake: ../lake}\n");
  dir_.Write("lake/raw/rows.csv", "a\nb\n");
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs:
  raw: {type: uri_folder, path: azureml://datastores/lake/paths/raw}
  gone: {type: uri_folder, path: azureml://datastores/lake/paths/missing}
jobs:
  count:
    command: wc -l < ${{inputs.raw}}/rows.csv
    )") + kEnv + R"(    inputs: {raw: "${{parent.inputs.raw}}"}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Weft({"logs", "last", "count"}).out, "2\n");
  dir_.Write("q.yml", std::string(R"(type: pipeline
jobs:
  count:
    command: ls ${{inputs.raw}}
    )") + kEnv + R"(    inputs: {raw: {type: uri_folder, path: azureml://datastores/lake/paths/missing}}
)");
  ProcessResult missing = Weft({"run", "q.yml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("q.yml:6:"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("input `raw` of job `count`: datastore path "
                             "`azureml://datastores/lake/paths/missing` does not exist"),
            std::string::npos)
      << missing.err;
}

TEST_F(RunTest, UrlInputsReadTheirMirrorOrNameTheKeyToAdd) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
inputs:
  root: {type: uri_folder, path: "https://data.example.org/sets/iris?sv=2024&sig=x"}
jobs:
  count:
    command: wc -l < ${{inputs.raw}}/rows.csv
    )") + kEnv + R"(    inputs: {raw: "${{parent.inputs.root}}"}
  blob:
    command: cat ${{inputs.raw}}
    )" + kEnv + R"(    inputs:
      raw: {type: uri_file, path: "wasbs://c@acct.blob.core.windows.net/x/a.txt"}
)");
  ProcessResult unmapped = Weft({"run", "p.yml"});
  EXPECT_EQ(unmapped.exit_code, 2);
  EXPECT_NE(unmapped.err.find("p.yml:3:"), std::string::npos) << unmapped.err;
  EXPECT_NE(unmapped.err.find("has no local mirror"), std::string::npos) << unmapped.err;
  EXPECT_NE(unmapped.err.find("mirrors: {\"https://data.example.org/\""), std::string::npos)
      << unmapped.err;
  EXPECT_NE(unmapped.err.find("p.yml:13:"), std::string::npos) << unmapped.err;
  EXPECT_FALSE(fs::exists(dir_.path() + "/.weft/runs/r1")) << "nothing ran";

  // The longest prefix wins; a query string (a SAS token) is not part of the path.
  dir_.Write(".weft/config.yaml", "mirrors:\n  \"https://data.example.org/\": ../wrong\n"
                                  "  \"https://data.example.org/sets\": ../mirror/sets\n"
                                  "  \"wasbs://c@acct.blob.core.windows.net/\": ../blob\n");
  dir_.Write("mirror/sets/iris/rows.csv", "1\n2\n3\n");
  dir_.Write("blob/x/a.txt", "from blob\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Weft({"logs", "last", "count"}).out, "3\n");
  EXPECT_EQ(Weft({"logs", "last", "blob"}).out, "from blob\n");

  // A mirrored path that is not there names where it looked; `..` cannot leave the mirror.
  dir_.Write("q.yml", std::string(R"(type: pipeline
jobs:
  a:
    command: ls ${{inputs.x}}
    )") + kEnv + R"(    inputs: {x: {type: uri_folder, path: "https://data.example.org/sets/gone"}}
  b:
    command: ls ${{inputs.x}}
    )" + kEnv + R"(    inputs: {x: {type: uri_folder, path: "https://data.example.org/sets/../../../etc"}}
)");
  ProcessResult bad = Weft({"run", "q.yml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("is not in its mirror"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("mirror/sets/gone"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("leaves its mirror's folder"), std::string::npos) << bad.err;
}

TEST_F(RunTest, TimeoutStopsTheWholeGroup) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  slow:
    command: (sleep 60 & echo $! > "$TEST_DIR/child.pid"; wait)
    )") + kEnv + "    limits: {timeout: 1}\n");
  auto start = std::chrono::steady_clock::now();
  ProcessResult r = Weft({"run", "p.yml"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_LT(took, std::chrono::seconds(15));
  EXPECT_EQ(Statuses()["slow"], "timed_out");
  pid_t child = std::stoi(Read(dir_.path() + "/child.pid"));
  EXPECT_NE(::kill(child, 0), 0) << "the step's background process survived (or was left unreaped): "
                                  << Read("/proc/" + std::to_string(child) + "/stat");
}

// `weft cancel` from another terminal: the run's own process stops its steps and exits with 130;
// when that process is gone (kill -9), weft cancel stops the steps it left running itself.
TEST_F(RunTest, CancelFromAnotherTerminal) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  slow:
    command: echo $$ > "$TEST_DIR/started"; sleep 60
    )") + kEnv);
  auto start = [&] { return Start({"run", "p.yml", "--force"}, dir_.path() + "/started"); };
  pid_t owner = start();
  ASSERT_FALSE(Read(dir_.path() + "/started").empty());
  // (a served run is stopped by the server; killing the command that follows it stops nothing)
  const bool served = weft::testing::ThroughServer();
  ProcessResult c = Weft({"cancel", "last"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find(served ? "run r1 canceled: the server stopped every step"
                              : "run r1 canceled: its weft process (pid"),
            std::string::npos)
      << c.out;
  int status = 0;
  ::waitpid(owner, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130);
  EXPECT_EQ(Statuses()["slow"], "canceled");

  owner = start();
  std::string step_pid = Read(dir_.path() + "/started");
  ASSERT_FALSE(step_pid.empty());
  ::kill(owner, SIGKILL);  // the run's process dies; its step lives on
  ::waitpid(owner, &status, 0);
  pid_t step = static_cast<pid_t>(std::stol(step_pid));
  EXPECT_EQ(::kill(step, 0), 0);
  ProcessResult c2 = Weft({"cancel", "last"});
  EXPECT_EQ(c2.exit_code, 0) << c2.err;
  EXPECT_NE(c2.out.find(served ? "run r2 canceled: the server stopped every step"
                               : "run r2 canceled: its weft process was gone; weft stopped the "),
            std::string::npos)
      << c2.out;
  for (int i = 0; i < 100 && ::kill(step, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(::kill(step, 0), 0) << "the orphaned step still runs";
  EXPECT_EQ(Statuses()["slow"], "canceled");
  ProcessResult again = Weft({"cancel", "last"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("is not running (it canceled)"), std::string::npos) << again.err;
}

TEST_F(RunTest, InterruptCancelsTheRunAndCommitsNothing) {
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  slow:
    command: echo started > ${{outputs.o}}/partial.txt; touch "$TEST_DIR/started"; sleep 60
    )") + kEnv + "    outputs: {o: }\n");
  pid_t pid = Start({"run", "p.yml"}, dir_.path() + "/started");
  ASSERT_TRUE(fs::exists(dir_.path() + "/started"));
  ::kill(pid, SIGINT);
  EXPECT_EQ(Wait(pid), 130);
  EXPECT_EQ(Statuses()["slow"], "canceled");
  // The only object is the pipeline file, kept for `weft resume`; no output entered the store.
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/.weft/store/objects")) {
    EXPECT_NE(e.path().filename(), "partial.txt") << e.path();
  }
}

TEST_F(RunTest, FailureStopsTheRunUnlessContinueOnStepFailure) {
  auto pipeline = [&](bool keep_going) {
    return std::string("type: pipeline\nsettings: {continue_on_step_failure: ") +
           (keep_going ? "true" : "false") + "}\njobs:\n" +
           "  bad:\n    command: sleep 0.3; exit 3\n    " + kEnv + "    outputs: {o: }\n" +
           "  after_bad:\n    command: ls ${{inputs.i}}\n    " + kEnv +
           "    inputs: {i: \"${{parent.jobs.bad.outputs.o}}\"}\n" +
           "  optional_after_bad:\n    command: echo $[[${{inputs.i}}]] ok\n    " + kEnv +
           "    inputs: {i: {type: uri_folder, optional: true, path: \"${{parent.jobs.bad.outputs.o}}\"}}\n" +
           "  independent:\n    command: sleep 2\n    " + kEnv;
  };
  dir_.Write("stop.yml", pipeline(false));
  ProcessResult r = Weft({"run", "stop.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  std::map<std::string, std::string> st = Statuses();
  EXPECT_EQ(st["bad"], "failed");
  EXPECT_EQ(st["after_bad"], "skipped");
  EXPECT_EQ(st["independent"], "canceled");

  dir_.Write("go.yml", pipeline(true));
  r = Weft({"run", "go.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  st = Statuses();
  EXPECT_EQ(st["bad"], "failed");
  EXPECT_EQ(st["after_bad"], "skipped");
  EXPECT_EQ(st["optional_after_bad"], "succeeded");
  EXPECT_EQ(st["independent"], "succeeded");

  // A run may change the setting, as Azure's `--set settings.NAME=VALUE` does; nothing else of them.
  r = Weft({"run", "stop.yml", "--force", "--set", "settings.continue_on_step_failure=true"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(Statuses()["independent"], "succeeded");
  r = Weft({"run", "stop.yml", "--set", "settings.on_init=bad"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--set settings.on_init: a run may set continue_on_step_failure"),
            std::string::npos)
      << r.err;
  r = Weft({"run", "stop.yml", "--set", "settings.force_rerun=yes"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected true or false"), std::string::npos) << r.err;
}

TEST_F(RunTest, InitAndFinalizeStepsBracketTheRun) {
  std::string log = dir_.path() + "/order.txt";
  std::string append = "\"$TEST_DIR/order.txt\"";
  dir_.Write("p.yml", std::string("type: pipeline\nsettings: {on_init: setup, on_finalize: teardown}\n") +
                          "jobs:\n" + "  work:\n    command: echo work >> " + append + "; exit 1\n    " +
                          kEnv + "  setup:\n    command: echo setup >> " + append + "\n    " + kEnv +
                          "  teardown:\n    command: echo teardown >> " + append + "\n    " + kEnv);
  EXPECT_EQ(Weft({"run", "p.yml"}).exit_code, 1);
  EXPECT_EQ(Read(log), "setup\nwork\nteardown\n");
}

TEST_F(RunTest, SamePipelineInTwoWorkspacesHasTheSameFingerprints) {
  testing::TempDir other;
  for (const testing::TempDir* d : {&dir_, &other}) WriteReusePipeline(*d);
  ASSERT_EQ(Weft({"run", "pipeline.yml"}).exit_code, 0);
  ProcessResult b = testing::Run({WEFT_BINARY, "run", "pipeline.yml"}, other.path());
  ASSERT_EQ(b.exit_code, 0);
  ProcessResult ja = Weft({"show", "last", "--json"});
  ProcessResult jb = testing::Run({WEFT_BINARY, "show", "last", "--json"}, other.path());
  auto fps = [](const std::string& json) {
    std::vector<std::string> out;
    nlohmann::json j = nlohmann::json::parse(json);
    for (const auto& s : j["steps"]) out.push_back(s["fingerprint"]);
    return out;
  };
  EXPECT_EQ(fps(ja.out), fps(jb.out));
  EXPECT_EQ(fps(ja.out).size(), 3u);
}

TEST_F(RunTest, GpuStepsGetTheirDevicesAndDistributedStepsTheirRanks) {
  dir_.Write(".weft/config.yaml", "resources: {gpus: 2, cpus: 4}\n");
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  g1:
    command: echo $CUDA_VISIBLE_DEVICES > ${{outputs.o}}/dev; sleep 0.5
    )") + kEnv + R"(    resources: {properties: {weft.gpus: 1}}
    outputs: {o: }
  g2:
    command: echo $CUDA_VISIBLE_DEVICES > ${{outputs.o}}/dev; sleep 0.5
    )" + kEnv + R"(    resources: {properties: {weft.gpus: 1}}
    outputs: {o: }
  ddp:
    command: echo "$RANK/$WORLD_SIZE local=$LOCAL_RANK" > ${{outputs.o}}/rank$RANK
    )" + kEnv + R"(    distribution: {type: pytorch, process_count_per_instance: 2}
    outputs: {o: }
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* s : {"g1", "g2", "ddp"}) {
    ASSERT_EQ(Weft({"get", "last", std::string(s) + ".o", s}).exit_code, 0);
  }
  std::string d1 = Read(dir_.path() + "/g1/dev");
  std::string d2 = Read(dir_.path() + "/g2/dev");
  EXPECT_TRUE((d1 == "0\n" && d2 == "1\n") || (d1 == "1\n" && d2 == "0\n")) << d1 << d2;
  EXPECT_EQ(Read(dir_.path() + "/ddp/rank0"), "0/2 local=0\n");
  EXPECT_EQ(Read(dir_.path() + "/ddp/rank1"), "1/2 local=1\n");
}

TEST_F(RunTest, UnrunnableNodesAndMissingPackagesAreRefusedBeforeAnythingRuns) {
  ProcessResult sweep = testing::Run(
      {WEFT_BINARY, "run", "valid/sweep.yml", "--workspace", dir_.path()},
      std::string(WEFT_SOURCE_DIR) + "/tests/pipelines");
  EXPECT_EQ(sweep.exit_code, 2);
  // (a random sweep without a number of trials)
  EXPECT_NE(sweep.err.find("valid/sweep.yml:39:3: step every_distribution: random sampling needs "
                           "`limits.max_total_trials`"),
            std::string::npos)
      << sweep.err;
  dir_.Write("env/conda.yml", "dependencies:\n  - pip:\n    - surely-not-installed-pkg==1.0\n");
  dir_.Write("p.yml", R"(type: pipeline
jobs:
  a:
    command: echo
    environment: {image: python:3.11, conda_file: ./env/conda.yml}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs Python packages that /usr/bin/python3 does not have:\n  "
                       "env/conda.yml:3:7: surely-not-installed-pkg: apt knows no Debian package"),
            std::string::npos)
      << r.err;
}

class OutputTest : public testing::WeftTest {};

TEST_F(OutputTest, ARunOfManyStepsPrintsWhatNeedsAttentionAndASummaryByStatus) {
  std::string yml = "type: pipeline\nsettings: {continue_on_step_failure: true}\njobs:\n";
  for (int i = 0; i < 60; ++i) {
    yml += fmt::format("  s{}:\n    command: {}\n    {}", i, i == 7 ? "exit 3" : "\"true\"", kEnv);
  }
  dir_.Write("many.yml", yml);
  ProcessResult r = Weft({"run", "many.yml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("failed     s7"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("succeeded  s1 "), std::string::npos) << "only steps that need attention";
  EXPECT_EQ(r.out.find("running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n60 steps: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("59 succeeded, 1 failed"), std::string::npos) << r.out;
  // The table lists the failed step and not the others.
  EXPECT_NE(r.out.find("\ns7 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\ns8 "), std::string::npos) << r.out;
  size_t lines = std::count(r.out.begin(), r.out.end(), '\n');
  EXPECT_LT(lines, 15u) << r.out;

  // A small pipeline prints every step, unless asked to be quiet.
  dir_.Write("two.yml", std::string("type: pipeline\njobs:\n  a:\n    command: \"true\"\n    ") + kEnv +
                            "  b:\n    command: \"true\"\n    " + kEnv);
  ProcessResult every = Weft({"run", "two.yml", "--force"});
  EXPECT_NE(every.out.find("succeeded  a"), std::string::npos) << every.out;
  ProcessResult quiet = Weft({"run", "two.yml", "-q", "--force"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out.find("succeeded  a"), std::string::npos) << quiet.out;
  EXPECT_NE(quiet.out.find("2 steps: 2 succeeded"), std::string::npos) << quiet.out;
}

TEST_F(OutputTest, ShowListsEveryStepOfARunningRunPendingOnesIncluded) {
  dir_.Write("chain.yml", std::string(R"(type: pipeline
jobs:
  first:
    command: touch "$TEST_DIR/started"; sleep 2; echo x > ${{outputs.o}}/x
    outputs: {o: {type: uri_folder}}
    )") + kEnv + R"(  second:
    command: cat ${{inputs.i}}/x
    inputs: {i: "${{parent.jobs.first.outputs.o}}"}
    )" + kEnv);
  pid_t run = Start({"run", "chain.yml"}, dir_.path() + "/started");
  std::map<std::string, std::string> live = Statuses();
  EXPECT_EQ(live["first"], "running");
  EXPECT_EQ(live["second"], "pending");
  EXPECT_EQ(Wait(run), 0);
  EXPECT_EQ(Statuses()["second"], "succeeded");
}

TEST_F(OutputTest, CodeIsMountedUnderTheWorkingFolderAndItsSnapshotNeverChanges) {
  if (::geteuid() != 0) GTEST_SKIP() << "the overlay is made in the step's own mount namespace, as root";
  dir_.Write("src/train.py", "print('stored')\n");
  dir_.Write("src/helper.py", "# untouched\n");
  dir_.Write("code.yml", std::string(R"yml(type: pipeline
jobs:
  edit:
    code: ./src
    command: cat helper.py > /dev/null && echo "print('edited')" >> train.py && python train.py
    )yml") + kEnv);
  ProcessResult r = Weft({"run", "code.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string work = dir_.path() + "/.weft/runs/r1/0.1/work";
  EXPECT_EQ(testing::Read(dir_.path() + "/.weft/runs/r1/0.1/log"), "stored\nedited\n");
  // The working folder keeps what the step wrote, and nothing it only read.
  EXPECT_TRUE(fs::exists(work + "/train.py"));
  EXPECT_FALSE(fs::exists(work + "/helper.py")) << "not copied";
  // The stored snapshot is as it was: the next run reuses the step.
  ProcessResult again = Weft({"run", "code.yml"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Statuses()["edit"], "reused");
  bool found = false;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/.weft/store/objects")) {
    if (e.path().filename() != "train.py") continue;
    found = true;
    EXPECT_EQ(testing::Read(e.path().string()), "print('stored')\n") << e.path();
  }
  EXPECT_TRUE(found);
  // With the sandbox off the code is copied in.
  dir_.Write(".weft/config.yaml", "sandbox: off\n");
  ProcessResult copied = Weft({"run", "code.yml", "--force"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_TRUE(fs::exists(dir_.path() + "/.weft/runs/r3/0.1/work/helper.py"));
}

TEST_F(OutputTest, ComputeNamesMapToTargetsAndUnknownOnesRunLocallyWithAWarning) {
  dir_.Write("c.yml", std::string(R"(type: pipeline
settings: {default_compute: azureml:cpu-cluster}
jobs:
  a:
    compute: azureml:gpu-box
    command: "true"
    )") + kEnv + R"(  b:
    command: "true"
    )" + kEnv);
  ProcessResult unknown = Weft({"run", "c.yml"});
  ASSERT_EQ(unknown.exit_code, 0) << unknown.err;
  for (const char* name : {"azureml:cpu-cluster", "azureml:gpu-box"}) {
    EXPECT_NE(unknown.err.find(fmt::format("compute `{}` is not configured in .weft/config.yaml", name)),
              std::string::npos)
        << unknown.err;
  }
  // Mapped in the configuration (with or without `azureml:`): no warning.
  dir_.Write(".weft/config.yaml", "computes:\n  cpu-cluster: {type: local}\n  azureml:gpu-box: {}\n");
  ProcessResult mapped = Weft({"run", "c.yml", "--force"});
  ASSERT_EQ(mapped.exit_code, 0) << mapped.err;
  EXPECT_EQ(mapped.err.find("is not configured"), std::string::npos) << mapped.err;
  // A type weft cannot run is refused where it is written, before anything runs.
  dir_.Write(".weft/config.yaml", "computes:\n  cpu-cluster:\n    type: aks\n");
  ProcessResult refused = Weft({"run", "c.yml", "--force"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("config.yaml:3:11"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("type `aks`"), std::string::npos) << refused.err;
  EXPECT_EQ(Weft({"runs", "--json"}).out.find("r3"), std::string::npos) << "no run recorded";
}

// Metrics are read while a step runs, as its $WEFT_METRICS file grows: `weft metrics` shows them
// before the step ends (sweeps' early termination and parallel progress rely on it).
TEST_F(RunTest, MetricsAreVisibleWhileTheStepStillRuns) {
  dir_.Write("src/train.py",
             "import os, time, json\n"
             "with open(os.environ['WEFT_METRICS'], 'a') as f:\n"
             "    f.write(json.dumps({'name': 'loss', 'value': 0.5}) + '\\n')\n"
             "open(os.path.join(os.environ['TEST_DIR'], 'logged'), 'w').close()\n"
             "while not os.path.exists(os.path.join(os.environ['TEST_DIR'], 'go')):\n"
             "    time.sleep(0.05)\n");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  train:\n    code: ./src\n"
                                  "    command: python train.py\n    ") + testing::kEnv);
  pid_t weft = Start({"run", "p.yml"}, dir_.path() + "/logged");
  std::string seen;
  for (int k = 0; k < 100 && seen.find("loss") == std::string::npos; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = Weft({"metrics", "last", "train"}).out;
  }
  EXPECT_EQ(Statuses()["train"], "running");
  dir_.Write("go", "");
  EXPECT_EQ(Wait(weft), 0);
  EXPECT_NE(seen.find("loss"), std::string::npos) << seen;
  EXPECT_NE(seen.find("0.5"), std::string::npos) << seen;
}

}  // namespace
}  // namespace weft
