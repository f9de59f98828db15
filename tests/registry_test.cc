// End-to-end tests of the registry: `weft component|environment|data create|list|show|archive`
// and pipelines that name registered assets in every `azureml:` form.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() + "/.weft");  // every command below uses this workspace
  }
  ProcessResult Weft(std::vector<std::string> args, const std::string& cwd = "") {
    args.insert(args.begin(), WEFT_BINARY);
    return testing::Run(args, cwd.empty() ? dir_.path() : cwd);
  }
  std::string Read(const std::string& rel) {
    std::ifstream in(dir_.path() + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // The content of a step's output file, through `weft get`.
  std::string Output(const std::string& step_output, const std::string& file) {
    fs::remove_all(dir_.path() + "/got");
    ProcessResult g = Weft({"get", "last", step_output, "got"});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    return Read("got/" + file);
  }
  testing::TempDir dir_;
};

// A component whose code folder sits beside its YAML file's folder (`code: ../src`) and whose
// environment is a file with a conda file.
void WriteComponent(const testing::TempDir& d, const std::string& greeting, bool versioned) {
  d.Write("lib/src/hello.sh", "echo \"" + greeting + " $1\" > \"$2/said.txt\"\n");
  d.Write("lib/src/.amlignore", "*.tmp\n");
  d.Write("lib/src/scratch.tmp", "not part of the component");
  d.Write("lib/components/conda.yml", "dependencies:\n  - python=3.11\n");
  d.Write("lib/components/env.yml", "name: hello-env\nversion: 1\nimage: python:3.11\n"
                                    "conda_file: conda.yml\n");
  d.Write("lib/components/hello.yml",
          std::string("$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
                      "type: command\nname: hello\n") +
              (versioned ? "version: 1\n" : "") +
              "inputs:\n  who: {type: uri_file}\n"
              "outputs:\n  said: {type: uri_folder}\n"
              "code: ../src\n"
              "environment: file:env.yml\n"
              "command: bash hello.sh \"$(cat ${{inputs.who}})\" ${{outputs.said}}\n");
}

TEST_F(RegistryTest, RegisteredAssetsResolveInEveryReferenceForm) {
  WriteComponent(dir_, "hello", true);
  dir_.Write("names/world.txt", "world");
  ProcessResult c = Weft({"component", "create", "-f", "lib/components/hello.yml"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("registered component hello:1"), std::string::npos) << c.out;
  // The same again: a no-op. The same version with other content: refused, naming it.
  ProcessResult again = Weft({"component", "create", "-f", "lib/components/hello.yml"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already registered: component hello:1"), std::string::npos);
  WriteComponent(dir_, "bonjour", true);
  ProcessResult clash = Weft({"component", "create", "-f", "lib/components/hello.yml"});
  EXPECT_EQ(clash.exit_code, 2);
  EXPECT_NE(clash.err.find("component hello:1 is already registered with other content"),
            std::string::npos)
      << clash.err;
  // Without a version: the next integer.
  WriteComponent(dir_, "bonjour", false);
  ProcessResult v2 = Weft({"component", "create", "-f", "lib/components/hello.yml"});
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_NE(v2.out.find("registered component hello:2"), std::string::npos) << v2.out;
  ASSERT_EQ(Weft({"component", "create", "-f", "lib/components/hello.yml", "--registry", "shared"})
                .exit_code,
            0);
  ProcessResult env = Weft({"environment", "create", "-f", "lib/components/env.yml"});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_NE(env.out.find("registered environment hello-env:1"), std::string::npos) << env.out;
  ProcessResult data = Weft({"data", "create", "--name", "names", "--path", "names/world.txt"});
  ASSERT_EQ(data.exit_code, 0) << data.err;
  EXPECT_NE(data.out.find("registered data names:1"), std::string::npos) << data.out;
  dir_.Write("names/world.txt", "planet");
  dir_.Write("names.yml", "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
                          "type: uri_file\nname: names\nversion: 7\npath: names/world.txt\n");
  ASSERT_EQ(Weft({"data", "create", "-f", "names.yml"}).exit_code, 0);

  // The sources are gone: everything now comes from the store.
  fs::remove_all(dir_.path() + "/lib");
  fs::remove_all(dir_.path() + "/names");
  std::string arm =
      "azureml:/subscriptions/0000/resourceGroups/rg/providers/"
      "Microsoft.MachineLearningServices/workspaces/ws/components/hello/versions/1";
  dir_.Write("p.yml", R"(type: pipeline
jobs:
  pinned:
    component: azureml:hello:1
    inputs: {who: {type: uri_file, path: azureml:names:1}}
  latest:
    component: azureml:hello@latest
    inputs: {who: {type: uri_file, path: azureml:names@latest}}
  bare:
    component: azureml:hello
    inputs: {who: {type: uri_file, path: "azureml:names:1"}}
  arm:
    component: )" + arm + R"(
    inputs: {who: {type: uri_file, path: "azureml:names:7"}}
  shared:
    component: azureml://registries/shared/components/hello/labels/latest
    inputs: {who: {type: uri_file, path: "azureml:names:1"}}
  with_env:
    command: echo ok > ${{outputs.o}}/ok
    environment: azureml:hello-env:1
    outputs: {o: {type: uri_folder}}
)");
  ProcessResult run = Weft({"run", "p.yml"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.err.find("not registered"), std::string::npos) << run.err;
  EXPECT_EQ(Output("pinned.said", "said.txt"), "hello world\n");
  EXPECT_EQ(Output("latest.said", "said.txt"), "bonjour planet\n");
  EXPECT_EQ(Output("bare.said", "said.txt"), "bonjour world\n");
  EXPECT_EQ(Output("arm.said", "said.txt"), "hello planet\n");
  EXPECT_EQ(Output("shared.said", "said.txt"), "bonjour world\n");

  // list, show, archive: archiving hides a version from @latest.
  ProcessResult list = Weft({"component", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 3u);
  ProcessResult show = Weft({"component", "show", "hello@latest", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out)["version"], "2");
  ASSERT_EQ(Weft({"component", "archive", "hello:2"}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(Weft({"component", "show", "hello@latest", "--json"}).out)["version"],
            "1");
  EXPECT_EQ(nlohmann::json::parse(Weft({"component", "list", "--json"}).out).size(), 2u);
  ProcessResult missing = Weft({"data", "show", "nothing:1"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no data `nothing:1` is registered"), std::string::npos) << missing.err;
}

TEST_F(RegistryTest, ValidateUsesTheWorkspaceRegistryAndNamesWhatIsMissing) {
  WriteComponent(dir_, "hello", true);
  ASSERT_EQ(Weft({"component", "create", "-f", "lib/components/hello.yml"}).exit_code, 0);
  dir_.Write("p.yml", "type: pipeline\njobs:\n  a:\n    component: azureml:hello:1\n"
                      "    inputs: {who: {type: uri_file, path: azureml:nobody:1}}\n");
  ProcessResult v = Weft({"validate", "p.yml"});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_EQ(v.err.find("component `azureml:hello:1` is not registered"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("p.yml:5:42: error: data asset `azureml:nobody:1` is not registered"),
            std::string::npos)
      << v.err;
  // A component file with an error registers nothing and says where.
  dir_.Write("bad.yml", "type: command\nname: bad\ncommand: echo ${{inputs.nope}}\n");
  ProcessResult bad = Weft({"component", "create", "-f", "bad.yml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yml:3:"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("nothing registered"), std::string::npos) << bad.err;
  EXPECT_EQ(nlohmann::json::parse(Weft({"component", "list", "--json"}).out).size(), 1u);
}

// Outputs with `name` (and `version`) register a data version when the step succeeds or is
// reused; a later pipeline can name it.
TEST_F(RegistryTest, NamedOutputsRegisterVersions) {
  auto write = [&](const std::string& word) {
    dir_.Write("p.yml", "type: pipeline\njobs:\n  make:\n    command: echo " + word +
                            " > ${{outputs.o}}/word.txt; echo " + word + " > ${{outputs.n}}/n\n"
                            "    environment: {image: python:3.11}\n"
                            "    outputs:\n"
                            "      n: {type: uri_folder, name: counts}\n"
                            "      o: {type: uri_folder, name: words, version: '3'}\n");
  };
  write("alpha");
  ProcessResult first = Weft({"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ProcessResult show = Weft({"data", "show", "words:3", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(nlohmann::json::parse(show.out)["source"].get<std::string>().find("run r1 step make output o"),
            std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(Weft({"data", "show", "counts@latest", "--json"}).out)["version"], "1");
  // Reused: the same versions again, nothing new.
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(Weft({"data", "list", "--json"}).out).size(), 2u);
  // Other content under the same version: the step fails and names the asset.
  write("beta");
  ProcessResult clash = Weft({"run", "p.yml"});
  EXPECT_EQ(clash.exit_code, 1);
  ProcessResult shown = Weft({"show", "last"});
  EXPECT_NE(shown.out.find("data words:3 is already registered with other content"), std::string::npos)
      << shown.out;
  // All of a step's registrations or none: counts did not gain a version either.
  EXPECT_EQ(nlohmann::json::parse(Weft({"data", "list", "--json"}).out).size(), 2u);
  dir_.Write("q.yml", "type: pipeline\njobs:\n  read:\n    command: cat ${{inputs.w}}/word.txt > "
                      "${{outputs.o}}/copy.txt\n"
                      "    environment: {image: python:3.11}\n"
                      "    inputs: {w: {type: uri_folder, path: azureml:words:3}}\n"
                      "    outputs: {o: {type: uri_folder}}\n");
  ASSERT_EQ(Weft({"run", "q.yml"}).exit_code, 0);
  EXPECT_EQ(Output("read.o", "copy.txt"), "alpha\n");
}

TEST_F(RegistryTest, DataAssetsFromDatastoresAndMirroredUrlsStoreTheirContent) {
  dir_.Write(".weft/config.yaml", "datastores: {lake: ../lake}\n"
                                  "mirrors: {\"abfss://fs@acct.dfs.core.windows.net/\": ../adls}\n");
  dir_.Write("lake/raw/a.csv", "x\n1\n");
  dir_.Write("adls/tables/t.csv", "y\n2\n");
  dir_.Write("lake.yml", "name: lakeraw\ntype: uri_folder\npath: azureml://datastores/lake/paths/raw\n");
  ProcessResult a = Weft({"data", "create", "-f", "lake.yml"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ProcessResult b = Weft({"data", "create", "--name", "adls", "--type", "uri_file", "--path",
                          "abfss://fs@acct.dfs.core.windows.net/tables/t.csv"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  nlohmann::json shown = nlohmann::json::parse(Weft({"data", "show", "adls:1", "--json"}).out);
  EXPECT_EQ(shown["source"], "abfss://fs@acct.dfs.core.windows.net/tables/t.csv");
  EXPECT_EQ(shown["type"], "uri_file");
  // Stored by content: changing the datastore afterwards does not change the version.
  dir_.Write("lake/raw/a.csv", "changed\n");
  dir_.Write("p.yml", "type: pipeline\njobs:\n  read:\n    command: cat ${{inputs.l}}/a.csv "
                      "${{inputs.t}}\n    environment: {image: python:3.11}\n"
                      "    inputs:\n      l: {type: uri_folder, path: azureml:lakeraw:1}\n"
                      "      t: {type: uri_file, path: azureml:adls@latest}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Weft({"logs", "last", "read"}).out, "x\n1\ny\n2\n");
  // What is not there, or not mirrored, registers nothing and says why.
  ProcessResult gone = Weft({"data", "create", "--name", "g", "--path", "azureml://datastores/lake/paths/nope"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("datastore path `azureml://datastores/lake/paths/nope` does not exist"),
            std::string::npos) << gone.err;
  ProcessResult far = Weft({"data", "create", "--name", "g", "--path", "https://far.example/x.csv"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_NE(far.err.find("has no local mirror"), std::string::npos) << far.err;
  EXPECT_EQ(nlohmann::json::parse(Weft({"data", "list", "--json"}).out).size(), 2u);
}

// Three pipelines, three runs: prep registers `clean`, train reads it and registers model `clf`,
// score reads both. Lineage answers "where did this model come from" and "who used this data".
TEST_F(RegistryTest, LineageFollowsOutputsAcrossRunsAndPipelines) {
  const std::string env = "    environment: {image: python:3.11}\n";
  dir_.Write("data/rows.csv", "b\na\n");
  dir_.Write("p1.yml", "type: pipeline\njobs:\n  prep:\n    command: sort ${{inputs.raw}} > "
                       "${{outputs.clean}}/clean.csv\n" + env +
                       "    inputs: {raw: {type: uri_file, path: ./data/rows.csv}}\n"
                       "    outputs: {clean: {type: uri_folder, name: clean, version: '1'}}\n");
  dir_.Write("p2.yml", "type: pipeline\njobs:\n  train:\n    command: cat ${{inputs.d}}/clean.csv "
                       "> ${{outputs.model}}/m.txt && echo ${{inputs.lr}} >> ${{outputs.model}}/m.txt\n" + env +
                       "    inputs: {d: {type: uri_folder, path: azureml:clean:1}, lr: '0.5'}\n"
                       "    outputs: {model: {type: custom_model, name: clf}}\n");
  dir_.Write("p3.yml", "type: pipeline\njobs:\n  score:\n    command: cat ${{inputs.m}}/m.txt "
                       "${{inputs.d}}/clean.csv > ${{outputs.s}}/s.txt\n" + env +
                       "    inputs:\n      m: {type: custom_model, path: azureml:clf@latest}\n"
                       "      d: {type: uri_folder, path: azureml:clean:1}\n"
                       "    outputs: {s: {type: uri_folder}}\n");
  for (const char* p : {"p1.yml", "p2.yml", "p3.yml"}) {
    ProcessResult r = Weft({"run", p});
    ASSERT_EQ(r.exit_code, 0) << p << r.out << r.err;
  }
  // Upstream of the model, named as an asset: train in r2, from clean:1 (made by prep in r1, from
  // the source file) and lr.
  ProcessResult up = Weft({"lineage", "clf:1", "--json"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  nlohmann::json tree = nlohmann::json::parse(up.out)["tree"];
  EXPECT_EQ(tree["assets"][0]["name"], "clf");
  nlohmann::json train = tree["children"][0];
  EXPECT_EQ(train["step"], "train");
  EXPECT_EQ(train["run"], "r2");
  ASSERT_EQ(train["children"].size(), 2u) << train;
  nlohmann::json clean = train["children"][0];
  EXPECT_EQ(clean["port"], "d");
  EXPECT_EQ(clean["assets"][0]["name"], "clean");
  EXPECT_EQ(train["children"][1]["value"], "0.5");
  nlohmann::json prep = clean["children"][0];
  EXPECT_EQ(prep["step"], "prep");
  EXPECT_EQ(prep["run"], "r1");
  EXPECT_EQ(prep["children"][0]["source"].get<std::string>(), dir_.path() + "/data/rows.csv");
  // The same answer for the run output and for the digest.
  ProcessResult by_output = Weft({"lineage", "r2/train.model"});
  ASSERT_EQ(by_output.exit_code, 0) << by_output.err;
  EXPECT_NE(by_output.out.find("made by step prep in run r1"), std::string::npos) << by_output.out;
  std::string digest = tree["digest"];
  ProcessResult by_digest = Weft({"lineage", digest.substr(0, 7 + 10)});
  EXPECT_EQ(by_digest.out.substr(by_digest.out.find('\n')), by_output.out.substr(by_output.out.find('\n')));

  // Downstream of the source data: prep (r1) made clean:1, which train (r2) and score (r3) read;
  // score also read what train made.
  ProcessResult down = Weft({"lineage", "r1/prep.clean", "--downstream"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("[data clean:1]"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("input d of step train in run r2"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("input d of step score in run r3"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("[model clf:1]"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("input m of step score in run r3"), std::string::npos) << down.out;
  // A run that reuses score used the same objects without running: it is listed under r3's score.
  ASSERT_EQ(Weft({"run", "p3.yml"}).exit_code, 0);
  ProcessResult reused = Weft({"lineage", "clf:1", "--downstream"});
  EXPECT_NE(reused.out.find("input m of step score in run r4 (reused from r3)"), std::string::npos)
      << reused.out;

  ProcessResult unknown = Weft({"lineage", "nosuch:3"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no data or model asset `nosuch:3`"), std::string::npos) << unknown.err;
  ProcessResult no_output = Weft({"lineage", "r2/train.nothing"});
  EXPECT_EQ(no_output.exit_code, 2);
  EXPECT_NE(no_output.err.find("has no stored output `nothing`"), std::string::npos) << no_output.err;
}

}  // namespace
}  // namespace weft
