// Flattening and binding resolution: groups, edges across component boundaries, cycles, --set.
#include "graph/graph.h"

#include <gtest/gtest.h>

#include "graph/render.h"
#include "test_util.h"

namespace weft::graph {
namespace {

using weft::testing::TempDir;

constexpr const char* kEcho = R"(name: echo
version: 2
inputs:
  x: {type: uri_folder, optional: true}
  n: {type: integer, default: 1}
outputs:
  out: {type: uri_folder}
environment: azureml:x:1
command: echo $[[${{inputs.x}}]] ${{inputs.n}} > ${{outputs.out}}/o
)";

class BuildTest : public ::testing::Test {
 protected:
  Graph BuildFrom(const std::string& pipeline,
                  std::vector<std::pair<std::string, std::string>> files = {},
                  BuildOptions options = {}) {
    dir_.Write("echo.yml", kEcho);
    for (const auto& [name, text] : files) dir_.Write(name, text);
    std::string path = dir_.Write("p.yml", pipeline);
    diags_ = Diagnostics();
    spec::EmptyRegistry registry;
    loaded_ = spec::LoadPipeline(path, registry, diags_);
    EXPECT_NE(loaded_, nullptr);
    Graph g = Build(*loaded_, options, diags_);
    all_ = diags_.FormatAll();
    for (size_t at; (at = all_.find(dir_.path())) != std::string::npos;) {
      all_.replace(at, dir_.path().size(), "@");
    }
    return g;
  }
  bool Has(const std::string& text) const { return all_.find(text) != std::string::npos; }

  TempDir dir_;
  Diagnostics diags_;
  std::unique_ptr<spec::LoadedPipeline> loaded_;
  std::string all_;
};

uint32_t StepIndex(const Graph& g, const std::string& name) {
  for (uint32_t i = 0; i < g.steps.size(); ++i) {
    if (g.steps[i].name == name) return i;
  }
  ADD_FAILURE() << "no step " << name;
  return 0;
}

TEST_F(BuildTest, EdgesComeFromBindingsNotYamlOrder) {
  Graph g = BuildFrom(R"(type: pipeline
jobs:
  last:
    component: ./echo.yml
    inputs: {x: "${{parent.jobs.first.outputs.out}}"}
  first:
    component: ./echo.yml
)");
  EXPECT_FALSE(diags_.has_errors()) << all_;
  ASSERT_EQ(g.edges.size(), 1u);
  EXPECT_EQ(g.steps[g.edges[0].from].name, "first");
  EXPECT_EQ(g.steps[g.edges[0].to].name, "last");
  std::vector<uint32_t> order = TopologicalOrder(g);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(g.steps[order[0]].name, "first");
}

TEST_F(BuildTest, NestedPipelinesFlattenIntoGroupsAndDirectEdges) {
  const char* inner = R"(type: pipeline
name: inner
inputs:
  data: {type: uri_folder}
  n: {type: integer, default: 7}
outputs:
  result: {type: uri_folder}
jobs:
  step:
    component: ./echo.yml
    inputs:
      x: ${{parent.inputs.data}}
      n: ${{parent.inputs.n}}
    outputs:
      out: ${{parent.outputs.result}}
)";
  const char* middle = R"(type: pipeline
name: middle
inputs:
  data: {type: uri_folder}
outputs:
  result: {type: uri_folder}
jobs:
  deep:
    type: pipeline
    component: ./inner.yml
    inputs:
      data: ${{parent.inputs.data}}
    outputs:
      result: ${{parent.outputs.result}}
)";
  Graph g = BuildFrom(R"(type: pipeline
name: top
outputs:
  final: {type: uri_folder}
jobs:
  source:
    component: ./echo.yml
  outer:
    type: pipeline
    component: ./middle.yml
    inputs:
      data: ${{parent.jobs.source.outputs.out}}
  sink:
    component: ./echo.yml
    inputs:
      x: ${{parent.jobs.outer.outputs.result}}
    outputs:
      out: ${{parent.outputs.final}}
)",
                      {{"inner.yml", inner}, {"middle.yml", middle}});
  EXPECT_FALSE(diags_.has_errors()) << all_;
  ASSERT_EQ(g.steps.size(), 3u);
  uint32_t deep = StepIndex(g, "outer/deep/step");
  ASSERT_EQ(g.groups.size(), 2u);
  EXPECT_EQ(g.groups[0].name, "outer");
  EXPECT_EQ(g.groups[1].name, "outer/deep");
  EXPECT_EQ(g.groups[1].parent, 0);
  EXPECT_EQ(g.steps[deep].group, 1);
  // source -> outer/deep/step -> sink, with no step for the pipeline nodes themselves.
  ASSERT_EQ(g.edges.size(), 2u);
  EXPECT_EQ(g.edges[0].from, StepIndex(g, "source"));
  EXPECT_EQ(g.edges[0].to, deep);
  EXPECT_EQ(g.edges[1].from, deep);
  EXPECT_EQ(g.edges[1].to, StepIndex(g, "sink"));
  // The inner default reached the step through two levels.
  EXPECT_EQ(g.steps[deep].inputs[1].source.literal.Render(), "7");
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "final");
  EXPECT_EQ(g.steps[g.outputs[0].step].name, "sink");
}

TEST_F(BuildTest, CyclesAreNamed) {
  BuildFrom(R"(type: pipeline
jobs:
  a:
    component: ./echo.yml
    inputs: {x: "${{parent.jobs.c.outputs.out}}"}
  b:
    component: ./echo.yml
    inputs: {x: "${{parent.jobs.a.outputs.out}}"}
  c:
    component: ./echo.yml
    inputs: {x: "${{parent.jobs.b.outputs.out}}"}
)");
  EXPECT_TRUE(Has("@/p.yml:8:17: error: binding cycle: a -> b -> c -> a")) << all_;
}

TEST_F(BuildTest, SelfReferenceIsACycle) {
  BuildFrom(R"(type: pipeline
jobs:
  a:
    component: ./echo.yml
    inputs:
      x: ${{parent.jobs.a.outputs.out}}
)");
  EXPECT_TRUE(Has("@/p.yml:6:10: error: binding cycle: a -> a")) << all_;
}

TEST_F(BuildTest, ReferencesToUndeclaredThings) {
  BuildFrom(R"(type: pipeline
inputs:
  count: 3
jobs:
  a:
    component: ./echo.yml
    inputs:
      n: ${{parent.inputs.cuont}}
  b:
    component: ./echo.yml
    inputs:
      x: ${{parent.jobs.aa.outputs.out}}
  c:
    component: ./echo.yml
    inputs:
      x: ${{parent.jobs.a.outputs.result}}
    outputs:
      out: ${{parent.outputs.nowhere}}
)");
  EXPECT_TRUE(Has("@/p.yml:8:10: error: the pipeline has no input `cuont`\n  hint: did you mean "
                  "`count`?"))
      << all_;
  EXPECT_TRUE(Has("@/p.yml:12:10: error: input `x` of job `b` refers to "
                  "`${{parent.jobs.aa.outputs.out}}`, but the pipeline has no job `aa`\n"
                  "  hint: did you mean `a`?"))
      << all_;
  EXPECT_TRUE(Has("@/p.yml:16:10: error: job `a` has no output `result`")) << all_;
  EXPECT_TRUE(Has("@/p.yml:18:12: error: job `c` binds output `out` to "
                  "`${{parent.outputs.nowhere}}`, but the pipeline has no output `nowhere`"))
      << all_;
}

TEST_F(BuildTest, NonOptionalInputWithoutValue) {
  BuildFrom(R"(type: pipeline
jobs:
  t:
    command: echo ${{inputs.d}}
    environment: azureml:x:1
    inputs:
      d: {type: uri_folder}
)");
  EXPECT_TRUE(Has("@/p.yml:3:3: error: input `d` of job `t` has no value")) << all_;
}

TEST_F(BuildTest, LiteralsFromPipelineInputsAreCheckedAgainstThePort) {
  BuildFrom(R"(type: pipeline
inputs:
  n: many
jobs:
  a:
    component: ./echo.yml
    inputs:
      n: ${{parent.inputs.n}}
)");
  EXPECT_TRUE(Has("@/p.yml:3:6: error: input `n` of job `a` is an integer, but `many` is not a "
                  "number"))
      << all_;
}

TEST_F(BuildTest, LegacyFormsAndSiblingInputs) {
  Graph g = BuildFrom(R"(type: pipeline
inputs:
  n: 4
jobs:
  a:
    component: ./echo.yml
    inputs:
      n: ${{inputs.n}}
  b:
    component: ./echo.yml
    inputs:
      x: ${{jobs.a.outputs.out}}
      n: ${{parent.jobs.a.inputs.n}}
)");
  EXPECT_FALSE(diags_.has_errors()) << all_;
  uint32_t b = StepIndex(g, "b");
  EXPECT_EQ(g.steps[b].inputs[0].source.kind, ValueSource::Kind::kStepOutput);
  EXPECT_EQ(g.steps[b].inputs[1].source.literal.Render(), "4");
}

TEST_F(BuildTest, SetOverridesAreTypedByTheDeclaredType) {
  const char* p = R"(type: pipeline
inputs:
  n: {type: integer, value: 1}
  lr: 0.5
  name: abc
jobs:
  a:
    component: ./echo.yml
    inputs:
      n: ${{parent.inputs.n}}
)";
  Graph g = BuildFrom(p, {}, BuildOptions{{{"n", "12"}, {"lr", "1e-3"}, {"name", "yes"}}});
  EXPECT_FALSE(diags_.has_errors()) << all_;
  EXPECT_EQ(g.steps[0].inputs[1].source.literal.kind, LiteralKind::kInt);
  EXPECT_EQ(g.steps[0].inputs[1].source.literal.Render(), "12");

  BuildFrom(p, {}, BuildOptions{{{"n", "twelve"}, {"lr", "fast"}, {"nmae", "x"}}});
  EXPECT_TRUE(Has("error: --set inputs.n=twelve: the input is integer, and `twelve` is not an "
                  "integer"))
      << all_;
  EXPECT_TRUE(Has("error: --set inputs.lr=fast: the input is number")) << all_;
  EXPECT_TRUE(Has("error: --set inputs.nmae: the pipeline has no input `nmae`\n  hint: did you "
                  "mean `name`?"))
      << all_;
  // A fraction is not truncated into an integer; a whole number written as a float is one.
  BuildFrom(p, {}, BuildOptions{{{"n", "2.5"}}});
  EXPECT_TRUE(Has("error: --set inputs.n=2.5: the input is integer, and `2.5` is not an integer")) << all_;
  g = BuildFrom(p, {}, BuildOptions{{{"n", "3.0"}}});
  EXPECT_FALSE(diags_.has_errors()) << all_;
  EXPECT_EQ(g.steps[0].inputs[1].source.literal.Render(), "3");
}

TEST_F(BuildTest, SetDataPathsOutsideTheRootsAreRefusedWithoutLookingAtThem) {
  const char* p = R"(type: pipeline
inputs:
  d: {type: uri_folder, path: ./data}
jobs:
  a:
    component: ./echo.yml
    inputs:
      x: ${{parent.inputs.d}}
)";
  dir_.Mkdir("data");
  dir_.Mkdir("other");
  BuildOptions o;
  o.base_dir = dir_.path();
  o.roots = {dir_.path()};
  o.set_inputs = {{"d", "./other"}};
  BuildFrom(p, {}, o);
  EXPECT_FALSE(diags_.has_errors()) << all_;
  o.set_inputs = {{"d", "/etc"}};
  BuildFrom(p, {}, o);
  EXPECT_TRUE(Has("error: --set inputs.d=/etc: outside the files submitted with this pipeline"))
      << all_;
  // A path that does not exist is refused in the same words: whether it exists is not told.
  o.set_inputs = {{"d", "/no/such/place"}};
  BuildFrom(p, {}, o);
  EXPECT_TRUE(Has("error: --set inputs.d=/no/such/place: outside the files submitted")) << all_;
  EXPECT_FALSE(Has("no such file")) << all_;
}

TEST_F(BuildTest, DataInsideLongerTextIsAnError) {
  BuildFrom(R"(type: pipeline
jobs:
  a:
    component: ./echo.yml
  b:
    command: echo ${{inputs.p}}
    environment: azureml:x:1
    inputs:
      p: "prefix-${{parent.jobs.a.outputs.out}}"
)");
  EXPECT_TRUE(Has("@/p.yml:9:10: error: input `p` of job `b` puts data "
                  "(`${{parent.jobs.a.outputs.out}}`) inside a longer text"))
      << all_;
}

TEST_F(BuildTest, RenderFormatsShowGroupsAndEdges) {
  Graph g = BuildFrom(R"(type: pipeline
name: "quote\"d"
jobs:
  a:
    component: ./echo.yml
  b:
    component: ./echo.yml
    inputs: {x: "${{parent.jobs.a.outputs.out}}"}
)");
  EXPECT_NE(Render(g, Format::kDot).find("s0 -> s1 [label=\"out -> x\"];"), std::string::npos);
  EXPECT_NE(Render(g, Format::kMermaid).find("s0 -->|\"out → x\"| s1"), std::string::npos);
  std::string json = Render(g, Format::kJson);
  EXPECT_NE(json.find("\"name\": \"quote\\\"d\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"component\": \"echo:2\""), std::string::npos);
  EXPECT_NE(Render(g, Format::kText).find("  b  command  echo:2\n      x <- a.outputs.out\n"),
            std::string::npos)
      << Render(g, Format::kText);
}

}  // namespace
}  // namespace weft::graph
