// Sweep jobs run by the real weft binary: trials drawn by grid or seeded random sampling run as
// jobs of the step, each with its hyperparameters; the best by the primary metric gives the
// step's outputs, which downstream steps consume.
#include <regex>

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
};

TEST_F(SweepTest, GridRunsEveryCombinationAndTheBestTrialsOutputGoesDownstream) {
  Pipeline("    sampling_algorithm: grid\n",
           "      x: {type: choice, values: [0.1, 0.3, 0.5, 0.95]}\n      k: {type: choice, values: [2, 1]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Trials in grid order (k varies fastest): trial 3 is x=0.3, k=1. The two with x=0.95 failed.
  EXPECT_EQ(Note(), "best trial 3 of 8 (x=0.3, k=1): score -0.01; 6 succeeded, 2 failed");
  EXPECT_EQ(Used(), "0.3 1\n");
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
  ASSERT_TRUE(std::regex_search(note, m, std::regex("best trial (\\d) of 6 \\(x=([0-9.e-]+), k=(\\d)\\): score (\\S+); 6 succeeded")))
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
}

TEST_F(SweepTest, BayesianSamplingIsRefusedBeforeAnythingRuns) {
  Pipeline("    sampling_algorithm: bayesian\n",
           "      x: {type: uniform, min_value: 0, max_value: 0.8}\n      k: {type: choice, values: [1]}\n",
           "    objective: {goal: maximize, primary_metric: score}\n    limits: {max_total_trials: 4}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("step sweep: bayesian sampling does not run yet"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace weft
