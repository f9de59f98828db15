#include "env/environment.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::env {
namespace {

namespace fs = std::filesystem;

TEST(EnvironmentTest, RequirementsNamesAndDebianCandidates) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(Environments::ParseRequirement("scikit-learn==1.2.1"), P("scikit-learn", "1.2.1"));
  EXPECT_EQ(Environments::ParseRequirement("numpy"), P("numpy", ""));
  EXPECT_EQ(Environments::ParseRequirement("numpy>=1.20"), P("numpy", ""));
  EXPECT_EQ(Environments::ParseRequirement("pandas=2.0"), P("pandas", "2.0"));
  EXPECT_EQ(Environments::ParseRequirement("python=3.11"), P("", ""));
  EXPECT_EQ(Environments::ParseRequirement("pip"), P("", ""));
  EXPECT_EQ(Environments::NormalizeName("Scikit_Learn"), "scikit-learn");
  EXPECT_EQ(Environments::NormalizeName("zope.interface"), "zope-interface");
  EXPECT_EQ(Environments::NormalizeName("a__b--c"), "a-b-c");
  using V = std::vector<std::string>;
  EXPECT_EQ(Environments::DebianCandidates("scikit-learn"), (V{"python3-sklearn", "python3-scikit-learn"}));
  EXPECT_EQ(Environments::DebianCandidates("scikit-image")[0], "python3-skimage");
  EXPECT_EQ(Environments::DebianCandidates("PyYAML")[0], "python3-yaml");
  EXPECT_EQ(Environments::DebianCandidates("python_dateutil")[0], "python3-dateutil");
  EXPECT_EQ(Environments::DebianCandidates("numpy"), (V{"python3-numpy"}));
}

TEST(EnvironmentTest, DescriptionsDifferByInterpreterAndPackage) {
  std::string before = "cpython 3.11.2 cpython-311\nnumpy==1.24.2\npandas==1.5.3\nscikit-learn==1.2.1\n";
  std::string after = "cpython 3.11.4 cpython-311\nnumpy==1.24.2\nscikit-learn==1.3.0\nscipy==1.10.1\n";
  std::vector<std::string> d = Environments::DiffDescriptions(before, after);
  EXPECT_EQ(d, (std::vector<std::string>{"python cpython 3.11.2 cpython-311 -> cpython 3.11.4 cpython-311",
                                         "scikit-learn 1.2.1 -> 1.3.0", "scipy 1.10.1 added",
                                         "pandas 1.5.3 removed"}));
  EXPECT_TRUE(Environments::DiffDescriptions(before, before).empty());
}

TEST(EnvironmentTest, PythonOnPathIsTheConfiguredInterpreterAndMissingPackagesAreAllNamed) {
  weft::testing::TempDir dir;
  ws::Workspace ws;
  ws.dir = dir.path();
  ws.config.python = "/usr/bin/python3";
  Environments envs(ws);
  spec::Environment env;
  Result<std::shared_ptr<const ResolvedEnvironment>> found = envs.Resolve(env, "step");
  ASSERT_TRUE(found.ok()) << found.status().message();
  const ResolvedEnvironment* r = found->get();
  EXPECT_EQ(fs::canonical(r->path_prefix + "/python"), fs::canonical("/usr/bin/python3"));
  EXPECT_EQ(r->identity.rfind("sha256:", 0), 0u) << r->identity;
  EXPECT_EQ(r->description.rfind("cpython 3.", 0), 0u) << r->description;
  // Every importable distribution counts (Debian's python3 has at least the ones tests install).
  EXPECT_NE(r->description.find("\nscikit-learn=="), std::string::npos) << r->description;
  EXPECT_EQ(r->description.find(ws.dir), std::string::npos) << "no path in the identity";

  std::string file = "conda.yml";
  env.packages = {"definitely-not-a-package==1", "numpy", "another-missing-one"};
  env.package_locs = {{&file, 4, 5}, {&file, 5, 5}, {&file, 6, 7}};
  Result<std::shared_ptr<const ResolvedEnvironment>> missing = envs.Resolve(env, "train");
  ASSERT_FALSE(missing.ok());
  const std::string& m = missing.status().message();
  EXPECT_NE(m.find("step train"), std::string::npos) << m;
  EXPECT_NE(m.find("conda.yml:4:5: definitely-not-a-package: apt knows no Debian package for it"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("conda.yml:6:7: another-missing-one"), std::string::npos) << m;
  EXPECT_EQ(m.find("numpy"), std::string::npos) << m;
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
  // Called as `python -c PROBE`: one distribution, numpy 2.0.
  std::string python = dir.Write("python", "#!/bin/bash\necho probe >> \"" + count + R"("
printf '{"implementation": "cpython", "python": "3.99.0", "abi": "x", "venv": false, "prefix": "/", "distributions": {"numpy": "2.0"}, "paths": ["%s"]}' ")" + site + "\"\n");
  fs::permissions(python, fs::perms::owner_all);
  auto age = [&](int hours) {
    fs::last_write_time(site, fs::file_time_type::clock::now() - std::chrono::hours(hours));
  };
  auto probes = [&] {
    std::ifstream in(count);
    return std::count(std::istreambuf_iterator<char>(in), {}, '\n');
  };
  age(2);
  ws::Workspace ws;
  ws.dir = dir.Mkdir("ws");
  ws.config.python = python;
  spec::Environment env;
  env.packages = {"numpy"};
  auto resolve = [&] {
    Environments envs(ws);  // a new run: nothing remembered in memory
    Result<std::shared_ptr<const ResolvedEnvironment>> r = envs.Resolve(env, "step");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? (*r)->description : "";
  };
  std::string first = resolve();
  EXPECT_EQ(first.rfind("cpython 3.99.0 x\nnumpy==2.0\n", 0), 0u) << first;
  EXPECT_EQ(probes(), 1);
  EXPECT_EQ(resolve(), first);
  EXPECT_EQ(probes(), 1);  // answered from the workspace
  env.packages = {"numpy==2.0"};  // other declarations: the same answer serves
  resolve();
  EXPECT_EQ(probes(), 1);
  dir.Write("site/newpkg-1.0.dist-info/METADATA", "");  // a package appears
  age(1);
  resolve();
  EXPECT_EQ(probes(), 2);
  resolve();
  EXPECT_EQ(probes(), 2);
  // A folder modified just now may still be changing: its answer is not kept.
  age(0);
  resolve();
  resolve();
  EXPECT_EQ(probes(), 4);
}

// A distribution made by hand in a virtualenv's site-packages: importlib.metadata sees it as
// installed.
void AddDistribution(const std::string& venv, const std::string& name, const std::string& version) {
  std::string site;
  for (const auto& e : fs::directory_iterator(venv + "/lib")) site = e.path().string() + "/site-packages";
  std::string info = site + "/" + name + "-" + version + ".dist-info";
  fs::create_directories(info);
  std::ofstream(info + "/METADATA") << "Metadata-Version: 2.1\nName: " << name << "\nVersion: "
                                    << version << "\n";
  std::ofstream(site + "/" + name + ".py") << "VERSION = '" << version << "'\n";
}

void RemoveDistribution(const std::string& venv, const std::string& name, const std::string& version) {
  for (const auto& e : fs::directory_iterator(venv + "/lib")) {
    fs::remove_all(e.path().string() + "/site-packages/" + name + "-" + version + ".dist-info");
  }
}

// The identity follows what a virtualenv holds, not where it is: adding, upgrading or removing a
// distribution changes it; the same venv made elsewhere (with --copies, even) has the same one.
// `python` on PATH is the virtualenv's own (its packages are importable).
TEST(EnvironmentTest, AVirtualenvsIdentityIsWhatItHoldsNotWhereItLives) {
  weft::testing::TempDir dir;
  std::string a = dir.path() + "/venv a", b = dir.path() + "/elsewhere/venv b";
  ASSERT_EQ(weft::testing::Run({"/usr/bin/python3", "-m", "venv", "--without-pip", a}, dir.path()).exit_code, 0);
  ASSERT_EQ(weft::testing::Run({"/usr/bin/python3", "-m", "venv", "--without-pip", "--copies", b},
                               dir.path()).exit_code, 0);
  ws::Workspace ws;
  ws.dir = dir.Mkdir("ws");
  auto resolve = [&](const std::string& venv) {
    ws.config.python = venv + "/bin/python";
    Environments envs(ws);
    Result<std::shared_ptr<const ResolvedEnvironment>> r = envs.Resolve(spec::Environment{}, "step");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? **r : ResolvedEnvironment{};
  };
  ResolvedEnvironment empty_a = resolve(a);
  EXPECT_EQ(empty_a.identity, resolve(b).identity) << "the same venv in another folder";
  AddDistribution(a, "extra", "1.0");
  ResolvedEnvironment with_extra = resolve(a);
  EXPECT_NE(with_extra.identity, empty_a.identity);
  EXPECT_NE(with_extra.description.find("\nextra==1.0\n"), std::string::npos);
  EXPECT_EQ(Environments::DiffDescriptions(empty_a.description, with_extra.description),
            std::vector<std::string>{"extra 1.0 added"});
  RemoveDistribution(a, "extra", "1.0");
  AddDistribution(a, "extra", "2.0");
  ResolvedEnvironment upgraded = resolve(a);
  EXPECT_EQ(Environments::DiffDescriptions(with_extra.description, upgraded.description),
            std::vector<std::string>{"extra 1.0 -> 2.0"});
  RemoveDistribution(a, "extra", "2.0");
  EXPECT_EQ(resolve(a).identity, empty_a.identity);
  // `python` in a step is the venv's: its own packages import.
  AddDistribution(b, "onlyinb", "3.1");
  ResolvedEnvironment rb = resolve(b);
  EXPECT_NE(rb.path_prefix.find(b + "/bin"), std::string::npos) << rb.path_prefix;
  weft::testing::ProcessResult run = weft::testing::Run(
      {"/usr/bin/env", "PATH=" + rb.path_prefix + ":/usr/bin:/bin", "python", "-c",
       "import onlyinb, sys; print(onlyinb.VERSION, sys.prefix)"},
      dir.path());
  EXPECT_EQ(run.out, "3.1 " + b + "\n") << run.err;
}

}  // namespace
}  // namespace weft::env
