// End-to-end tests of environments and reuse: a step's results follow what its environment
// provides, never where the environment lives.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"
#include "weft_fixture.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::Read;

class EnvironmentTest : public testing::WeftTest {
 protected:
  std::string MakeVenv(const std::string& rel, bool copies = false) {
    std::string path = dir_.path() + "/" + rel;
    std::vector<std::string> argv = {"/usr/bin/python3", "-m", "venv", "--without-pip"};
    if (copies) argv.push_back("--copies");
    argv.push_back(path);
    EXPECT_EQ(testing::Run(argv, dir_.path()).exit_code, 0);
    return path;
  }
  // A distribution installed by hand (what pip leaves: a module and its .dist-info).
  void Install(const std::string& venv, const std::string& name, const std::string& version) {
    for (const auto& e : fs::directory_iterator(venv + "/lib")) {
      std::string site = e.path().string() + "/site-packages";
      for (const auto& old : fs::directory_iterator(site)) {
        if (old.path().filename().string().rfind(name + "-", 0) == 0) fs::remove_all(old.path());
      }
      if (version.empty()) {
        fs::remove(site + "/" + name + ".py");
        continue;
      }
      fs::create_directories(site + "/" + name + "-" + version + ".dist-info");
      std::ofstream(site + "/" + name + "-" + version + ".dist-info/METADATA")
          << "Metadata-Version: 2.1\nName: " << name << "\nVersion: " << version << "\n";
      std::ofstream(site + "/" + name + ".py") << "VERSION = '" << version << "'\n";
    }
  }
  void UseVenv(const std::string& venv, const std::string& extra = "") {
    dir_.Write(".weft/config.yaml", "environments:\n  azureml:sk:1:\n    python: \"" + venv +
                                        "/bin/python\"\n" + extra);
  }
  std::string Explained(const std::string& step) {
    ProcessResult r = Weft({"explain", "last", step});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
};

// A venv that gained, upgraded or lost a distribution reruns the steps that use it, and explain
// says what changed; the same venv made elsewhere with --copies reuses; `identity: declared`
// narrows the identity to the declared packages.
TEST_F(EnvironmentTest, ReuseFollowsWhatTheEnvironmentHolds) {
  std::string a = MakeVenv("venvs/a");
  dir_.Write("p.yml", R"y(type: pipeline
jobs:
  train:
    command: python -c "import sys; print(sys.prefix)" > ${{outputs.o}}/prefix
    environment: azureml:sk:1
    outputs: {o: }
  other:
    command: echo plain > ${{outputs.o}}/v
    environment: {image: python:3.11}
    outputs: {o: }
)y");
  UseVenv(a);
  ProcessResult first = Weft({"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ASSERT_EQ(Weft({"get", "last", "train.o", "got"}).exit_code, 0);
  EXPECT_EQ(Read(dir_.path() + "/got/prefix"), a + "\n") << "python is the venv's own";

  Install(a, "extra", "1.0");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "succeeded");
  EXPECT_EQ(Statuses()["other"], "reused");
  EXPECT_NE(Explained("train").find("environment: extra 1.0 added"), std::string::npos)
      << Explained("train");

  Install(a, "extra", "1.1");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "succeeded");
  EXPECT_NE(Explained("train").find("environment: extra 1.0 -> 1.1"), std::string::npos)
      << Explained("train");

  Install(a, "extra", "");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "reused") << "the same content as in r1";

  // The same venv made the same way in another folder, as copies: reused.
  std::string b = MakeVenv("elsewhere/b", true);
  UseVenv(b);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "reused");

  // Narrowed to the declared packages, an undeclared distribution changes nothing.
  UseVenv(b, "    identity: declared\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  std::string narrowed = Statuses()["train"];
  Install(b, "extra", "1.0");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["train"], "reused") << "was " << narrowed << " just before";
}

// A pipeline whose conda file names packages the interpreter lacks is refused before anything
// runs, each missing package at its file:line:col, with a Debian package when apt knows one; `weft
// validate` says the same.
TEST_F(EnvironmentTest, MissingPackagesAreAllReportedWhereTheyAreDeclared) {
  dir_.Write("conda.yml", R"(name: train
dependencies:
  - python=3.11
  - numpy
  - pip:
    - scikit-image==0.19
    - no-such-distribution-anywhere
)");
  dir_.Write("p.yml", R"(type: pipeline
jobs:
  train:
    command: echo hi
    environment: {image: python:3.11, conda_file: ./conda.yml}
)");
  bool apt_knows = testing::Run({"/usr/bin/apt-cache", "show", "--no-all-versions",
                                 "python3-skimage"}, "/").exit_code == 0;
  bool have_skimage = testing::Run({"/usr/bin/python3", "-c", "import skimage"}, "/").exit_code == 0;
  std::string skimage_hint = apt_knows ? "install the Debian package python3-skimage"
                                       : "apt knows no Debian package for it";
  ProcessResult run = Weft({"run", "p.yml"});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("step train: its environment needs Python packages"), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("conda.yml:7:7: no-such-distribution-anywhere: apt knows no Debian "
                         "package for it"),
            std::string::npos)
      << run.err;
  if (!have_skimage) {
    EXPECT_NE(run.err.find("conda.yml:6:7: scikit-image: " + skimage_hint), std::string::npos)
        << run.err;
  }
  ProcessResult validate = Weft({"validate", "p.yml"});
  EXPECT_EQ(validate.exit_code, 2) << validate.out << validate.err;
  EXPECT_NE(validate.err.find("conda.yml:7:7: error: step train: the environment's interpreter has "
                              "no Python package `no-such-distribution-anywhere`\n  hint: apt knows "
                              "no Debian package for it"),
            std::string::npos)
      << validate.err;
  if (!have_skimage) {
    EXPECT_NE(validate.err.find("conda.yml:6:7: error: step train: the environment's interpreter "
                                "has no Python package `scikit-image`\n  hint: " + skimage_hint),
              std::string::npos)
        << validate.err;
  }
  EXPECT_FALSE(fs::exists(dir_.path() + "/.weft/runs/r1")) << "nothing ran";
}

}  // namespace
}  // namespace weft
