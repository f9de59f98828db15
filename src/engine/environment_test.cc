#include "engine/environment.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::engine {
namespace {

TEST(EnvironmentTest, RequirementsAndDebianPackages) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(Environments::ParseRequirement("scikit-learn==1.2.1"), P("scikit-learn", "1.2.1"));
  EXPECT_EQ(Environments::ParseRequirement("numpy"), P("numpy", ""));
  EXPECT_EQ(Environments::ParseRequirement("numpy>=1.20"), P("numpy", ""));
  EXPECT_EQ(Environments::ParseRequirement("pandas=2.0"), P("pandas", "2.0"));
  EXPECT_EQ(Environments::ParseRequirement("python=3.11"), P("", ""));
  EXPECT_EQ(Environments::ParseRequirement("pip"), P("", ""));
  EXPECT_EQ(Environments::DebianPackageFor("scikit-learn"), "python3-sklearn");
  EXPECT_EQ(Environments::DebianPackageFor("PyYAML"), "python3-yaml");
  EXPECT_EQ(Environments::DebianPackageFor("python_dateutil"), "python3-dateutil");
  EXPECT_EQ(Environments::DebianPackageFor("numpy"), "python3-numpy");
}

TEST(EnvironmentTest, PythonOnPathIsTheConfiguredInterpreter) {
  weft::testing::TempDir dir;
  Workspace ws;
  ws.dir = dir.path();
  ws.config.python = "/usr/bin/python3";
  Environments envs(ws);
  spec::Environment env;
  Result<ResolvedEnvironment> r = envs.Resolve(env, "step");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(std::filesystem::canonical(r->bin_dir + "/python"),
            std::filesystem::canonical("/usr/bin/python3"));
  EXPECT_NE(r->identity.find(std::filesystem::canonical("/usr/bin/python3").string()),
            std::string::npos);
  env.packages = {"definitely-not-a-package==1"};
  Result<ResolvedEnvironment> missing = envs.Resolve(env, "train");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("step train"), std::string::npos);
  EXPECT_NE(missing.status().message().find("python3-definitely-not-a-package"), std::string::npos);
  ws.config.python = "/no/such/python";
  Environments broken(ws);
  EXPECT_FALSE(broken.Resolve(spec::Environment{}, "x").ok());
}

}  // namespace
}  // namespace weft::engine
