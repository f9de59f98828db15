#include "exec/slurm.h"

#include <gtest/gtest.h>

namespace weft::exec {
namespace {

// The job's description travels as one line of JSON in the batch script's here-document: every
// field comes back as it was, and no value (a newline, the here-document's end word, quotes) can
// break the line.
TEST(SlurmJobSpecTest, ADescriptionRoundTripsOnOneLine) {
  LaunchSpec s;
  s.step = "train";
  s.command = "echo 'a'\nWEFT_JOB\necho \"$HOME\"";
  s.script_path = "/ws/.weft/runs/r1/0.1/command";
  s.cwd = "/ws dir/.weft/runs/r1/0.1/work";
  s.code = "/ws/.weft/store/objects/ab";
  s.env = {"A=1", "MULTI=x\nWEFT_JOB\ny", "EMPTY="};
  s.distribution = {"pytorch", 2, 3};
  s.needs = {4, 2048, 1};
  s.log_path = "/ws/.weft/runs/r1/0.1/log";
  s.timeout_ms = 60'000;
  s.kill_grace_ms = 3'000;
  s.sandbox.emplace();
  s.sandbox->read_only = {"/ws/.weft"};
  s.sandbox->writable = {"/ws/.weft/runs/r1/0.1"};
  s.sandbox->hide = "/ws/.weft";
  s.sandbox->keep = {"/ws/.weft/envs"};
  s.container = Container{"sha256:abc", "/ws/.weft/containers.conf", true, "2g", {"--init"}, {"/ro"}, {"/rw"}};
  s.group = "weft-1234-r1";
  s.name = "0.1";
  std::string line = LaunchSpecToJson(s).Dump(-1);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.front(), '{');
  std::optional<Json> parsed = Json::Parse(line);
  ASSERT_TRUE(parsed);
  Result<LaunchSpec> back = LaunchSpecFromJson(*parsed);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->step, s.step);
  EXPECT_EQ(back->command, s.command);
  EXPECT_EQ(back->script_path, s.script_path);
  EXPECT_EQ(back->cwd, s.cwd);
  EXPECT_EQ(back->code, s.code);
  EXPECT_EQ(back->env, s.env);
  EXPECT_EQ(back->distribution.type, "pytorch");
  EXPECT_EQ(back->distribution.instances, 2);
  EXPECT_EQ(back->distribution.per_instance, 3);
  EXPECT_EQ(back->needs.cpus, 4);
  EXPECT_EQ(back->needs.memory_mb, 2048);
  EXPECT_EQ(back->needs.gpus, 1);
  EXPECT_EQ(back->log_path, s.log_path);
  EXPECT_EQ(back->timeout_ms, 60'000);
  EXPECT_EQ(back->kill_grace_ms, 3'000);
  ASSERT_TRUE(back->sandbox);
  EXPECT_EQ(back->sandbox->read_only, s.sandbox->read_only);
  EXPECT_EQ(back->sandbox->writable, s.sandbox->writable);
  EXPECT_EQ(back->sandbox->hide, s.sandbox->hide);
  EXPECT_EQ(back->sandbox->keep, s.sandbox->keep);
  ASSERT_TRUE(back->container);
  EXPECT_EQ(back->container->image, "sha256:abc");
  EXPECT_EQ(back->container->conf, "/ws/.weft/containers.conf");
  EXPECT_TRUE(back->container->network);
  EXPECT_EQ(back->container->shm_size, "2g");
  EXPECT_EQ(back->container->options, std::vector<std::string>{"--init"});
  EXPECT_EQ(back->container->read_only, std::vector<std::string>{"/ro"});
  EXPECT_EQ(back->container->writable, std::vector<std::string>{"/rw"});
  EXPECT_EQ(back->group, s.group);
  EXPECT_EQ(back->name, s.name);
}

TEST(SlurmJobSpecTest, ADescriptionWithoutItsFoldersIsRefused) {
  std::optional<Json> j = Json::Parse(R"({"step": "x", "command": "true"})");
  ASSERT_TRUE(j);
  EXPECT_FALSE(LaunchSpecFromJson(*j).ok());
  EXPECT_FALSE(LaunchSpecFromJson(Json(std::string("text"))).ok());
}

}  // namespace
}  // namespace weft::exec
