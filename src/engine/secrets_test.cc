#include "engine/secrets.h"

#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::engine {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(RedactorTest, MasksEveryValueLongestFirstAndIgnoresShortOnes) {
  Redactor r;
  r.Add("abcd");
  r.Add("xxabcdxx");
  r.Add("12");  // too short to mask
  EXPECT_EQ(r.Apply("a xxabcdxx b abcd c 12"), "a [secret] b [secret] c 12");
  EXPECT_EQ(r.Apply("abcdabcd"), "[secret][secret]");
}

TEST(RedactorTest, TakesDeclaredNamesFromTheEnvironmentAndThePipeline) {
  ::setenv("WEFT_REDACTOR_TEST", "from-the-environment", 1);
  Redactor r = Redactor::ForSecrets({"WEFT_REDACTOR_TEST", "SET"}, {{"SET", "set-by-pipeline"}, {"OTHER", "visible"}});
  EXPECT_EQ(r.Apply("from-the-environment set-by-pipeline visible"), "[secret] [secret] visible");
  ::unsetenv("WEFT_REDACTOR_TEST");
}

TEST(RedactorTest, FilesAreRewrittenAcrossBlockBoundaries) {
  weft::testing::TempDir dir;
  Redactor r;
  r.Add("the-secret-value");
  // Put a secret across every 1 MiB block boundary the rewrite reads in.
  std::string text;
  for (int block = 1; block <= 3; ++block) {
    text.resize(static_cast<size_t>(block) * (1 << 20) - 5, 'x');
    text += "the-secret-value";
  }
  text += "\nend\n";
  std::string path = dir.Write("log", text);
  ASSERT_TRUE(r.ApplyToFile(path).ok());
  std::string out = Slurp(path);
  EXPECT_EQ(out.find("secret-value"), std::string::npos);
  EXPECT_EQ(out.size(), text.size() - 3 * (16 - 8));
  EXPECT_EQ(out.substr(out.size() - 5), "\nend\n");
  // A file without secrets is not rewritten.
  std::string clean = dir.Write("clean", "nothing here\n");
  ASSERT_TRUE(r.ApplyToFile(clean).ok());
  EXPECT_EQ(Slurp(clean), "nothing here\n");
  EXPECT_FALSE(std::ifstream(clean + ".redacting").good());
}

}  // namespace
}  // namespace weft::engine
