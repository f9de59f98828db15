#include "spec/yaml.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace weft::yaml {
namespace {

std::unique_ptr<Document> ParseOk(const std::string& text, Diagnostics& d) {
  auto doc = Parse("t.yml", text, d);
  EXPECT_NE(doc, nullptr) << d.FormatAll();
  return doc;
}

TEST(YamlTest, NodesCarryLineAndColumn) {
  Diagnostics d;
  auto doc = ParseOk("a: 1\nb:\n  c: [x, y]\n", d);
  const Node* root = doc->root();
  ASSERT_TRUE(root->is_mapping());
  const Node* b = root->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->line, 3u);
  EXPECT_EQ(b->col, 3u);
  const Node* c = b->Find("c");
  ASSERT_TRUE(c->is_sequence());
  EXPECT_EQ(c->children[1]->text, "y");
  EXPECT_EQ(c->children[1]->line, 3u);
  EXPECT_EQ(c->children[1]->col, 10u);
}

TEST(YamlTest, DuplicateKeysKeepTheLastValueWithAWarning) {
  Diagnostics d;
  auto doc = ParseOk("a: 1\nb: 2\na: 3\n", d);
  EXPECT_EQ(doc->root()->entry_count(), 2u);
  EXPECT_EQ(doc->root()->Find("a")->text, "3");
  ASSERT_EQ(d.warning_count(), 1u);
  EXPECT_EQ(d.Sorted()[0].line, 3u);
  EXPECT_NE(d.Sorted()[0].message.find("duplicate key `a`"), std::string::npos);
}

TEST(YamlTest, MergeKeysApplyWithExplicitKeysWinning) {
  Diagnostics d;
  auto doc = ParseOk(
      "base: &base {x: 1, y: 2}\n"
      "other: &other {y: 20, z: 30}\n"
      "m:\n  <<: [*base, *other]\n  x: 100\n",
      d);
  const Node* m = doc->root()->Find("m");
  EXPECT_EQ(m->Find("x")->text, "100");  // own key wins, no warning
  EXPECT_EQ(m->Find("y")->text, "2");    // earlier merge source wins
  EXPECT_EQ(m->Find("z")->text, "30");
  EXPECT_EQ(m->Find("<<"), nullptr);
  EXPECT_EQ(d.warning_count(), 0u);
}

TEST(YamlTest, QuotedMergeKeyIsAnOrdinaryKey) {
  Diagnostics d;
  auto doc = ParseOk("b: &b {x: 1}\nm: {'<<': *b}\n", d);
  EXPECT_NE(doc->root()->Find("m")->Find("<<"), nullptr);
}

TEST(YamlTest, AliasesShareTheAnchoredNode) {
  Diagnostics d;
  auto doc = ParseOk("a: &x {k: v}\nb: *x\n", d);
  EXPECT_EQ(doc->root()->Find("a"), doc->root()->Find("b"));
}

TEST(YamlTest, AliasBombIsRefusedQuickly) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  Diagnostics d;
  auto start = std::chrono::steady_clock::now();
  auto doc = Parse("bomb.yml", text, d);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(doc, nullptr);
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.FormatAll().find("expands to more than"), std::string::npos) << d.FormatAll();
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(YamlTest, DeepNestingIsRefused) {
  std::string text(10000, '[');
  text += std::string(10000, ']');
  Diagnostics d;
  EXPECT_EQ(Parse("deep.yml", text, d), nullptr);
  EXPECT_NE(d.FormatAll().find("deep.yml:1:1001: error: nesting deeper than 1000 levels"),
            std::string::npos)
      << d.FormatAll();
}

TEST(YamlTest, SyntaxErrorsAreLocated) {
  Diagnostics d;
  EXPECT_EQ(Parse("bad.yml", "a: 1\nb: [1, 2\nc: 3\n", d), nullptr);
  std::string all = d.FormatAll();
  EXPECT_NE(all.find("bad.yml:3:2: error: YAML syntax:"), std::string::npos) << all;
}

TEST(YamlTest, TabIndentationIsASyntaxError) {
  Diagnostics d;
  EXPECT_EQ(Parse("tab.yml", "a:\n\tb: 1\n", d), nullptr);
  EXPECT_NE(d.FormatAll().find("tab.yml:2:1: error: YAML syntax"), std::string::npos)
      << d.FormatAll();
}

TEST(YamlTest, UndefinedAndRecursiveAliasesAreErrors) {
  Diagnostics d1;
  EXPECT_EQ(Parse("t.yml", "a: *nope\n", d1), nullptr);
  EXPECT_NE(d1.FormatAll().find("t.yml:1:4: error: alias `*nope` refers to no anchor"),
            std::string::npos)
      << d1.FormatAll();
  Diagnostics d2;
  EXPECT_EQ(Parse("t.yml", "a: &r [1, *r]\n", d2), nullptr);
  EXPECT_NE(d2.FormatAll().find("refers to a node that contains it"), std::string::npos);
}

TEST(YamlTest, MoreThanOneDocumentIsAnError) {
  Diagnostics d;
  EXPECT_EQ(Parse("two.yml", "a: 1\n---\nb: 2\n", d), nullptr);
  EXPECT_NE(d.FormatAll().find("two.yml:2:1: error: the file holds more than one YAML document"),
            std::string::npos)
      << d.FormatAll();
}

TEST(YamlTest, EmptyInputHasNoRoot) {
  Diagnostics d;
  auto doc = Parse("empty.yml", "", d);
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(doc->root(), nullptr);
}

TEST(YamlTest, InvalidUtf8IsASyntaxError) {
  Diagnostics d;
  EXPECT_EQ(Parse("u.yml", "a: \xff\xfe\n", d), nullptr);
  EXPECT_TRUE(d.has_errors());
}

}  // namespace
}  // namespace weft::yaml
