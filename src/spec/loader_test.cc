// Every mistake the loader itself can find, with its message and line:column asserted.
#include "spec/loader.h"

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::spec {
namespace {

using weft::testing::TempDir;

class LoaderTest : public ::testing::Test {
 protected:
  // Loads `p.yml` (after writing `files`) and returns all diagnostics, with the temp folder's
  // path replaced by `@` so that expectations read as relative paths.
  std::string Load(const std::string& pipeline,
                   std::vector<std::pair<std::string, std::string>> files = {}) {
    for (const auto& [name, text] : files) dir_.Write(name, text);
    std::string path = dir_.Write("p.yml", pipeline);
    diags_ = Diagnostics();
    EmptyRegistry registry;
    loaded_ = LoadPipeline(path, registry, diags_);
    std::string all = diags_.FormatAll();
    for (size_t at; (at = all.find(dir_.path())) != std::string::npos;) {
      all.replace(at, dir_.path().size(), "@");
    }
    return all;
  }

  TempDir dir_;
  Diagnostics diags_;
  std::unique_ptr<LoadedPipeline> loaded_;
};

constexpr const char* kComponent = R"(name: train
version: 1
type: command
inputs:
  lr: {type: number, default: 0.1, min: 0, max: 1}
  epochs: {type: integer}
  mode: {type: string, enum: [fast, slow], default: fast}
  flag: {type: boolean, optional: true}
  data: {type: uri_folder}
outputs:
  model: {type: uri_folder}
environment: azureml:sklearn:1
command: python train.py --lr ${{inputs.lr}} --out ${{outputs.model}}
)";

TEST_F(LoaderTest, ValidPipelineHasNoErrors) {
  std::string all = Load(R"(type: pipeline
jobs:
  train:
    type: command
    component: ./train.yml
    inputs:
      epochs: 3
)",
                         {{"train.yml", kComponent}});
  EXPECT_FALSE(diags_.has_errors()) << all;
  ASSERT_NE(loaded_, nullptr);
  ASSERT_EQ(loaded_->job.jobs.size(), 1u);
  EXPECT_EQ(loaded_->job.jobs[0].command->name, "train");
  EXPECT_EQ(loaded_->job.jobs[0].command->version, "1");
}

TEST_F(LoaderTest, MissingJobs) {
  EXPECT_NE(Load("type: pipeline\ndisplay_name: x\n")
                .find("@/p.yml:1:1: error: pipeline job has no `jobs`"),
            std::string::npos);
}

TEST_F(LoaderTest, JobsOfTheWrongType) {
  std::string all = Load("type: pipeline\njobs: [a, b]\n");
  EXPECT_NE(all.find("@/p.yml:2:7: error: `jobs` must be a mapping of job names to jobs, not a list"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, WrongFieldTypes) {
  std::string all = Load(R"(type: pipeline
settings:
  continue_on_step_failure: maybe
jobs:
  a:
    command: echo
    environment: azureml:x:1
    limits:
      timeout: soon
)");
  EXPECT_NE(all.find("@/p.yml:3:29: error: `continue_on_step_failure` must be true or false, not "
                     "the string `maybe`"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:9:16: error: `timeout` must be an integer"), std::string::npos)
      << all;
}

TEST_F(LoaderTest, UnknownNodeTypes) {
  std::string all = Load(R"(type: pipeline
jobs:
  a:
    type: kommand
  b:
    type: spark
  c:
    type: automl
  d:
    type: do_while
)");
  EXPECT_NE(all.find("@/p.yml:4:11: error: job `a` has unknown type `kommand`"), std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:6:11: error: job `b` is a `spark` job, which runs only on Azure's "
                     "cloud services and is not supported locally"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:8:11: error: job `c` is a `automl` job"), std::string::npos);
  EXPECT_NE(all.find("@/p.yml:10:11: error: job `d` is a `do_while` control-flow node"),
            std::string::npos);
}

TEST_F(LoaderTest, MissingRequiredFieldsOfAComponent) {
  std::string all = Load(R"(type: pipeline
jobs:
  a:
    component: ./c.yml
)",
                         {{"c.yml", "type: command\ninputs: {}\n"}});
  EXPECT_NE(all.find("@/c.yml:1:1: error: command component has no `name`"), std::string::npos)
      << all;
  EXPECT_NE(all.find("@/c.yml:1:1: error: command component has no `environment`"),
            std::string::npos);
  EXPECT_NE(all.find("@/c.yml:1:1: error: command component has no `command`"), std::string::npos);
}

TEST_F(LoaderTest, CommandUsesUndeclaredInputOrOutput) {
  std::string all = Load(R"(type: pipeline
jobs:
  a:
    command: python x.py --lr ${{inputs.lrr}} --out ${{outputs.modle}}
    environment: azureml:x:1
    inputs:
      lr: 0.1
    outputs:
      model:
)");
  EXPECT_NE(all.find("@/p.yml:4:14: error: the command of job `a` uses `${{inputs.lrr}}`, but there "
                     "is no input `lrr`\n  hint: did you mean `lr`?"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("uses `${{outputs.modle}}`, but there is no output `modle`"),
            std::string::npos);
}

TEST_F(LoaderTest, NodeGivesAnInputTheComponentDoesNotDeclare) {
  std::string all = Load(R"(type: pipeline
jobs:
  t:
    component: ./train.yml
    inputs:
      epochs: 1
      learning_rate: 0.1
    outputs:
      modell: {type: uri_folder}
)",
                         {{"train.yml", kComponent}});
  EXPECT_NE(all.find("@/p.yml:7:22: error: job `t`: component `train` has no input "
                     "`learning_rate`"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:9:15: error: job `t`: component `train` has no output `modell`\n"
                     "  hint: did you mean `model`?"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, LiteralsViolatingTypeMinMaxEnum) {
  std::string all = Load(R"(type: pipeline
jobs:
  t:
    component: ./train.yml
    inputs:
      epochs: ten
      lr: 2
      mode: medium
)",
                         {{"train.yml", kComponent}});
  EXPECT_NE(all.find("@/p.yml:6:15: error: input `epochs` of job `t` is an integer, but `ten` is "
                     "not a number"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:7:11: error: input `lr` of job `t` is 2, above its maximum 1"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:8:13: error: input `mode` of job `t` is `medium`, which is not one of "
                     "its allowed values\n  hint: allowed: fast, slow"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, TypeMismatchesAzureAcceptsAreWarnings) {
  std::string all = Load(R"(type: pipeline
jobs:
  t:
    component: ./train.yml
    inputs:
      epochs: "3"
      lr: 1e-3
      flag: yes
      data: {type: uri_folder, path: .}
)",
                         {{"train.yml", kComponent}});
  EXPECT_FALSE(diags_.has_errors()) << all;
  EXPECT_NE(all.find("@/p.yml:6:15: warning: input `epochs` of job `t` is an integer but is given "
                     "string `3`"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:7:11: warning: input `lr` of job `t`: `1e-3` is a string in YAML 1.1, "
                     "not a number"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, MissingFilesAndFolders) {
  std::string all = Load(R"(type: pipeline
inputs:
  raw: {type: uri_folder, path: ./no-such-data}
jobs:
  a:
    component: ./missing.yml
  b:
    command: echo
    code: ./no-such-code
    environment: azureml:x:1
)");
  EXPECT_NE(all.find("@/p.yml:3:33: error: data path of input `raw` `./no-such-data` does not exist"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:6:16: error: component file `./missing.yml` does not exist\n"
                     "  hint: looked for @/missing.yml"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:9:11: error: code folder `./no-such-code` does not exist"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, BadStepNames) {
  std::string all = Load(R"(type: pipeline
jobs:
  "a/b":
    command: echo
    environment: azureml:x:1
  "..":
    command: echo
    environment: azureml:x:1
  "x\0y":
    command: echo
    environment: azureml:x:1
  "tab\there":
    command: echo
    environment: azureml:x:1
  Train-Model:
    command: echo
    environment: azureml:x:1
)");
  EXPECT_NE(all.find("@/p.yml:3:3: error: job name `a/b` contains `/`"), std::string::npos) << all;
  EXPECT_NE(all.find("@/p.yml:6:3: error: `..` cannot be a job name"), std::string::npos) << all;
  EXPECT_NE(all.find("@/p.yml:9:3: error: job name `x\\x00y` contains a control character"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:12:3: error: job name `tab\\x09here` contains a control character"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:15:3: warning: job name `Train-Model` is not a valid Azure ML name"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, UnknownKeysWarnWithSuggestions) {
  std::string all = Load(R"(type: pipeline
settings:
  default_datestore: workspaceblobstore
jobs:
  a:
    command: echo
    environment: azureml:x:1
    enviroment_variables: {A: b}
)");
  EXPECT_FALSE(diags_.has_errors()) << all;
  EXPECT_NE(all.find("@/p.yml:3:3: warning: unknown key `default_datestore` in `settings` is ignored\n"
                     "  hint: did you mean `default_datastore`?"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:8:5: warning: unknown key `enviroment_variables` in job `a` is ignored"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, OutputBoundToSomethingOtherThanParentOutputs) {
  std::string all = Load(R"(type: pipeline
jobs:
  a:
    command: echo ${{outputs.o}}
    environment: azureml:x:1
    outputs:
      o: ${{parent.jobs.b.outputs.x}}
)");
  EXPECT_NE(all.find("@/p.yml:7:10: error: output `o` is bound to `${{parent.jobs.b.outputs.x}}`; a "
                     "job's output can only be bound to `${{parent.outputs.NAME}}`"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, UnregisteredAzuremlReferences) {
  std::string all = Load(R"(type: pipeline
inputs:
  d: {type: uri_folder, path: azureml:digits:1}
jobs:
  a:
    component: azureml:train_component:3
  b:
    command: echo
    environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest
)");
  EXPECT_NE(all.find("@/p.yml:3:31: error: data asset `azureml:digits:1` is not registered in this "
                     "workspace\n  hint: register it with `weft data create --name digits"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:6:16: error: component `azureml:train_component:3` is not registered "
                     "in this workspace\n  hint: register it with `weft component create"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:9:18: warning: environment "
                     "`azureml://registries/azureml/environments/sklearn-1.5/labels/latest` is not "
                     "registered"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, PipelineComponentThatIncludesItself) {
  std::string all = Load(R"(type: pipeline
jobs:
  outer:
    type: pipeline
    component: ./loop.yml
)",
                         {{"loop.yml", "type: pipeline\nname: loop\njobs:\n  again:\n    type: "
                                       "pipeline\n    component: ./loop.yml\n"}});
  EXPECT_NE(all.find("@/loop.yml:1:1: error: this pipeline component contains itself"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, EmptyAndNonMappingFiles) {
  EXPECT_NE(Load("").find("@/p.yml:1:1: error: the file is empty"), std::string::npos);
  EXPECT_NE(Load("- a\n- b\n").find("@/p.yml:1:1: error: a pipeline file must be a mapping, not a "
                                    "list"),
            std::string::npos);
}

TEST_F(LoaderTest, ParallelNodeChecks) {
  dir_.Mkdir("src");
  dir_.Write("src/score.py", "def run(batch): return batch\n");
  std::string all = Load(R"(type: pipeline
inputs:
  data: {type: uri_folder, path: .}
jobs:
  score:
    type: parallel
    inputs:
      data: ${{parent.inputs.data}}
    outputs:
      results:
    input_data: ${{inputs.dta}}
    mini_batch_size: "ten"
    logging_level: LOUD
    task:
      type: run_function
      code: ./src
      entry_script: missing.py
      environment: azureml:x:1
      append_row_to: ${{outputs.result}}
)");
  EXPECT_NE(all.find("@/p.yml:11:17: error: `input_data` names `dta`, which is not an input"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:12:22: error: `mini_batch_size` `ten` is neither a file count nor a "
                     "size"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:13:20: error: unknown logging_level `LOUD`"), std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:17:21: error: entry script `missing.py` is not in the code folder"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:19:22: error: `append_row_to` is `${{outputs.result}}`"),
            std::string::npos)
      << all;
}

TEST_F(LoaderTest, SweepNodeChecks) {
  std::string all = Load(R"(type: pipeline
jobs:
  sweep:
    type: sweep
    trial: ./train.yml
    inputs:
      epochs: 2
    sampling_algorithm: grid
    search_space:
      lr: {type: uniform, min_value: 0.5, max_value: 0.1}
      momentum: {type: choice, values: [0.9]}
    objective: {goal: maximise, primary_metric: acc}
    early_termination: {type: bandit, slack_factor: 0.1, slack_amount: 0.2}
)",
                         {{"train.yml", kComponent}});
  EXPECT_NE(all.find("@/p.yml:10:7: error: grid sampling needs `choice` for every hyperparameter; "
                     "`lr` is `uniform`"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:10:38: error: search space `lr`: `min_value` must be less than "
                     "`max_value`"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:11:7: error: search space `momentum` is not an input of the trial"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:12:23: error: unknown objective goal `maximise`"), std::string::npos)
      << all;
  EXPECT_NE(all.find("@/p.yml:13:24: error: a bandit policy needs exactly one of `slack_factor` and "
                     "`slack_amount`"),
            std::string::npos)
      << all;
}

// A choice value may be a nested search space; its keys are hyperparameters like any other.
TEST_F(LoaderTest, NestedSearchSpacesAreParsedAndChecked) {
  std::string ok = Load(R"(type: pipeline
jobs:
  sweep:
    type: sweep
    trial: ./train.yml
    inputs: {data: {type: uri_folder, path: ./}}
    sampling_algorithm: random
    search_space:
      setup:
        type: choice
        values:
          - {mode: fast, lr: {type: uniform, min_value: 0.01, max_value: 0.1}}
          - {mode: slow, epochs: {type: randint, upper: 5}}
      flag: {type: choice, values: [true, false]}
    objective: {goal: Maximize, primary_metric: acc}
)",
                        {{"train.yml", kComponent}});
  EXPECT_EQ(ok.find("error"), std::string::npos) << ok;
  const SweepSpec& sw = *loaded_->job.jobs.front().sweep;
  ASSERT_EQ(sw.search_space.size(), 2u);
  const SearchDimension& setup = sw.search_space[0];
  ASSERT_TRUE(setup.nested());
  ASSERT_EQ(setup.options.size(), 2u);
  EXPECT_EQ(setup.options[0][0].name, "mode");
  EXPECT_EQ(setup.options[0][0].values[0].Render(), "fast");
  EXPECT_EQ(setup.options[0][1].type, "uniform");
  EXPECT_EQ(setup.options[1][1].type, "randint");
  EXPECT_EQ(HyperparameterNames(sw.search_space),
            (std::vector<std::string>{"mode", "lr", "epochs", "flag"}));
  EXPECT_EQ(sw.goal, "maximize");

  std::string bad = Load(R"(type: pipeline
jobs:
  sweep:
    type: sweep
    trial: ./train.yml
    sampling_algorithm: bayesian
    search_space:
      setup:
        type: choice
        values:
          - {speed: fast}
          - {}
    objective: {goal: maximize, primary_metric: acc}
)",
                         {{"train.yml", kComponent}});
  EXPECT_NE(bad.find("@/p.yml:8:7: error: bayesian sampling does not support nested search spaces; `setup` "
                     "has one"),
            std::string::npos)
      << bad;
  EXPECT_NE(bad.find("@/p.yml:11:14: error: search space `speed` is not an input of the trial"),
            std::string::npos)
      << bad;
  EXPECT_NE(bad.find("@/p.yml:12:13: error: search space `setup`: a nested search space is empty"),
            std::string::npos)
      << bad;
}

TEST_F(LoaderTest, EarlyTerminationPoliciesKeepTheirParameters) {
  auto policy = [&](const std::string& yaml) {
    std::string all = Load("type: pipeline\njobs:\n  sweep:\n    type: sweep\n    trial: ./train.yml\n"
                           "    inputs: {epochs: 2}\n    sampling_algorithm: random\n"
                           "    search_space:\n      lr: {type: uniform, min_value: 0.01, max_value: 0.1}\n"
                           "    objective: {goal: maximize, primary_metric: acc}\n"
                           "    early_termination: " + yaml + "\n",
                           {{"train.yml", kComponent}});
    EXPECT_EQ(all.find("error"), std::string::npos) << all;
    return loaded_->job.jobs.front().sweep->early_termination;
  };
  EarlyTermination b = policy("{type: bandit, slack_factor: 0.1, evaluation_interval: 2, delay_evaluation: 5}");
  EXPECT_EQ(b.type, "bandit");
  EXPECT_EQ(b.slack_factor, 0.1);
  EXPECT_FALSE(b.slack_amount.has_value());
  EXPECT_EQ(b.evaluation_interval, 2);
  EXPECT_EQ(b.delay_evaluation, 5);
  // As Azure's SDK writes a bandit policy: the slack not chosen is 0, and the interval may be 0.
  b = policy("{type: bandit, slack_factor: 0, slack_amount: 0.2, evaluation_interval: 0}");
  EXPECT_FALSE(b.slack_factor.has_value());
  EXPECT_EQ(b.slack_amount, 0.2);
  EXPECT_EQ(b.evaluation_interval, 0);
  EarlyTermination t = policy("{type: truncation_selection, truncation_percentage: 20, exclude_finished_jobs: true}");
  EXPECT_EQ(t.truncation_percentage, 20);
  EXPECT_TRUE(t.exclude_finished_jobs);
  EXPECT_EQ(policy("{type: median_stopping}").type, "median_stopping");
}

// A confined pipeline (submitted to a server) names only paths inside its root; others are
// refused where they are written, without being opened or even looked at.
TEST_F(LoaderTest, AConfinedPipelineReadsOnlyInsideItsRoots) {
  TempDir outside;
  outside.Write("c.yml", kComponent);
  outside.Mkdir("code");
  dir_.Mkdir("root/code");
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir_.path() + "/root/escape").c_str()), 0);
  std::string path = dir_.Write("root/p.yml", fmt::format(R"(type: pipeline
jobs:
  a:
    type: command
    component: {}/c.yml
  b:
    type: command
    command: echo
    environment: azureml:x:1
    code: ./escape/code
  c:
    type: command
    command: echo
    environment: azureml:x:1
    code: ./code
    inputs:
      d: {{type: uri_folder, path: ../}}
      e: {{type: uri_folder, path: /nonexistent/secret}}
)",
                                                          outside.path()));
  EmptyRegistry registry;
  LoadOptions confined;
  confined.roots = {dir_.path() + "/root"};
  std::unique_ptr<LoadedPipeline> p = LoadPipeline(path, registry, diags_, confined);
  std::string all = diags_.FormatAll();
  EXPECT_NE(all.find("p.yml:5:16: error: `" + outside.path() + "/c.yml` is outside the files submitted"),
            std::string::npos) << all;
  EXPECT_NE(all.find("p.yml:10:11: error: `./escape/code` is outside"), std::string::npos) << all;
  EXPECT_NE(all.find("p.yml:17:"), std::string::npos) << all;
  EXPECT_NE(all.find("`../` is outside"), std::string::npos) << all;
  // Whether a path outside exists is not told.
  EXPECT_NE(all.find("`/nonexistent/secret` is outside"), std::string::npos) << all;
  EXPECT_EQ(all.find("does not exist"), std::string::npos) << all;
  // Shown relative to the root, as the submitter named it.
  EXPECT_EQ(all.find(dir_.path()), std::string::npos) << all;
  // Unconfined, the same file loads those paths.
  Diagnostics free;
  LoadPipeline(path, registry, free);
  EXPECT_EQ(free.FormatAll().find("outside the files"), std::string::npos);
}

}  // namespace
}  // namespace weft::spec
