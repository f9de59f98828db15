// The hostile corpus (tests/hostile/*.yml): pipelines made to break weft. Each file's first line
// says what must happen: `# expect: EXIT MESSAGE`. Every file runs in a fresh copy of the corpus
// whose workspace already holds a run (_baseline.yml); afterwards that run and every store file
// it made must be unchanged, nothing may have appeared beside the pipeline files or anywhere as
// `pwned*`, and weft must have ended by itself (no crash, no hang) with the expected code and
// message. Directives on the next lines: `# command: validate` (default: run), `# args: ...`,
// `# generate: KIND N` (content too big or too special to keep in git, made before the run).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

const std::string kCorpus = std::string(WEFT_SOURCE_DIR) + "/tests/hostile";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".yml" && name[0] != '_') out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Case {
  int exit_code = -1;
  std::string message;
  std::string command = "run";
  std::vector<std::string> args;
};

// Reads the header and makes what `# generate:` asks for.
Case Prepare(const fs::path& file) {
  std::string text = Slurp(file);
  Case c;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line) && line.rfind("#", 0) == 0) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::smatch m;
    if (std::regex_match(line, m, std::regex("# expect: (\\d+) (.*)"))) {
      c.exit_code = std::stoi(m[1]);
      c.message = m[2];
    } else if (std::regex_match(line, m, std::regex("# command: (\\w+)"))) {
      c.command = m[1];
    } else if (std::regex_match(line, m, std::regex("# args: (.*)"))) {
      std::istringstream words(m[1].str());
      for (std::string w; words >> w;) c.args.push_back(w);
    } else if (std::regex_match(line, m, std::regex("# generate: (\\w+) (\\S+)"))) {
      std::string kind = m[1], arg = m[2];
      auto replace = [&](const std::string& token, const std::string& with) {
        size_t at = text.find(token);
        ASSERT_NE(at, std::string::npos) << token;
        text.replace(at, token.size(), with);
      };
      if (kind == "fifo") {
        fs::path p = file.parent_path() / arg;
        fs::create_directories(p.parent_path());
        ::mkfifo(p.c_str(), 0644);
        continue;
      }
      size_t n = std::stoul(arg);
      if (kind == "pad") {
        for (size_t i = 0; i < n / 100; ++i) text += "#" + std::string(98, 'x') + "\n";
      } else if (kind == "literal") {
        replace("@@PAD@@", std::string(n, 'a'));
      } else if (kind == "deep") {
        replace("@@DEEP@@", std::string(n, '[') + std::string(n, ']'));
      } else if (kind == "deepmap") {
        std::string deep;
        for (size_t i = 0; i < n; ++i) deep += "{a: ";
        replace("@@DEEP@@", deep + "1" + std::string(n, '}'));
      } else if (kind == "deepblock") {
        std::string deep;
        for (size_t i = 0; i < n; ++i) deep += std::string(6 + 2 * i, ' ') + "k:\n";
        replace("@@DEEP@@", deep + std::string(6 + 2 * n, ' ') + "v\n");
      } else if (kind == "jobs") {
        std::string jobs;
        for (size_t i = 0; i < n; ++i) {
          jobs += "  j" + std::to_string(i) + ":\n    command: echo " + std::to_string(i) +
                  "\n    environment: {image: python:3.11}\n";
        }
        replace("@@JOBS@@", jobs);
      } else {
        ADD_FAILURE() << "unknown generator " << kind;
      }
    }
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  return c;
}

// Every regular file under `dir` (relative path -> content), leaving out `skip` folders.
std::map<std::string, std::string> Files(const fs::path& dir, const std::string& skip = "") {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (!skip.empty() && it->path().filename() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    std::error_code ec;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      out[fs::relative(it->path(), dir).string()] = Slurp(it->path());
    }
  }
  return out;
}

class HostileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HostileTest, EndsCleanlyAndChangesNothingItShouldNot) {
  testing::TempDir tmp;
  fs::path root = fs::path(tmp.path()) / "h";
  fs::copy(kCorpus, root, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  auto weft = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/timeout", "-s", "KILL", "120", WEFT_BINARY});
    return testing::Run(args, root.string());
  };
  ProcessResult base = weft({"run", "_baseline.yml"});
  ASSERT_EQ(base.exit_code, 0) << base.out << base.err;
  std::string run_before = weft({"show", "r1", "--json"}).out;
  std::map<std::string, std::string> store_before = Files(root / ".weft" / "store", "tmp");

  Case c = Prepare(root / GetParam());
  ASSERT_GE(c.exit_code, 0) << GetParam() << " has no `# expect: EXIT MESSAGE` line";
  std::map<std::string, std::string> beside_before = Files(root, ".weft");
  std::vector<std::string> args = {c.command, GetParam()};
  args.insert(args.end(), c.args.begin(), c.args.end());
  ProcessResult r = weft(args);

  EXPECT_NE(r.exit_code, 137) << "weft hung (killed after 120 s)";
  EXPECT_LT(r.exit_code, 128) << "weft crashed\n" << r.err;
  EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find(c.message), std::string::npos)
      << "expected `" << c.message << "` in:\n" << r.out << r.err;
  // What was there is still there, unchanged; nothing appeared beside the pipeline files.
  EXPECT_EQ(weft({"show", "r1", "--json"}).out, run_before);
  std::map<std::string, std::string> store_after = Files(root / ".weft" / "store", "tmp");
  for (const auto& [path, content] : store_before) {
    auto it = store_after.find(path);
    ASSERT_NE(it, store_after.end()) << path << " left the store";
    EXPECT_EQ(it->second, content) << path << " changed";
  }
  EXPECT_EQ(Files(root, ".weft"), beside_before);
  for (const auto& e : fs::recursive_directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().rfind("pwned", 0), std::string::npos) << e.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, HostileTest, ::testing::ValuesIn(CorpusFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 4);
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace weft
