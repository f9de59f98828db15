#include "engine/environment.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

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

// An interpreter is asked about its packages once; the answer is kept until a folder on its
// package path changes. The interpreter here is a script that counts how often it is asked.
TEST(EnvironmentTest, ProbeAnswersAreKeptUntilThePackagePathChanges) {
  weft::testing::TempDir dir;
  std::string site = dir.Mkdir("site");
  std::string count = dir.path() + "/count";
  // Called as `python -c PROBE PACKAGE...`: says every package is there, at version 2.0.
  std::string python = dir.Write("python", "#!/bin/bash\necho probe >> \"" + count + R"("
pkgs=""
for p in "${@:3}"; do pkgs+="${pkgs:+, }\"$p\": \"2.0\""; done
printf '{"python": "3.99.0", "packages": {%s}, "paths": ["%s"]}' "$pkgs" ")" + site + "\"\n");
  std::filesystem::permissions(python, std::filesystem::perms::owner_all);
  auto age = [&](int hours) {
    std::filesystem::last_write_time(
        site, std::filesystem::file_time_type::clock::now() - std::chrono::hours(hours));
  };
  auto probes = [&] {
    std::ifstream in(count);
    return std::count(std::istreambuf_iterator<char>(in), {}, '\n');
  };
  age(2);
  Workspace ws;
  ws.dir = dir.Mkdir("ws");
  ws.config.python = python;
  spec::Environment env;
  env.packages = {"numpy"};
  auto resolve = [&] {
    Environments envs(ws);  // a new run: nothing remembered in memory
    Result<ResolvedEnvironment> r = envs.Resolve(env, "step");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->identity : "";
  };
  std::string first = resolve();
  EXPECT_NE(first.find("3.99.0 numpy==2.0"), std::string::npos) << first;
  EXPECT_EQ(probes(), 1);
  EXPECT_EQ(resolve(), first);
  EXPECT_EQ(probes(), 1);  // answered from the workspace
  dir.Write("site/newpkg-1.0.dist-info/METADATA", "");  // a package appears
  age(1);
  resolve();
  EXPECT_EQ(probes(), 2);
  resolve();
  EXPECT_EQ(probes(), 2);
  env.packages = {"numpy", "pandas"};  // other questions: another answer
  resolve();
  EXPECT_EQ(probes(), 3);
  // A folder modified just now may still be changing: its answer is not kept.
  age(0);
  resolve();
  resolve();
  EXPECT_EQ(probes(), 5);
}

}  // namespace
}  // namespace weft::engine
