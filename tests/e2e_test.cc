// End-to-end tests of the real `weft` binary.
//
// Every file under tests/pipelines/ whose first line is `# weft-test: exit=N` is a case: the header
// says what `weft validate` must exit with and print; a valid file must also draw in every format.
// Header lines:
//   # weft-test: exit=N          expected exit code of `weft validate FILE ARGS`
//   # args: --set inputs.x=1     extra arguments
//   # expect: TEXT               TEXT appears in the output (stderr and stdout)
//   # expect-steps: N / expect-edges: N / expect-groups: N   counts in `weft graph --format json`
//   # expect-edge: FROM.OUTPUT -> TO.INPUT                   an edge in the graph
//   # expect-no-warnings
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::Run;

const std::string kCorpus = std::string(WEFT_SOURCE_DIR) + "/tests/pipelines";

struct Case {
  std::string file;  // relative to kCorpus
  int exit = 0;
  std::vector<std::string> args;
  std::vector<std::string> expect;
  std::vector<std::string> edges;
  int steps = -1, edge_count = -1, groups = -1;
  bool no_warnings = false;
};

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<Case> Discover() {
  std::vector<Case> cases;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".yml") continue;
    std::ifstream in(entry.path());
    std::string line;
    if (!std::getline(in, line) || line.rfind("# weft-test: exit=", 0) != 0) continue;
    Case c;
    c.file = fs::relative(entry.path(), kCorpus).string();
    c.exit = std::stoi(line.substr(18));
    while (std::getline(in, line) && line.rfind("# ", 0) == 0) {
      auto value = [&](const char* key) -> std::optional<std::string> {
        std::string k = std::string("# ") + key + ":";
        if (line.rfind(k, 0) != 0) return std::nullopt;
        return line.substr(k.size() + (line.size() > k.size() ? 1 : 0));
      };
      if (auto v = value("args")) c.args = Words(*v);
      if (auto v = value("expect")) c.expect.push_back(*v);
      if (auto v = value("expect-edge")) c.edges.push_back(*v);
      if (auto v = value("expect-steps")) c.steps = std::stoi(*v);
      if (auto v = value("expect-edges")) c.edge_count = std::stoi(*v);
      if (auto v = value("expect-groups")) c.groups = std::stoi(*v);
      if (line == "# expect-no-warnings") c.no_warnings = true;
    }
    cases.push_back(std::move(c));
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.file < b.file; });
  return cases;
}

ProcessResult Weft(std::vector<std::string> args, const std::string& cwd = kCorpus) {
  args.insert(args.begin(), WEFT_BINARY);
  return Run(args, cwd);
}

class CorpusTest : public ::testing::TestWithParam<Case> {};

TEST_P(CorpusTest, ValidateAndDraw) {
  const Case& c = GetParam();
  std::vector<std::string> args = {"validate", c.file};
  args.insert(args.end(), c.args.begin(), c.args.end());
  auto start = std::chrono::steady_clock::now();
  ProcessResult r = Weft(args);
  auto took = std::chrono::steady_clock::now() - start;
  std::string all = r.err + r.out;
  EXPECT_EQ(r.exit_code, c.exit) << all;
  EXPECT_LT(took, std::chrono::seconds(5)) << "validation must stay within a fixed budget";
  for (const std::string& e : c.expect) EXPECT_NE(all.find(e), std::string::npos) << e << "\n" << all;
  if (c.no_warnings) {
    EXPECT_EQ(all.find("warning:"), std::string::npos) << all;
  }
  if (c.exit != 0) return;

  for (const char* format : {"text", "dot", "mermaid"}) {
    std::vector<std::string> g = {"graph", c.file, "--format", format};
    g.insert(g.end(), c.args.begin(), c.args.end());
    ProcessResult gr = Weft(g);
    EXPECT_EQ(gr.exit_code, 0) << format << ": " << gr.err;
    EXPECT_FALSE(gr.out.empty()) << format;
  }
  std::vector<std::string> g = {"graph", c.file, "--format", "json"};
  g.insert(g.end(), c.args.begin(), c.args.end());
  ProcessResult gr = Weft(g);
  ASSERT_EQ(gr.exit_code, 0) << gr.err;
  nlohmann::json j = nlohmann::json::parse(gr.out);
  if (c.steps >= 0) {
    EXPECT_EQ(j["steps"].size(), static_cast<size_t>(c.steps)) << gr.out;
  }
  if (c.edge_count >= 0) {
    EXPECT_EQ(j["edges"].size(), static_cast<size_t>(c.edge_count)) << gr.out;
  }
  if (c.groups >= 0) {
    EXPECT_EQ(j["groups"].size(), static_cast<size_t>(c.groups)) << gr.out;
  }
  for (const std::string& want : c.edges) {
    bool found = false;
    for (const auto& e : j["edges"]) {
      std::string have = e["from"].get<std::string>() + "." + e["output"].get<std::string>() +
                         " -> " + e["to"].get<std::string>() + "." + e["input"].get<std::string>();
      found |= have == want;
    }
    EXPECT_TRUE(found) << "no edge " << want << "\n" << gr.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Pipelines, CorpusTest, ::testing::ValuesIn(Discover()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.file;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(CliTest, VersionAndHelp) {
  ProcessResult v = Weft({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("weft ", 0), 0u) << v.out;
  ProcessResult h = Weft({"help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("validate"), std::string::npos);
  EXPECT_NE(h.out.find("graph"), std::string::npos);
  ProcessResult hv = Weft({"help", "graph"});
  EXPECT_EQ(hv.exit_code, 0);
  EXPECT_NE(hv.out.find("--format"), std::string::npos) << hv.out;
  for (const char* sub : {"validate", "graph"}) {
    ProcessResult r = Weft({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("--set"), std::string::npos) << sub << ": " << r.out;
  }
}

TEST(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Weft({}).exit_code, 2);
  EXPECT_EQ(Weft({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Weft({"help", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Weft({"validate"}).exit_code, 2);
  ProcessResult missing = Weft({"validate", "no/such/file.yml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no/such/file.yml: no such file"), std::string::npos) << missing.err;
  ProcessResult bad_set = Weft({"validate", "valid/digits_like.yml", "--set", "lr=0.1"});
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("--set lr=0.1: expected inputs.NAME=VALUE"), std::string::npos);
  EXPECT_EQ(Weft({"graph", "valid/digits_like.yml", "--format", "png"}).exit_code, 2);
  ProcessResult dir = Weft({"validate", "valid"});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_NE(dir.err.find("not a regular file"), std::string::npos) << dir.err;
  ProcessResult dev = Weft({"validate", "/dev/zero"});
  EXPECT_EQ(dev.exit_code, 2);
}

// Options that make no sense are refused with what would; a file named like an option is found
// after `--`, and the error without it says so.
TEST(CliTest, OptionsAreCheckedAndDashedFilesWorkAfterTheSeparator) {
  testing::TempDir dir;
  dir.Write("-p.yml", "type: pipeline\njobs:\n  hello:\n    command: echo hi\n"
                      "    environment: {image: python:3.11}\n");
  auto weft = [&](std::vector<std::string> args) {
    args.insert(args.begin(), WEFT_BINARY);
    return testing::Run(args, dir.path());
  };
  for (const char* jobs : {"0", "-1"}) {
    ProcessResult r = weft({"run", "-j", jobs, "--", "-p.yml"});
    EXPECT_EQ(r.exit_code, 2) << jobs;
    EXPECT_NE(r.err.find("not in range 1"), std::string::npos) << r.err;
  }
  ProcessResult dashed = weft({"run", "-p.yml"});
  EXPECT_EQ(dashed.exit_code, 2);
  EXPECT_NE(dashed.err.find("hint: `-p.yml` is a file; a file whose name starts with `-` goes after "
                            "`--`: weft run -- -p.yml"),
            std::string::npos)
      << dashed.err;
  ProcessResult ok = weft({"run", "--", "-p.yml"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  ProcessResult typo = weft({"run", "--force-step", "helo", "--", "-p.yml"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("--force-step helo: the pipeline has no step `helo`; did you mean `hello`?"),
            std::string::npos)
      << typo.err;
  ProcessResult status = weft({"runs", "--status", "finished"});
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_NE(status.err.find("interrupted"), std::string::npos) << status.err;
}

TEST(CliTest, ExampleValidatesCleanly) {
  ProcessResult r = Weft({"validate", "examples/digits/pipeline.yml"}, WEFT_SOURCE_DIR);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("6 steps, 10 edges"), std::string::npos) << r.out;
  ProcessResult tune = Weft({"validate", "examples/digits/tune.yml"}, WEFT_SOURCE_DIR);
  EXPECT_EQ(tune.exit_code, 0) << tune.err;
  EXPECT_EQ(tune.err, "");
}

// The demo behind `make demo`, run in a folder whose name holds a space, a quote and a non-ASCII
// letter (TempDir's names do): the workspace and the pipeline live there, and every path weft
// substitutes must arrive as one word.
TEST(CliTest, DigitsDemoRunsInAFolderWithASpaceAQuoteAndANonAsciiLetter) {
  testing::TempDir tmp;
  const char* was = std::getenv("TMPDIR");
  std::string before = was ? was : "";
  ::setenv("TMPDIR", tmp.path().c_str(), 1);
  ::setenv("WEFT", WEFT_BINARY, 1);
  ProcessResult r = testing::Run({std::string(WEFT_SOURCE_DIR) + "/examples/demo"}, WEFT_SOURCE_DIR);
  // tmp goes with this test: later tests in the same process make their folders where they did.
  if (was) {
    ::setenv("TMPDIR", before.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("working in " + tmp.path() + "/weft demo 'ü-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run r3: succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reused     prep"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("input n_estimators 100 -> 50"), std::string::npos) << r.out;
  // The bayesian sweep: eight trials, the best one's model evaluated.
  EXPECT_NE(r.out.find("run r4: succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("best trial "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  job 7   succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("metric val_accuracy"), std::string::npos) << r.out;
}

TEST(CliTest, HugeGeneratedFilesAreRefusedWithinBudget) {
  testing::TempDir dir;
  std::string deep(20000, '[');
  dir.Write("deep.yml", "jobs: " + deep + std::string(20000, ']') + "\n");
  std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  dir.Write("bomb.yml", bomb + "type: pipeline\njobs: {}\n");
  for (const char* f : {"deep.yml", "bomb.yml"}) {
    auto start = std::chrono::steady_clock::now();
    ProcessResult r = Weft({"validate", f}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << f << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << f;
  }
}

}  // namespace
}  // namespace weft
