// weft's MLflow shim, one test per supported call: a Python script written against MLflow's API
// runs as a weft step (Debian's python3, which has no mlflow) and what it logged is read back
// through `weft metrics` and the step's `artifacts` output.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

class MlflowShimTest : public ::testing::Test {
 protected:
  ProcessResult Weft(std::vector<std::string> args) {
    args.insert(args.begin(), WEFT_BINARY);
    return testing::Run(args, dir_.path());
  }
  // Runs `body` (after `import mlflow`, and unless `only_mlflow`, `import mlflow.sklearn` and
  // `import mlflow.pyfunc`) as step `s`, which has a `model` output; expects success.
  void RunScript(const std::string& body, int expected_exit = 0, bool only_mlflow = false) {
    std::string imports = only_mlflow ? "import mlflow\nimport sys\n"
                                      : "import mlflow\nimport mlflow.sklearn\nimport mlflow.pyfunc\nimport sys\n";
    dir_.Write("src/s.py", imports + body);
    dir_.Write("p.yml", "type: pipeline\njobs:\n  s:\n    code: ./src\n"
                        "    command: python s.py ${{outputs.model}}\n"
                        "    environment: {image: python:3.11}\n"
                        "    outputs: {model: {type: mlflow_model}}\n");
    ProcessResult r = Weft({"run", "p.yml"});
    ProcessResult log = Weft({"logs", "last", "s"});
    ASSERT_EQ(r.exit_code, expected_exit) << r.out << r.err << log.out;
    log_ = log.out;
  }
  // `weft metrics last s --json` for the step: {"metrics": [...], "params": {...}, "tags": {...}}.
  nlohmann::json Logged(bool history = false) {
    std::vector<std::string> args = {"metrics", "last", "s", "--json"};
    if (history) args.push_back("--history");
    ProcessResult r = Weft(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    return j.empty() ? nlohmann::json::object() : j[0];
  }
  std::map<std::string, double> Latest() {
    std::map<std::string, double> out;
    nlohmann::json logged = Logged();
    for (const auto& m : logged["metrics"]) out[m["name"].get<std::string>()] = m["latest"].get<double>();
    return out;
  }
  // A file of the step's output `name` (artifacts: the working folder's outputs/ and logs/).
  std::string OutputFile(const std::string& name, const std::string& rel) {
    fs::remove_all(dir_.path() + "/got");
    ProcessResult g = Weft({"get", "last", "s." + name, "got"});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    std::ifstream in(dir_.path() + "/got/" + rel);
    EXPECT_TRUE(in.good()) << rel;
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string Artifact(const std::string& rel) { return OutputFile("artifacts", "outputs/" + rel); }

  testing::TempDir dir_;
  std::string log_;
};

constexpr const char* kFit = R"(
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
)";

TEST_F(MlflowShimTest, LogMetricWithStepsLandsInWeftMetrics) {
  RunScript("for i, loss in enumerate([0.9, 0.5, 0.25]):\n    mlflow.log_metric('loss', loss, step=i)\n");
  nlohmann::json h = Logged(true)["metrics"];
  ASSERT_EQ(h.size(), 3u) << h;
  EXPECT_EQ(h[2]["name"], "loss");
  EXPECT_EQ(h[2]["value"], 0.25);
  EXPECT_EQ(h[2]["step"], 2);
  nlohmann::json s = Logged()["metrics"][0];
  EXPECT_EQ(s["min"], 0.25);
  EXPECT_EQ(s["max"], 0.9);
}

TEST_F(MlflowShimTest, LogMetricsLogsEveryEntry) {
  RunScript("mlflow.log_metrics({'precision': 0.75, 'recall': 0.5}, step=1)\n");
  std::map<std::string, double> m = Latest();
  EXPECT_EQ(m["precision"], 0.75);
  EXPECT_EQ(m["recall"], 0.5);
}

TEST_F(MlflowShimTest, LogParamAndLogParamsAreRecordedAsText) {
  RunScript("assert mlflow.log_param('alpha', 0.1) == 0.1\n"
            "mlflow.log_params({'depth': 4, 'kernel': 'rbf'})\n");
  nlohmann::json p = Logged()["params"];
  EXPECT_EQ(p["alpha"], "0.1");
  EXPECT_EQ(p["depth"], "4");
  EXPECT_EQ(p["kernel"], "rbf");
}

TEST_F(MlflowShimTest, SetTagAndSetTags) {
  RunScript("mlflow.set_tag('stage', 'dev')\nmlflow.set_tags({'team': 'vision', 'stage': 'prod'})\n");
  nlohmann::json t = Logged()["tags"];
  EXPECT_EQ(t["team"], "vision");
  EXPECT_EQ(t["stage"], "prod") << "the last value wins";
}

TEST_F(MlflowShimTest, StartRunAndEndRunAsContextManagers) {
  RunScript(R"(
with mlflow.start_run(run_name='outer', tags={'k': 'v'}) as run:
    assert mlflow.active_run() is run
    assert run.info.run_id.startswith('r1-s'), run.info.run_id
    with mlflow.start_run(nested=True) as child:
        assert child is not run and mlflow.active_run() is child
        mlflow.log_metric('inner', 1)
    assert mlflow.active_run() is run
assert mlflow.active_run() is None
assert mlflow.last_active_run().info.status == 'FINISHED'
mlflow.start_run()
mlflow.end_run()
assert mlflow.active_run() is None
try:
    with mlflow.start_run():
        raise ValueError('boom')
except ValueError:
    pass
assert mlflow.last_active_run().info.status == 'FAILED'
print('runs ok')
)");
  EXPECT_NE(log_.find("runs ok"), std::string::npos) << log_;
  EXPECT_EQ(Latest()["inner"], 1);
  EXPECT_EQ(Logged()["tags"]["k"], "v");
}

TEST_F(MlflowShimTest, ActiveRunIsNoneUntilARunStartsOrSomethingIsLogged) {
  RunScript("assert mlflow.active_run() is None\nmlflow.log_metric('x', 2)\n"
            "assert mlflow.active_run() is not None\nprint('experiment', "
            "mlflow.active_run().info.experiment_id)\n");
  EXPECT_EQ(Latest()["x"], 2);
}

TEST_F(MlflowShimTest, AutologRecordsTheEstimatorsParamsAndTrainingScore) {
  RunScript(std::string("mlflow.autolog()\n") + kFit +
            "m = LogisticRegression(C=0.5, max_iter=300).fit(X, y)\nprint('score', m.score(X, y))\n");
  nlohmann::json j = Logged();
  EXPECT_EQ(j["params"]["C"], "0.5");
  EXPECT_EQ(j["params"]["max_iter"], "300");
  EXPECT_EQ(j["tags"]["estimator_name"], "LogisticRegression");
  std::map<std::string, double> m = Latest();
  ASSERT_TRUE(m.count("training_score")) << j;
  EXPECT_GT(m["training_score"], 0.9);
  EXPECT_NE(Artifact("model/MLmodel").find("sklearn_version"), std::string::npos);
}

// MLflow loads its flavour modules on attribute access: scripts that only `import mlflow` use
// mlflow.sklearn and mlflow.pyfunc directly.
TEST_F(MlflowShimTest, SubmodulesAreReachableWithoutImportingThem) {
  RunScript(std::string("mlflow.sklearn.autolog()\n") + kFit + R"(
m = LogisticRegression(max_iter=300).fit(X, y)
mlflow.sklearn.save_model(m, sys.argv[1])
again = mlflow.sklearn.load_model(sys.argv[1])
print("same", (again.predict(X) == m.predict(X)).all())
print("pyfunc", mlflow.pyfunc.load_model(sys.argv[1]).predict(X[:3]).tolist())
)",
            0, true);
  EXPECT_NE(log_.find("same True"), std::string::npos) << log_;
  EXPECT_NE(log_.find("pyfunc [0, 0, 0]"), std::string::npos) << log_;
  EXPECT_TRUE(Latest().count("training_accuracy_score"));
}

// Autolog's metrics carry MLflow's names and values: the script computes each with scikit-learn
// as MLflow does and prints it; `weft metrics` must hold the same numbers.
TEST_F(MlflowShimTest, AutologLogsMlflowsTrainingMetrics) {
  auto check = [&](const std::string& script, const std::vector<std::string>& names,
                   const std::vector<std::string>& absent) {
    RunScript(script, 0, true);
    std::map<std::string, double> got = Latest();
    for (const std::string& n : names) {
      std::string key = "expect " + n + " ";
      size_t at = log_.find(key);
      ASSERT_NE(at, std::string::npos) << n << "\n" << log_;
      double want = std::stod(log_.substr(at + key.size()));
      ASSERT_TRUE(got.count(n)) << n << " was not logged\n" << log_;
      EXPECT_NEAR(got[n], want, 1e-9) << n;
    }
    for (const std::string& n : absent) EXPECT_FALSE(got.count(n)) << n << " should not be logged";
  };
  const std::string expect = R"(
from sklearn import metrics as M
def expect(name, value): print("expect", name, repr(float(value)))
)";
  // Multiclass with predict_proba: weighted averages, log loss, one-vs-one ROC AUC.
  check(expect + R"(
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
X, y = load_iris(return_X_y=True)
mlflow.sklearn.autolog(log_models=False)
m = RandomForestClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
p = m.predict(X); q = m.predict_proba(X)
for n, f in (("precision", M.precision_score), ("recall", M.recall_score), ("f1", M.f1_score)):
    expect("training_%s_score" % n, f(y, p, average="weighted"))
expect("training_accuracy_score", M.accuracy_score(y, p))
expect("training_log_loss", M.log_loss(y, q))
expect("training_roc_auc", M.roc_auc_score(y, q, average="weighted", multi_class="ovo"))
expect("training_score", m.score(X, y))
)",
        {"training_precision_score", "training_recall_score", "training_f1_score",
         "training_accuracy_score", "training_log_loss", "training_roc_auc", "training_score"},
        {});
  // Binary with a positive label: binary averages; ROC AUC on the greater label's probability.
  check(expect + R"(
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
X, y = load_breast_cancer(return_X_y=True)
X = X[:, :5]
mlflow.sklearn.autolog(log_models=False, pos_label=0)
m = LogisticRegression(max_iter=2000).fit(X, y)
p = m.predict(X); q = m.predict_proba(X)
expect("training_precision_score", M.precision_score(y, p, pos_label=0, average="binary"))
expect("training_recall_score", M.recall_score(y, p, pos_label=0, average="binary"))
expect("training_f1_score", M.f1_score(y, p, pos_label=0, average="binary"))
expect("training_roc_auc", M.roc_auc_score(y, q[:, 1]))
)",
        {"training_precision_score", "training_recall_score", "training_f1_score",
         "training_roc_auc"},
        {});
  // No predict_proba: no log loss, no ROC AUC.
  check(expect + R"(
from sklearn.datasets import load_iris
from sklearn.svm import LinearSVC
X, y = load_iris(return_X_y=True)
mlflow.autolog(log_models=False)
m = LinearSVC(max_iter=5000, random_state=0).fit(X, y)
expect("training_accuracy_score", M.accuracy_score(y, m.predict(X)))
)",
        {"training_accuracy_score"}, {"training_log_loss", "training_roc_auc"});
  // A regressor, with sample weights taken from fit().
  check(expect + R"(
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
X, y = load_diabetes(return_X_y=True)
w = np.linspace(0.5, 1.5, len(y))
mlflow.sklearn.autolog(log_models=False)
m = Ridge(alpha=0.5).fit(X, y, sample_weight=w)
p = m.predict(X)
mse = M.mean_squared_error(y, p, sample_weight=w)
expect("training_mean_squared_error", mse)
expect("training_root_mean_squared_error", mse ** 0.5)
expect("training_mean_absolute_error", M.mean_absolute_error(y, p, sample_weight=w))
expect("training_r2_score", M.r2_score(y, p, sample_weight=w))
expect("training_score", m.score(X, y, w))
)",
        {"training_mean_squared_error", "training_root_mean_squared_error",
         "training_mean_absolute_error", "training_r2_score", "training_score"},
        {"training_accuracy_score"});
}

TEST_F(MlflowShimTest, SklearnAutologLogsOnlyTheOutermostFit) {
  RunScript(std::string("mlflow.sklearn.autolog(log_models=False)\n") + kFit + R"(
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier  # imported after autolog: patched too
make_pipeline(StandardScaler(), DecisionTreeClassifier(max_depth=2)).fit(X, y)
)");
  nlohmann::json j = Logged(true);
  int scores = 0;
  for (const auto& m : j["metrics"]) scores += m["name"] == "training_score";
  EXPECT_EQ(scores, 1) << j;
  EXPECT_EQ(j["tags"]["estimator_name"], "Pipeline");
  EXPECT_EQ(j["params"]["decisiontreeclassifier__max_depth"], "2");
}

TEST_F(MlflowShimTest, SklearnSaveModelWritesTheStandardLayoutIntoAnOutput) {
  RunScript(std::string(kFit) + "m = LogisticRegression(max_iter=300).fit(X, y)\n"
                                "mlflow.sklearn.save_model(m, sys.argv[1])\n");
  std::string mlmodel = OutputFile("model", "MLmodel");
  EXPECT_NE(mlmodel.find("loader_module: mlflow.sklearn"), std::string::npos) << mlmodel;
  EXPECT_NE(mlmodel.find("pickled_model: model.pkl"), std::string::npos) << mlmodel;
  for (const char* f : {"model.pkl", "conda.yaml", "python_env.yaml", "requirements.txt"}) {
    EXPECT_TRUE(fs::exists(dir_.path() + "/got/" + f)) << f;
  }
}

TEST_F(MlflowShimTest, SklearnSaveModelRefusesAFolderThatIsNotEmpty) {
  RunScript(std::string(kFit) + R"(
import os
open(os.path.join(sys.argv[1], 'x'), 'w').write('x')
m = LogisticRegression(max_iter=300).fit(X, y)
try:
    mlflow.sklearn.save_model(m, sys.argv[1])
except mlflow.MlflowException as e:
    print('refused:', e)
)");
  EXPECT_NE(log_.find("already exists and is not empty"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, SklearnLoadModelReadsWhatSaveModelWrote) {
  RunScript(std::string(kFit) + R"(
m = LogisticRegression(max_iter=300).fit(X, y)
mlflow.sklearn.save_model(m, sys.argv[1])
back = mlflow.sklearn.load_model(sys.argv[1])
assert (back.predict(X) == m.predict(X)).all()
print('loaded', type(back).__name__)
)");
  EXPECT_NE(log_.find("loaded LogisticRegression"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, SklearnLogModelStoresUnderArtifactsAndLoadsByRunsUri) {
  RunScript(std::string(kFit) + R"(
m = LogisticRegression(max_iter=300).fit(X, y)
info = mlflow.sklearn.log_model(m, 'clf')
print('uri', info.model_uri)
back = mlflow.sklearn.load_model(info.model_uri)
assert (back.predict(X) == m.predict(X)).all()
)");
  EXPECT_NE(log_.find("uri runs:/r1-s/clf"), std::string::npos) << log_;
  EXPECT_NE(Artifact("clf/MLmodel").find("artifact_path: clf"), std::string::npos);
}

TEST_F(MlflowShimTest, PyfuncLoadModelPredicts) {
  RunScript(std::string(kFit) + R"(
m = LogisticRegression(max_iter=300).fit(X, y)
mlflow.sklearn.save_model(m, sys.argv[1])
print('predicted', list(mlflow.pyfunc.load_model(sys.argv[1]).predict(X[:2])))
)");
  EXPECT_NE(log_.find("predicted [0, 0]"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, LogArtifactAndLogArtifacts) {
  RunScript(R"(
import os
open('notes.txt', 'w').write('n1')
os.makedirs('plots/sub', exist_ok=True)
open('plots/sub/a.txt', 'w').write('a1')
mlflow.log_artifact('notes.txt')
mlflow.log_artifact('notes.txt', artifact_path='more')
mlflow.log_artifacts('plots', artifact_path='figs')
try:
    mlflow.log_artifact('notes.txt', artifact_path='../../escape')
except mlflow.MlflowException as e:
    print('refused:', e)
)");
  EXPECT_EQ(Artifact("notes.txt"), "n1");
  EXPECT_EQ(Artifact("more/notes.txt"), "n1");
  EXPECT_EQ(Artifact("figs/sub/a.txt"), "a1");
  EXPECT_NE(log_.find("leaves the run's artifacts"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, LogDictAndLogText) {
  RunScript("mlflow.log_dict({'a': 1, 'b': [1, 2]}, 'cfg/params.json')\n"
            "mlflow.log_text('hello', 'notes/readme.txt')\n");
  EXPECT_EQ(nlohmann::json::parse(Artifact("cfg/params.json")), nlohmann::json::parse(R"({"a":1,"b":[1,2]})"));
  EXPECT_EQ(Artifact("notes/readme.txt"), "hello");
}

TEST_F(MlflowShimTest, LogFigureSavesTheFigureAsAnArtifact) {
  // Any object with matplotlib's savefig: the shim calls it with the artifact's path.
  RunScript(R"(
class Figure:
    def savefig(self, path, **kw):
        open(path, 'w').write('png ' + str(kw.get('dpi')))
mlflow.log_figure(Figure(), 'figures/loss.png', save_kwargs={'dpi': 72})
try:
    mlflow.log_figure(object(), 'x.png')
except mlflow.MlflowException as e:
    print('refused:', e)
)");
  EXPECT_EQ(Artifact("figures/loss.png"), "png 72");
  EXPECT_NE(log_.find("takes a matplotlib or plotly figure"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, ArtifactUriExperimentAndTrackingUri) {
  RunScript(R"(
mlflow.set_tracking_uri('azureml://somewhere')
assert mlflow.get_tracking_uri() == 'azureml://somewhere'
assert mlflow.set_experiment('exp-a').name == 'exp-a'
print('artifact uri', mlflow.get_artifact_uri('m'))
)");
  EXPECT_NE(log_.find("artifact uri file://"), std::string::npos) << log_;
  EXPECT_NE(log_.find("/work/outputs/m"), std::string::npos) << log_;
}

TEST_F(MlflowShimTest, AnythingElseSaysTheShimDoesNotSupportIt) {
  RunScript("mlflow.log_metric('before', 1)\nmlflow.register_model('runs:/x/m', 'name')\n", 1);
  EXPECT_NE(log_.find("AttributeError: mlflow.register_model is not supported by weft's MLflow shim"),
            std::string::npos)
      << log_;
  RunScript("from mlflow.sklearn import eval_and_log_metrics\n", 1);
  EXPECT_NE(log_.find("mlflow.sklearn.eval_and_log_metrics is not supported by weft's MLflow shim"),
            std::string::npos)
      << log_;
}

TEST_F(MlflowShimTest, AReusedStepShowsTheMetricsOfTheAttemptItReuses) {
  RunScript("mlflow.log_metric('acc', 0.8)\nmlflow.log_param('seed', 7)\n");
  ProcessResult again = Weft({"run", "p.yml"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ProcessResult show = Weft({"metrics", "last", "--json"});
  nlohmann::json j = nlohmann::json::parse(show.out);
  ASSERT_EQ(j.size(), 1u) << show.out;
  EXPECT_EQ(j[0]["status"], "reused");
  EXPECT_EQ(j[0]["metrics"][0]["latest"], 0.8);
  EXPECT_EQ(j[0]["params"]["seed"], "7");
}

TEST_F(MlflowShimTest, ARealMlflowInTheEnvironmentIsUsedInstead) {
  // An interpreter whose package path has an `mlflow` distribution gets no shim.
  dir_.Write("site/mlflow/__init__.py", "REAL = True\ndef log_metric(*a, **k): print('real mlflow')\n");
  dir_.Write("site/mlflow/sklearn.py", "");
  dir_.Write("site/mlflow/pyfunc.py", "");
  dir_.Write("site/mlflow-9.9.dist-info/METADATA", "Metadata-Version: 2.1\nName: mlflow\nVersion: 9.9\n");
  dir_.Write("py.sh", "#!/bin/sh\nPYTHONPATH=\"" + dir_.path() + "/site\" exec /usr/bin/python3 \"$@\"\n");
  fs::permissions(dir_.path() + "/py.sh", fs::perms::owner_all);
  dir_.Write(".weft/config.yaml", "python: " + dir_.path() + "/py.sh\n");
  RunScript("mlflow.log_metric('x', 1)\nassert mlflow.REAL\n");
  EXPECT_NE(log_.find("real mlflow"), std::string::npos) << log_;
}

}  // namespace
}  // namespace weft
