// The layers drawn in docs/architecture.md are the include rules of src/: a library may include
// its own headers and those of libraries in lower layers, never one beside it or above it.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace weft {
namespace {

namespace fs = std::filesystem;

// Library -> layer (0 is the bottom), from the ```layers block, whose first line is the top.
std::map<std::string, int> ParseLayers(const std::string& markdown) {
  std::istringstream in(markdown);
  std::string line;
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line == "```layers";
      continue;
    }
    if (line.rfind("```", 0) == 0) break;
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string w; words >> w;) row.push_back(w);
    if (!row.empty()) rows.push_back(row);
  }
  std::map<std::string, int> rank;
  for (size_t k = 0; k < rows.size(); ++k) {
    for (const std::string& lib : rows[k]) rank[lib] = static_cast<int>(rows.size() - 1 - k);
  }
  return rank;
}

// "file:line: lib includes other/x.h (a layer above it, or beside it)" for each include that
// breaks the rules, in one source file of library `lib`.
std::vector<std::string> Violations(const std::map<std::string, int>& rank, const std::string& lib,
                                    const std::string& name, const std::string& text) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s+"([a-z_]+)/[^"]+")re");
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (!std::regex_search(line, m, kInclude)) continue;
    std::string other = m[1];
    if (other == lib) continue;
    auto mine = rank.find(lib), theirs = rank.find(other);
    if (mine == rank.end() || theirs == rank.end() || theirs->second >= mine->second) {
      out.push_back(name + ":" + std::to_string(n) + ": " + lib + " includes " + other +
                    "/ (not in a layer below " + lib + ")");
    }
  }
  return out;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LayeringTest, EveryIncludeInSrcPointsDownALayer) {
  std::map<std::string, int> rank = ParseLayers(ReadAll(fs::path(WEFT_SOURCE_DIR) / "docs/architecture.md"));
  ASSERT_GE(rank.size(), 10u) << "docs/architecture.md has no ```layers block";
  std::vector<std::string> all;
  size_t files = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(WEFT_SOURCE_DIR) / "src")) {
    if (!dir.is_directory()) continue;
    std::string lib = dir.path().filename().string();
    bool sources = false;
    for (const auto& f : fs::recursive_directory_iterator(dir.path())) {
      std::string name = f.path().filename().string();
      bool source = f.path().extension() == ".h" || f.path().extension() == ".cc";
      if (!source || name.find("_test.") != std::string::npos) continue;  // tests may reach anywhere
      sources = true;
      ++files;
      for (std::string& v : Violations(rank, lib, fs::relative(f.path(), WEFT_SOURCE_DIR).string(),
                                       ReadAll(f.path()))) {
        all.push_back(std::move(v));
      }
    }
    if (sources) {
      EXPECT_TRUE(rank.count(lib)) << "src/" << lib << " is in no layer of docs/architecture.md";
    }
  }
  EXPECT_GT(files, 100u);
  std::string report;
  for (const std::string& v : all) report += v + "\n";
  EXPECT_TRUE(all.empty()) << report;
}

TEST(LayeringTest, AnIncludeUpOrAcrossALayerIsReported) {
  std::map<std::string, int> rank = ParseLayers("x\n```layers\nengine\nmeta exec\nbase\n```\n");
  ASSERT_EQ(rank.size(), 4u);
  EXPECT_TRUE(Violations(rank, "engine", "e.cc", "#include \"meta/meta.h\"\n#include \"base/x.h\"\n").empty());
  EXPECT_TRUE(Violations(rank, "exec", "x.cc", "#include \"exec/local.h\"\n").empty());
  std::vector<std::string> up = Violations(rank, "exec", "exec/local.cc",
                                           "#include <vector>\n\n#include \"engine/engine.h\"\n");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0], "exec/local.cc:3: exec includes engine/ (not in a layer below exec)");
  EXPECT_EQ(Violations(rank, "exec", "x.cc", "#include \"meta/meta.h\"\n").size(), 1u);  // beside
  EXPECT_EQ(Violations(rank, "exec", "x.cc", "#include \"server/x.h\"\n").size(), 1u);   // unknown
}

}  // namespace
}  // namespace weft
