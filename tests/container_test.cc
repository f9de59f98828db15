// End-to-end tests of steps in containers: the real weft binary and real podman (rootful, runc),
// on the base image tools/container-base-image makes (ctest makes it before these tests; it takes
// minutes the first time, so these tests are in the slow tier).
#include <regex>

#include "weft_fixture.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImage = "localhost/weft-base:bookworm";

class ContainerTest : public WeftTest {
 protected:
  void SetUp() override {
    ProcessResult have = testing::Run({"/usr/bin/podman", "image", "exists", kImage}, "/");
    ASSERT_EQ(have.exit_code, 0) << kImage << " is missing: ctest makes it (container_base_image)";
  }
  // Environments with an image run in containers; the published name maps to the base image.
  // Environments with an image run in containers, but the one named host-env (kHostEnv).
  void Configure(const std::string& extra = "") {
    dir_.Write(".weft/config.yaml",
               std::string("containers:\n  enabled: true\n  images:\n"
                           "    mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04: ") +
                   kImage + "\nenvironments:\n  host-env: {container: false}\n" + extra);
  }
  static constexpr const char* kHostEnv = "environment: {name: host-env, image: python:3.11}\n";
  static constexpr const char* kEnvImage =
      "environment: {image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04}\n";
};

// A step in a container: it sees the image's files (no compiler in a minbase image, though this
// machine has one), no network, the workspace read-only and its outputs writable; its output feeds
// a step on the host; a second run reuses both.
TEST_F(ContainerTest, AStepRunsInItsImageAndItsOutputFeedsAHostStep) {
  Configure();
  dir_.Write("p.yml", std::string(R"(
type: pipeline
jobs:
  inside:
    type: command
    command: >-
      (test -e /usr/bin/g++ && echo has-gxx || echo no-gxx) > ${{outputs.out}}/r.txt;
      ls /sys/class/net | tr '\n' ' ' >> ${{outputs.out}}/r.txt;
      (touch "$WEFT_METRICS.x" && echo attempt-writable || echo attempt-read-only) >> ${{outputs.out}}/r.txt;
      (touch ${{outputs.out}}/../../../../x 2>/dev/null && echo ws-writable || echo ws-read-only) >> ${{outputs.out}}/r.txt
    outputs: {out: {type: uri_folder}}
    )") + kEnvImage + R"(
  outside:
    type: command
    command: cat ${{inputs.r}}/r.txt > ${{outputs.out}}/r.txt
    inputs:
      r: ${{parent.jobs.inside.outputs.out}}
    outputs: {out: {type: uri_folder}}
    )" + kHostEnv);
  ASSERT_EQ(fs::exists("/usr/bin/g++"), true) << "the test needs a host with g++";
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "inside"}).out;
  std::string out = OutputText("outside.out");
  EXPECT_NE(out.find("no-gxx"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlo attempt-writable"), std::string::npos) << "only loopback: " << out;
  EXPECT_NE(out.find("attempt-writable"), std::string::npos) << out;
  EXPECT_NE(out.find("ws-read-only"), std::string::npos) << out;
  ProcessResult again = Weft({"run", "p.yml"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{{"inside", "reused"}, {"outside", "reused"}}));
}

// The step's memory and CPUs are the container's limits; its variables arrive whatever they hold;
// docker_args are not passed on, with a warning.
TEST_F(ContainerTest, LimitsAndVariablesReachTheContainer) {
  Configure();
  dir_.Write("p.yml", std::string(R"y(
type: command
command: >-
  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null;
  echo "value [$TRICKY] [$FROM_DOCKER]"; echo "nofile $(ulimit -n)"
environment_variables:
  TRICKY: "a b; $(echo no) 'q' \"d\""
resources:
  docker_args: --privileged --ulimit nofile=1000:1000 -e "FROM_DOCKER=x y"
  properties: {weft.memory: 300MB}
)y") + kEnvImage);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "main"}).out;
  EXPECT_NE(r.err.find("resources.docker_args: `--privileged` is not passed to podman"),
            std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("nofile=1000:1000` is not"), std::string::npos) << r.err;
  std::string log = Weft({"logs", "last", "main"}).out;
  EXPECT_NE(log.find(std::to_string(300ll * 1024 * 1024)), std::string::npos) << log;
  EXPECT_NE(log.find("value [a b; $(echo no) 'q' \"d\"] [x y]"), std::string::npos) << log;
  EXPECT_NE(log.find("nofile 1000"), std::string::npos) << log;
}

// An image that is not here stops the run before it starts, naming it and how to make it present.
TEST_F(ContainerTest, AMissingImageIsAClearErrorBeforeTheRun) {
  Configure();
  dir_.Write("p.yml", R"(
type: command
command: "true"
environment: {image: example.org/not/here:1}
)");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("example.org/not/here:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no registry is reachable"), std::string::npos) << r.err;
  EXPECT_EQ(Weft({"runs", "--json"}).out.find("\"r1\""), std::string::npos) << "no run recorded";
  // A value that would be an option of podman's is no image.
  dir_.Write("p.yml", "type: command\ncommand: \"true\"\nenvironment: {image: --privileged}\n");
  ProcessResult option = Weft({"run", "p.yml"});
  EXPECT_NE(option.exit_code, 0);
  EXPECT_NE(option.err.find("`--privileged` is not an image reference"), std::string::npos) << option.err;
}

// A conda file on top of an image is checked against the image's own Python before the run: a
// package it lacks (here the image has no Python at all) stops the run, naming it.
TEST_F(ContainerTest, PackagesTheImageLacksStopTheRunNamingThem) {
  Configure();
  dir_.Write("env/conda.yml", "dependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.2.1\n");
  dir_.Write("p.yml", R"(
type: command
command: "true"
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
  conda_file: ./env/conda.yml
)");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("scikit-learn"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has no python3"), std::string::npos) << r.err;
  EXPECT_EQ(Weft({"runs", "--json"}).out.find("\"r1\""), std::string::npos) << "no run recorded";
}

// A build context is built once per content: the image is the environment's identity, so editing
// the Dockerfile reruns the step, and an unchanged one reuses it.
TEST_F(ContainerTest, ABuildContextIsBuiltOncePerContentAndIsTheIdentity) {
  Configure();
  dir_.Write("env/Dockerfile", std::string("FROM ") + kImage + "\nRUN echo first > /built\n");
  dir_.Write("p.yml", R"(
type: command
command: cat /built > ${{outputs.out}}/r.txt
outputs: {out: {type: uri_folder}}
environment: {build: {path: ./env}}
)");
  ProcessResult first = Weft({"run", "p.yml"});
  ASSERT_EQ(first.exit_code, 0) << first.err << Weft({"logs", "last", "main"}).out;
  EXPECT_EQ(OutputText("main.out"), "first\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["main"], "reused");
  dir_.Write("env/Dockerfile", std::string("FROM ") + kImage + "\nRUN echo second > /built\n");
  ProcessResult edited = Weft({"run", "p.yml"});
  ASSERT_EQ(edited.exit_code, 0) << edited.err;
  EXPECT_EQ(Statuses()["main"], "succeeded");
  EXPECT_EQ(OutputText("main.out"), "second\n");
  EXPECT_NE(Explain("main").find("environment"), std::string::npos) << Explain("main");
}

// One pipeline on the host, on the Slurm cluster in a container, and here in a container: data
// flows between them, a rerun reuses all three, and `weft explain` names where each ran and in
// which environment. (ctest starts the test cluster for this test too: SLURM_CONF names it.)
TEST_F(ContainerTest, OnePipelineUsesTheHostSlurmAndContainersTogether) {
  Configure("computes:\n  cpu-cluster: {type: slurm}\n");
  dir_.Write("p.yml", std::string(R"(
type: pipeline
jobs:
  host:
    type: command
    command: echo 20 > ${{outputs.out}}/n
    outputs: {out: {type: uri_folder}}
    )") + kHostEnv + R"(
  cluster:
    type: command
    compute: azureml:cpu-cluster
    command: >-
      test ! -e /usr/bin/g++ && test -n "$SLURM_JOB_ID" &&
      echo $(( $(cat ${{inputs.n}}/n) + 1 )) > ${{outputs.out}}/n
    inputs:
      n: ${{parent.jobs.host.outputs.out}}
    outputs: {out: {type: uri_folder}}
    )" + kEnvImage + R"(
  contained:
    type: command
    command: test ! -e /usr/bin/g++ && echo $(( $(cat ${{inputs.n}}/n) * 2 )) > ${{outputs.out}}/n
    inputs:
      n: ${{parent.jobs.cluster.outputs.out}}
    outputs: {out: {type: uri_folder}}
    )" + kEnvImage);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Weft({"logs", "last", "cluster"}).out;
  EXPECT_EQ(OutputText("contained.out"), "42\n");
  EXPECT_EQ(StepJson("cluster")["job"].get<std::string>().rfind("slurm:", 0), 0u);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses(), (std::map<std::string, std::string>{
                            {"host", "reused"}, {"cluster", "reused"}, {"contained", "reused"}}));
  std::string host = Explain("host"), cluster = Explain("cluster"), contained = Explain("contained");
  EXPECT_NE(host.find("ran on compute `local`"), std::string::npos) << host;
  EXPECT_NE(cluster.find("ran on compute `cpu-cluster` (job slurm:"), std::string::npos) << cluster;
  EXPECT_NE(contained.find("ran on compute `local`"), std::string::npos) << contained;
  // The two container steps share an environment; the host's is another.
  std::regex env("environment (sha256:[0-9a-f]+)");
  std::smatch a, b, c;
  ASSERT_TRUE(std::regex_search(host, a, env) && std::regex_search(cluster, b, env) &&
              std::regex_search(contained, c, env));
  EXPECT_NE(a[1], b[1]);
  EXPECT_EQ(b[1], c[1]);
}

// The image's id is the identity: retagging the name a pipeline uses to another image reruns it.
TEST_F(ContainerTest, AnImageNameRetaggedToAnotherImageRerunsItsSteps) {
  std::string alias = "localhost/weft-test-alias:" + std::to_string(::getpid());
  dir_.Write(".weft/config.yaml", "containers:\n  enabled: true\n  images:\n    published/name:1: " +
                                      alias + "\n");
  dir_.Write("env/Dockerfile", std::string("FROM ") + kImage + "\nRUN echo other > /other\n");
  ASSERT_EQ(testing::Run({"/usr/bin/podman", "tag", kImage, alias}, "/").exit_code, 0);
  dir_.Write("p.yml", R"(
type: command
command: (cat /other 2>/dev/null || echo base) > ${{outputs.out}}/r.txt
outputs: {out: {type: uri_folder}}
environment: {image: published/name:1}
)");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(OutputText("main.out"), "base\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["main"], "reused");
  ASSERT_EQ(testing::Run({"/usr/bin/podman", "build", "--quiet", "--network", "none", "-t", alias,
                          dir_.path() + "/env"}, "/").exit_code, 0);
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["main"], "succeeded");
  EXPECT_EQ(OutputText("main.out"), "other\n");
  testing::Run({"/usr/bin/podman", "rmi", "--force", alias}, "/");
}

// Without `containers.enabled`, published images keep mapping to interpreters, as always.
TEST_F(ContainerTest, ContainersAreOptIn) {
  dir_.Write("p.yml", std::string(R"(
type: command
command: test -e /usr/bin/g++ && echo on-the-host
)") + kEnvImage);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Weft({"logs", "last", "main"}).out.find("on-the-host"), std::string::npos);
}

}  // namespace
}  // namespace weft::testing
