#include "spec/expr.h"

#include <gtest/gtest.h>

namespace weft::spec {
namespace {

Template ScanOk(std::string_view text) {
  std::vector<ScanError> errors;
  Template t = Scan(text, &errors);
  EXPECT_TRUE(errors.empty()) << errors[0].message;
  return t;
}

struct FormCase {
  const char* path;
  RefKind kind;
  const char* job;
  const char* port;
  bool legacy;
};

TEST(ExprTest, ClassifiesEveryForm) {
  const FormCase cases[] = {
      {"inputs.lr", RefKind::kInputs, "", "lr", false},
      {"outputs.model", RefKind::kOutputs, "", "model", false},
      {"parent.inputs.data", RefKind::kParentInputs, "", "data", false},
      {"parent.outputs.best", RefKind::kParentOutputs, "", "best", false},
      {"parent.jobs.prep.outputs.train", RefKind::kJobOutput, "prep", "train", false},
      {"parent.jobs.prep.inputs.seed", RefKind::kJobInput, "prep", "seed", false},
      {"jobs.prep.outputs.train", RefKind::kJobOutput, "prep", "train", true},
      {"jobs.prep.inputs.seed", RefKind::kJobInput, "prep", "seed", true},
      {"name", RefKind::kName, "", "", false},
      {"default_datastore", RefKind::kDefaultDatastore, "", "", false},
      {"output_name", RefKind::kOutputName, "", "", false},
      {"search_space.learning_rate", RefKind::kSearchSpace, "", "learning_rate", false},
      {"parent.jobs.prep", RefKind::kUnknown, "", "", false},
      {"something.else", RefKind::kUnknown, "", "", false},
  };
  for (const FormCase& c : cases) {
    Ref r = ClassifyPath(c.path);
    EXPECT_EQ(r.kind, c.kind) << c.path;
    EXPECT_EQ(r.job, c.job) << c.path;
    EXPECT_EQ(r.port, c.port) << c.path;
    EXPECT_EQ(r.legacy, c.legacy) << c.path;
  }
}

TEST(ExprTest, ScanFindsReferencesWithOffsetsAndSpaces) {
  std::string text = "python a.py --x ${{ inputs.x }} --y ${{outputs.y}}";
  Template t = ScanOk(text);
  ASSERT_EQ(t.refs.size(), 2u);
  EXPECT_EQ(t.refs[0].path, "inputs.x");
  EXPECT_EQ(text.substr(t.refs[0].begin, t.refs[0].end - t.refs[0].begin), "${{ inputs.x }}");
  EXPECT_EQ(t.refs[1].kind, RefKind::kOutputs);
  EXPECT_FALSE(t.IsSingleRef(text));
  EXPECT_TRUE(ScanOk(" ${{parent.inputs.a}} ").IsSingleRef(" ${{parent.inputs.a}} "));
}

TEST(ExprTest, ShellSyntaxIsLeftAlone) {
  Template t = ScanOk("echo $HOME ${data.x} $((1+2)) ${{inputs.a}}");
  ASSERT_EQ(t.refs.size(), 1u);
  EXPECT_EQ(t.refs[0].port, "a");
}

TEST(ExprTest, OptionalSegmentsKeepOrDropTheirText) {
  std::string text = "run $[[--depth ${{inputs.depth}}]] $[[--seed ${{inputs.seed}}]] end";
  Template t = ScanOk(text);
  ASSERT_EQ(t.optionals.size(), 2u);
  auto has_depth = [](const Ref& r) { return r.port == "depth"; };
  EXPECT_EQ(ApplyOptionals(text, t, has_depth), "run --depth ${{inputs.depth}}  end");
  auto none = [](const Ref&) { return false; };
  EXPECT_EQ(ApplyOptionals(text, t, none), "run   end");
}

TEST(ExprTest, MalformedExpressionsAreReportedWithOffsets) {
  std::vector<ScanError> errors;
  Scan("a ${{inputs.x", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].offset, 2u);
  EXPECT_NE(errors[0].message.find("never closed"), std::string::npos);

  errors.clear();
  Scan("${{ }} ${{inputs..x}} ${{inputs.x; rm}}", &errors);
  EXPECT_EQ(errors.size(), 3u);

  errors.clear();
  Scan("$[[ a $[[ b ]] ]]", &errors);
  EXPECT_EQ(errors.size(), 1u);

  errors.clear();
  Scan("$[[ --x ${{inputs.x}}", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("never closed"), std::string::npos);
}

}  // namespace
}  // namespace weft::spec
