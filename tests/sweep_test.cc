// Sweep jobs run by the real weft binary: trials drawn by grid or seeded random sampling run as
// jobs of the step, each with its hyperparameters; the best by the primary metric gives the
// step's outputs, which downstream steps consume.
#include <chrono>
#include <map>
#include <regex>
#include <sstream>

#include "weft_fixture.h"

namespace weft {
namespace {

using testing::ProcessResult;
using testing::kEnv;

// score = -(x - 0.3)^2 - 0.01 k, logged through $WEFT_METRICS; x above 0.9 fails the trial.
constexpr const char* kTrain = R"(import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--k", type=int)
p.add_argument("--out")
a = p.parse_args()
if a.x > 0.9:
    sys.exit("x too large")
if os.environ.get("SILENT") != "1":
    with open(os.environ["WEFT_METRICS"], "a") as f:
        f.write(json.dumps({"name": "score", "value": -(a.x - 0.3) ** 2 - 0.01 * a.k}) + "\n")
with open(os.path.join(a.out, "x.txt"), "w") as f:
    f.write("{} {}\n".format(a.x, a.k))
)";

std::vector<std::string> TrialNotes(const nlohmann::json& run, const std::string& step) {
  std::vector<std::string> notes;
  for (const auto& s : run["steps"]) {
    if (s["name"] != step) continue;
    for (const auto& j : s["jobs"]) notes.push_back(j["status"].get<std::string>() + " " + j["message"].get<std::string>());
  }
  return notes;
}

class SweepTest : public testing::WeftTest {
 protected:
  void Pipeline(const std::string& sampling, const std::string& space, const std::string& extra = "") {
    dir_.Write("src/train.py", kTrain);
    dir_.Write("train.yml", std::string("type: command\nname: train\ninputs:\n  x: {type: number}\n"
                                        "  k: {type: integer}\noutputs:\n  model: {type: uri_folder}\n"
                                        "code: ./src\ncommand: python train.py --x ${{inputs.x}} --k "
                                        "${{inputs.k}} --out ${{outputs.model}}\n") + kEnv);
    dir_.Write("p.yml", "type: pipeline\njobs:\n  sweep:\n    type: sweep\n    trial: ./train.yml\n" +
                            sampling + "    search_space:\n" + space + extra +
                            "    outputs:\n      model: {type: uri_folder}\n"
                            "  use:\n    command: cp ${{inputs.m}}/x.txt ${{outputs.o}}\n"
                            "    inputs:\n      m: ${{parent.jobs.sweep.outputs.model}}\n"
                            "    outputs:\n      o: {type: uri_file}\n    " + kEnv);
  }
  std::string Note() {
    nlohmann::json j = nlohmann::json::parse(Weft({"show", "last", "--json"}).out);
    for (const auto& s : j["steps"]) {
      if (s["name"] == "sweep") return s.value("message", std::string());
    }
    return "";
  }
  std::string Used() { return OutputText("use.o"); }
  // The last run's trials of step `sweep`: "STATUS NOTE" each.
  std::vector<std::string> Trials() {
    return TrialNotes(nlohmann::json::parse(Weft({"show", "last", "--json"}).out), "sweep");
  }
};

TEST_F(SweepTest, GridRunsEveryCombinationAndTheBestTrialsOutputGoesDownstream) {
  Pipeline("    sampling_algorithm: grid\n",
           "      x: {type: choice, values: [0.1, 0.3, 0.5, 0.95]}\n      k: {type: choice, values: [2, 1]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Trials in grid order (k varies fastest): trial 3 is x=0.3, k=1. The two with x=0.95 failed.
  EXPECT_EQ(Note(), "best trial 3 of 8 (x=0.3, k=1): highest score -0.01; 6 succeeded, 2 failed");
  EXPECT_EQ(Used(), "0.3 1\n");
  // explain says which trial won and why, and how each trial ended.
  std::string why = Weft({"explain", "last", "sweep"}).out;
  EXPECT_NE(why.find("sweep ran: best trial 3 of 8 (x=0.3, k=1): highest score -0.01"), std::string::npos) << why;
  EXPECT_NE(why.find("  job 6 failed: x=0.95, k=2: exit code 1; see `weft logs"), std::string::npos) << why;
  EXPECT_NE(why.find("  job 3 succeeded: x=0.3, k=1: score -0.01\n"), std::string::npos) << why;
  // compare sets the trials side by side: hyperparameters, status, metrics.
  nlohmann::json cmp = nlohmann::json::parse(Weft({"compare", "last", "--jobs", "sweep", "--json"}).out);
  ASSERT_EQ(cmp["jobs"].size(), 8u);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : cmp["rows"]) rows[row["kind"].get<std::string>() + " " + row["name"].get<std::string>()] = row["values"];
  EXPECT_EQ(rows["param x"][3], "0.3");
  EXPECT_EQ(rows["param k"][3], "1");
  EXPECT_EQ(rows["metric score"][3], "-0.01");
  EXPECT_EQ(rows["status status"][6], "failed");
  EXPECT_EQ(rows["metric score"][6], nullptr);
  EXPECT_EQ(Weft({"compare", "last"}).exit_code, 2);
  // Unchanged: reused whole.
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["sweep"], "reused");
}

TEST_F(SweepTest, ASeededRandomSweepPicksItsBestTrialAndARerunReusesIt) {
  Pipeline("    sampling_algorithm: random\n    seed: 11\n",
           "      x: {type: uniform, min_value: 0, max_value: 0.8}\n      k: {type: randint, upper: 3}\n",
           "    objective: {goal: minimize, primary_metric: score}\n    limits: {max_total_trials: 6}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string note = Note();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(note, m, std::regex("best trial (\\d) of 6 \\(x=([0-9.e-]+), k=(\\d)\\): lowest score (\\S+); 6 succeeded")))
      << note;
  // Minimising: the chosen trial's score is the lowest of the six, and its output went on.
  nlohmann::json metrics = nlohmann::json::parse(Weft({"metrics", "last", "sweep", "--json"}).out)[0];
  EXPECT_NEAR(metrics["metrics"][0]["min"].get<double>(), std::stod(m[4]), 1e-6);
  EXPECT_EQ(metrics["metrics"][0]["count"], 6);
  EXPECT_EQ(Used(), std::string(m[2]) + " " + std::string(m[3]) + "\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);  // the same seed draws the same trials
  EXPECT_EQ(Statuses()["sweep"], "reused");
}

TEST_F(SweepTest, NoTrialLoggingThePrimaryMetricFailsTheSweep) {
  Pipeline("    sampling_algorithm: grid\n",
           "      x: {type: choice, values: [0.1, 0.2]}\n      k: {type: choice, values: [1]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n");
  std::string p = testing::Read(dir_.path() + "/p.yml");
  p.replace(p.find("    trial: ./train.yml\n"), 23, "    trial: ./train.yml\n    environment_variables: {SILENT: '1'}\n");
  dir_.Write("p.yml", p);
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Note(), "no trial logged the primary metric `score` (2 of 2 trials succeeded)");
  EXPECT_EQ(r.err.find("mentions the primary metric"), std::string::npos) << r.err;  // the code does
  // A metric that nothing in the trial names is a warning before anything runs.
  p.replace(p.find("primary_metric: score"), 21, "primary_metric: acc_val");
  dir_.Write("p.yml", p);
  r = Weft({"run", "p.yml"});
  EXPECT_NE(r.err.find("step sweep: neither the trial's command nor its code mentions the primary metric "
                       "`acc_val`; a trial that never logs it does not count"),
            std::string::npos)
      << r.err;
}

// Bayesian: five seeded random trials, then batches of two proposed from the trials before them.
// The proposals find the optimum near x = 0.3; another workspace gets the very same trials; a
// rerun reuses the sweep.
TEST_F(SweepTest, ABayesianSweepLearnsFromEarlierTrialsAndTheSameSeedGivesTheSameTrials) {
  Pipeline("    sampling_algorithm: {type: bayesian, seed: 5}\n",
           "      x: {type: uniform, min_value: 0, max_value: 0.8}\n      k: {type: choice, values: [1]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n"
           "    limits: {max_total_trials: 11, max_concurrent_trials: 2}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json run = nlohmann::json::parse(Weft({"show", "last", "--json"}).out);
  std::vector<std::string> notes = TrialNotes(run, "sweep");
  ASSERT_EQ(notes.size(), 11u);
  double best = -1;
  std::smatch m;
  for (size_t k = 0; k < notes.size(); ++k) {
    ASSERT_TRUE(std::regex_search(notes[k], m, std::regex("^succeeded x=([0-9.e-]+), k=1: score"))) << notes[k];
    if (k >= 5) best = std::max(best, -std::abs(std::stod(m[1]) - 0.3));
  }
  EXPECT_GT(best, -0.05) << "no proposal came near the optimum";
  EXPECT_NE(Note().find("; 11 succeeded"), std::string::npos) << Note();
  EXPECT_NE(Weft({"show", "last"}).out.find("  job 10"), std::string::npos);

  testing::TempDir other;
  ProcessResult again = testing::Run({WEFT_BINARY, "run", "p.yml", "--workspace", other.path()}, dir_.path());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  nlohmann::json second = nlohmann::json::parse(
      testing::Run({WEFT_BINARY, "show", "last", "--json", "--workspace", other.path()}, dir_.path()).out);
  EXPECT_EQ(TrialNotes(second, "sweep"), notes);

  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["sweep"], "reused");
}

// A trial that logs `acc` (= x) N times, S seconds apart (`paced.py x N S`), while it counts how many
// trials are running with it.
constexpr const char* kPaced = R"(import json, os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped trial is no longer counted
x = float(sys.argv[1])
d = os.path.join(os.environ["TEST_DIR"], "running")
os.makedirs(d, exist_ok=True)
me = os.path.join(d, sys.argv[1])  # (not the pid: a step in a PID namespace of its own may share it)
open(me, "w").close()
with open(os.path.join(os.environ["TEST_DIR"], "together"), "a") as f:
    f.write("%d\n" % len(os.listdir(d)))
try:
    for k in range(int(sys.argv[2])):
        with open(os.environ["WEFT_METRICS"], "a") as f:
            f.write(json.dumps({"name": "acc", "value": x, "step": k}) + "\n")
        time.sleep(float(sys.argv[3]))
finally:
    os.remove(me)
)";

class PacedSweepTest : public SweepTest {
 protected:
  // A grid sweep over x whose trial runs `python SCRIPT x ARGS`.
  void Paced(const std::string& values, const std::string& script_args, const std::string& extra) {
    dir_.Write("src/paced.py", kPaced);
    dir_.Write("p.yml", "type: pipeline\njobs:\n  sweep:\n    type: sweep\n    trial:\n      code: ./src\n"
                        "      command: python " + script_args + "\n      " + kEnv +
                        "    sampling_algorithm: grid\n    search_space:\n      x: {type: choice, values: " +
                        values + "}\n    objective: {goal: maximize, primary_metric: acc}\n" + extra);
  }
  int MostTogether() {
    int most = 0;
    std::istringstream in(testing::Read(dir_.path() + "/together"));
    for (int n; in >> n;) most = std::max(most, n);
    return most;
  }
};

// Bandit: the trial far below the best is stopped at the first interval the policy looks at; the
// others run to their end. At most two trials ever run at once.
TEST_F(PacedSweepTest, BanditStopsATrialWhoseMetricIsPoorAndConcurrencyStaysWithinTheLimit) {
  Paced("[0.9, 0.2, 0.85]", "paced.py ${{search_space.x}} 8 0.3",
        "    limits: {max_concurrent_trials: 2}\n"
        "    early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1, delay_evaluation: 2}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> notes = Trials();
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], "succeeded x=0.9: acc 0.9");
  EXPECT_EQ(notes[1].rfind("canceled x=0.2: stopped early by the bandit policy at interval ", 0), 0u) << notes[1];
  EXPECT_NE(notes[1].find("0.2 is lower than 0.818182 (best 0.9, slack_factor 0.1, goal maximize)"),
            std::string::npos) << notes[1];
  EXPECT_EQ(notes[2], "succeeded x=0.85: acc 0.85");
  EXPECT_EQ(Note(), "best trial 0 of 3 (x=0.9): highest acc 0.9; 2 succeeded, 1 stopped early");
  // The stopped trial logged fewer values than the eight the others did.
  nlohmann::json metrics = nlohmann::json::parse(Weft({"metrics", "last", "sweep", "--json"}).out)[0];
  EXPECT_LT(metrics["metrics"][0]["count"].get<int>(), 24);
  EXPECT_EQ(MostTogether(), 2);
}

// A trial that logs acc = x, then takes a minute (saying so in $TEST_DIR/sleeping) unless x < 0.15.
constexpr const char* kSleepy = R"(import json, os, sys, time
x = float(sys.argv[1])
open(os.environ["WEFT_METRICS"], "a").write(json.dumps({"name": "acc", "value": x}) + "\n")
if x >= 0.15:
    open(os.path.join(os.environ["TEST_DIR"], "sleeping"), "w").close()
    time.sleep(60)
)";

TEST_F(PacedSweepTest, ATrialOverItsTrialTimeoutIsStoppedAndTheOthersGoOn) {
  dir_.Write("src/sleepy.py", kSleepy);
  Paced("[0.5, 0.1]", "sleepy.py ${{search_space.x}}", "    limits: {trial_timeout: 1}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> notes = Trials();
  EXPECT_EQ(notes, (std::vector<std::string>{"timed_out x=0.5: stopped after its 1 s limit (limits.trial_timeout)",
                                             "succeeded x=0.1: acc 0.1"}));
  EXPECT_EQ(Note(), "best trial 1 of 2 (x=0.1): highest acc 0.1; 1 succeeded, 1 failed");
}

// When the sweep's timeout passes, the running trial is stopped, no other starts, and the best
// finished trial wins.
TEST_F(PacedSweepTest, TheSweepsTimeoutStopsItsTrialsAndTheBestFinishedOneWins) {
  dir_.Write("src/sleepy.py", kSleepy);
  Paced("[0.1, 0.7, 0.9]", "sleepy.py ${{search_space.x}}", "    limits: {max_concurrent_trials: 1, timeout: 3}\n");
  auto start = std::chrono::steady_clock::now();
  pid_t weft = Start({"run", "p.yml"}, dir_.path() + "/sleeping");
  // While it runs, the sweep's note says how far it is.
  EXPECT_EQ(Note(), "1/3 trials, best acc 0.1 (trial 0)");
  ASSERT_EQ(Wait(weft), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  std::vector<std::string> notes = Trials();
  EXPECT_EQ(notes, (std::vector<std::string>{
                       "succeeded x=0.1: acc 0.1",
                       "canceled x=0.7: stopped: the sweep's 3 s limit (limits.timeout) was reached",
                       "canceled x=0.9: not started: the sweep's 3 s limit (limits.timeout) was reached"}));
  EXPECT_EQ(Note(), "best trial 0 of 3 (x=0.1): highest acc 0.1; 1 succeeded, 2 canceled; the sweep's 3 s limit "
                    "(limits.timeout) was reached");
}

// A choice of nested search spaces: each trial gets the hyperparameters of the space it picked,
// optional inputs of the others stay unset.
TEST_F(SweepTest, NestedSearchSpacesGiveEachTrialItsOwnHyperparameters) {
  dir_.Write("src/nested.py", "import argparse, json, os\np = argparse.ArgumentParser()\n"
                              "p.add_argument('--kind')\np.add_argument('--c', type=float)\n"
                              "p.add_argument('--depth', type=int)\na = p.parse_args()\n"
                              "score = a.c if a.kind == 'svm' else a.depth / 10\n"
                              "open(os.environ['WEFT_METRICS'], 'a').write(json.dumps({'name': 'score', 'value': score}) + '\\n')\n");
  dir_.Write("p.yml", std::string(R"(type: pipeline
jobs:
  sweep:
    type: sweep
    trial:
      code: ./src
      command: python nested.py --kind ${{inputs.kind}} $[[--c ${{inputs.c}}]] $[[--depth ${{inputs.depth}}]]
      inputs:
        kind: {type: string}
        c: {type: number, optional: true}
        depth: {type: integer, optional: true}
      )") + kEnv + R"(    sampling_algorithm: grid
    search_space:
      model:
        type: choice
        values:
          - {kind: svm, c: {type: choice, values: [0.1, 0.5]}}
          - {kind: tree, depth: {type: choice, values: [3]}}
    objective: {goal: maximize, primary_metric: score}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Trials(),
            (std::vector<std::string>{"succeeded kind=svm, c=0.1: score 0.1", "succeeded kind=svm, c=0.5: score 0.5",
                                      "succeeded kind=tree, depth=3: score 0.3"}));
  EXPECT_EQ(Note(), "best trial 1 of 3 (kind=svm, c=0.5): highest score 0.5; 3 succeeded");
}

// A failure elsewhere stops the run and, with it, the sweep's trials: a sweep cut short that way
// is not a result (though one trial had finished), so it is neither succeeded nor reused.
TEST_F(PacedSweepTest, ASweepCutShortByAFailureElsewhereIsNotKeptOrReused) {
  // Trials above 0.15 take a minute while $TEST_DIR/slow exists (not part of any fingerprint).
  dir_.Write("src/sleepy.py", "import json, os, sys, time\nx = float(sys.argv[1])\n"
                              "open(os.environ['WEFT_METRICS'], 'a').write(json.dumps({'name': 'acc', 'value': x}) + '\\n')\n"
                              "if x > 0.15 and os.path.exists(os.path.join(os.environ['TEST_DIR'], 'slow')):\n"
                              "    time.sleep(60)\n");
  dir_.Write("slow", "");
  Paced("[0.1, 0.5, 0.7]", "sleepy.py ${{search_space.x}}", "    limits: {max_concurrent_trials: 1}\n");
  std::string p = testing::Read(dir_.path() + "/p.yml");
  auto with_bad = [&](const char* code) {
    dir_.Write("p.yml", p + "  bad:\n    command: sleep 2; exit " + code + "\n    " + kEnv);
  };
  with_bad("3");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Statuses()["bad"], "failed");
  EXPECT_EQ(Statuses()["sweep"], "canceled");
  EXPECT_EQ(Trials(), (std::vector<std::string>{"succeeded x=0.1: acc 0.1",
                                                "canceled x=0.5: stopped: an earlier step failed",
                                                "skipped x=0.7: an earlier step failed"}));
  // The sweep is unchanged; it runs again in full.
  std::filesystem::remove(dir_.path() + "/slow");
  with_bad("0");
  r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Statuses()["sweep"], "succeeded");
  EXPECT_EQ(Note(), "best trial 2 of 3 (x=0.7): highest acc 0.7; 3 succeeded");
}

// Sobol: a seeded quasi-random sweep runs and reruns reused.
TEST_F(SweepTest, ASobolSweepRunsAndARerunReusesIt) {
  Pipeline("    sampling_algorithm: {type: random, rule: sobol, seed: 3}\n",
           "      x: {type: uniform, min_value: 0, max_value: 0.8}\n      k: {type: choice, values: [1, 2]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n    limits: {max_total_trials: 8}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(Note().find("; 8 succeeded"), std::string::npos) << Note();
  // Four trials in each half of x's range: the points are spread evenly.
  int low = 0;
  std::smatch m;
  for (const std::string& n : Trials()) {
    ASSERT_TRUE(std::regex_search(n, m, std::regex("x=([0-9.e-]+)"))) << n;
    low += std::stod(m[1]) < 0.4;
  }
  EXPECT_EQ(low, 4);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["sweep"], "reused");
  // More trials than weft runs in one sweep: refused before anything runs.
  std::string p = testing::Read(dir_.path() + "/p.yml");
  p.replace(p.find("max_total_trials: 8"), 19, "max_total_trials: 20000");
  dir_.Write("p.yml", p);
  r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("step sweep: `limits.max_total_trials` is 20000; weft runs at most 10000 trials in one sweep"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace weft
