#include "exec/podman.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace weft::exec {
namespace {

bool Has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

LaunchSpec Job() {
  LaunchSpec spec;
  spec.script_path = "/ws dir/.weft/runs/r1/0.1/command";
  spec.cwd = "/ws dir/.weft/runs/r1/0.1/work";
  spec.needs = {2, 512, 0};
  Container& c = spec.container.emplace();
  c.image = "sha256:abc";
  c.conf = "/ws dir/.weft/containers.conf";
  c.read_only = {"/ws dir/.weft"};
  c.writable = {"/ws dir/.weft/runs/r1/0.1"};
  return spec;
}

// Values of the step's environment reach podman only through its own environment: the command
// line names them, so no value (a secret, a newline, shell syntax) is ever an argument.
TEST(PodmanTest, VariablesArePassedByNameAndThePathOfTheHostIsNot) {
  LaunchSpec spec = Job();
  std::vector<std::string> env = {"TOKEN=s3cret; rm -rf /", "MULTI=a\nb", "PATH=/host/bin",
                                  "CONTAINERS_CONF=/x", "CUDA_VISIBLE_DEVICES=0,1"};
  std::vector<std::string> argv = PodmanRunArgv(spec, "weft-ws-r1-0.1", env);
  for (const std::string& a : argv) {
    EXPECT_EQ(a.find("s3cret"), std::string::npos) << a;
    EXPECT_EQ(a.find('\n'), std::string::npos) << a;
  }
  EXPECT_TRUE(Has(argv, "--env=TOKEN"));
  EXPECT_TRUE(Has(argv, "--env=MULTI"));
  EXPECT_FALSE(Has(argv, "--env=PATH"));
  EXPECT_FALSE(Has(argv, "--env=CONTAINERS_CONF"));
  EXPECT_TRUE(Has(argv, "--device=/dev/nvidia0"));
  EXPECT_TRUE(Has(argv, "--device=/dev/nvidia1"));
}

TEST(PodmanTest, TheWorkspaceIsReadOnlyTheAttemptWritableAndThereIsNoNetwork) {
  LaunchSpec spec = Job();
  std::vector<std::string> argv = PodmanRunArgv(spec, "n", {});
  EXPECT_TRUE(Has(argv, "--volume=/ws dir/.weft:/ws dir/.weft:ro"));
  EXPECT_TRUE(Has(argv, "--volume=/ws dir/.weft/runs/r1/0.1:/ws dir/.weft/runs/r1/0.1:rw"));
  EXPECT_TRUE(Has(argv, "--workdir=/ws dir/.weft/runs/r1/0.1/work"));
  EXPECT_TRUE(Has(argv, "--cpus=2"));
  EXPECT_TRUE(Has(argv, "--memory=512m"));
  auto net = std::find(argv.begin(), argv.end(), "--network");
  ASSERT_NE(net, argv.end());
  EXPECT_EQ(*(net + 1), "none");
  // The image, then bash with the script: the command itself is never parsed by a shell here.
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[argv.size() - 3], "sha256:abc");
  EXPECT_EQ(argv[argv.size() - 2], "/bin/bash");
  EXPECT_EQ(argv.back(), spec.script_path);
  spec.container->network = true;
  argv = PodmanRunArgv(spec, "n", {});
  net = std::find(argv.begin(), argv.end(), "--network");
  EXPECT_NE(*(net + 1), "none");
}

// What docker_args asks that stays inside the container is given to podman, checked and one word
// each; what would reach the host (binds, devices, privileges, its namespaces) is refused, named
// as written.
TEST(PodmanTest, DockerArgsGiveWhatStaysInsideTheContainerAndRefuseTheRest) {
  DockerArgs d = ReadDockerArgs(
      "--shm-size 16g --ulimit=nofile=64:64 --ipc=private --init -e 'GREETING=hello world' "
      "--env=MODE=fast -eX=1 --privileged -v /:/host --ipc host --device=/dev/sda --cap-add "
      "SYS_ADMIN "
      "--ulimit 'nofile=1; rm -rf /' -e 'BAD NAME=1' --network=host");
  std::vector<std::string> options = {"--shm-size=16g", "--ulimit=nofile=64:64", "--ipc=private",
                                      "--init"};
  EXPECT_EQ(d.options, options);
  std::vector<std::pair<std::string, std::string>> env = {
      {"GREETING", "hello world"}, {"MODE", "fast"}, {"X", "1"}};
  EXPECT_EQ(d.env, env);
  std::vector<std::string> refused = {"--privileged",        "-v /:/host",
                                      "--ipc host",          "--device /dev/sda",
                                      "--cap-add SYS_ADMIN", "--ulimit nofile=1; rm -rf /",
                                      "-e BAD NAME=1",       "--network host"};
  ASSERT_EQ(d.refused.size(), refused.size());
  for (size_t k = 0; k < refused.size(); ++k) EXPECT_EQ(d.refused[k].first, refused[k]);
  EXPECT_NE(d.refused[0].second.find("privileges"), std::string::npos);
  EXPECT_TRUE(ReadDockerArgs("").options.empty());
  EXPECT_TRUE(ReadDockerArgs("  ").refused.empty());
}

TEST(PodmanTest, DockerArgsOptionsReachTheCommandLineBeforeTheImage) {
  LaunchSpec spec = Job();
  spec.container->options = {"--ulimit=memlock=-1:-1"};
  std::vector<std::string> argv = PodmanRunArgv(spec, "n", {});
  auto at = std::find(argv.begin(), argv.end(), "--ulimit=memlock=-1:-1");
  auto image = std::find(argv.begin(), argv.end(), "sha256:abc");
  ASSERT_NE(at, argv.end());
  EXPECT_LT(at, image);
  // A --ulimit replaces podman's configured limits: those not given go along.
  EXPECT_TRUE(Has(argv, "--ulimit=nofile=20000:20000"));
  EXPECT_TRUE(Has(argv, "--ulimit=nproc=32768:32768"));
  spec.container->options = {"--ulimit=nofile=64:64"};
  argv = PodmanRunArgv(spec, "n", {});
  EXPECT_FALSE(Has(argv, "--ulimit=nofile=20000:20000"));
  EXPECT_TRUE(Has(argv, "--ulimit=nproc=32768:32768"));
  spec.container->options.clear();
  argv = PodmanRunArgv(spec, "n", {});
  EXPECT_FALSE(Has(argv, "--ulimit=nproc=32768:32768")) << "the configuration's apply";
}

}  // namespace
}  // namespace weft::exec
