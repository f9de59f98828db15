// The table of value x context -> argv: the command runs in a real bash, which prints its argv.
#include "engine/substitute.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::engine {
namespace {

// Runs `command` in bash with `${{inputs.v}}` bound to `value`, and returns the argv that
// `printargs` received, one per line (printargs is a bash function printing "<arg>").
std::string Argv(const std::string& command, const std::string& value, const std::string& cwd,
                 bool path = false) {
  std::string rendered = Substitute(command, [&](spec::RefKind, const std::string& name) {
    return name == "v" ? std::optional<Value>(Value{value, path}) : std::nullopt;
  });
  std::string script = "printargs() { for a in \"$@\"; do printf '<%s>' \"$a\"; done; echo; }; " +
                       rendered;
  testing::ProcessResult r = testing::Run({"/bin/bash", "-c", script}, cwd);
  return r.out + r.err;
}

struct Row {
  const char* value;
  const char* bare;    // printargs ${{inputs.v}}
  const char* dquote;  // printargs "${{inputs.v}}"
  const char* squote;  // printargs '${{inputs.v}}'
};

TEST(SubstituteTest, ValueTimesContextGivesArgv) {
  weft::testing::TempDir dir;
  const Row rows[] = {
      {"plain", "<plain>\n", "<plain>\n", "<plain>\n"},
      {"0.001", "<0.001>\n", "<0.001>\n", "<0.001>\n"},
      {"--epochs 5 --lr 0.1", "<--epochs><5><--lr><0.1>\n", "<--epochs 5 --lr 0.1>\n",
       "<--epochs 5 --lr 0.1>\n"},
      {"\"; touch /tmp/x; echo \"", "<\";><touch></tmp/x;><echo><\">\n",
       "<\"; touch /tmp/x; echo \">\n", "<\"; touch /tmp/x; echo \">\n"},
      {"$(touch /tmp/y)", "<$(touch></tmp/y)>\n", "<$(touch /tmp/y)>\n", "<$(touch /tmp/y)>\n"},
      {"`id`", "<`id`>\n", "<`id`>\n", "<`id`>\n"},
      {"*", "<*>\n", "<*>\n", "<*>\n"},
      {"~", "<~>\n", "<~>\n", "<~>\n"},
      {"a && b", "<a><&&><b>\n", "<a && b>\n", "<a && b>\n"},
      {"it's", "<it's>\n", "<it's>\n", "<it's>\n"},
      {"$HOME", "<$HOME>\n", "<$HOME>\n", "<$HOME>\n"},
      {"back\\slash", "<back\\slash>\n", "<back\\slash>\n", "<back\\slash>\n"},
      {"", "\n", "<>\n", "<>\n"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(Argv("printargs ${{inputs.v}}", r.value, dir.path()), r.bare) << r.value;
    EXPECT_EQ(Argv("printargs \"${{inputs.v}}\"", r.value, dir.path()), r.dquote) << r.value;
    EXPECT_EQ(Argv("printargs '${{inputs.v}}'", r.value, dir.path()), r.squote) << r.value;
  }
}

// A path is one word in every context, whatever it holds; the literal rows above show that the
// same text as a literal would be split (the rule Azure applies to literals).
TEST(SubstituteTest, APathIsAlwaysExactlyOneWord) {
  weft::testing::TempDir dir;
  const char* paths[] = {
      "/data/my ws/.weft/store/objects/ab/model",
      "/data/it's \"quoted\"/x",
      "/data/$HOME/${PATH}/$(touch pwned)/x",
      "/data/`touch pwned`/x",
      "/data/new\nline/x",
      "-rf",
      "--help me",
      "/data/tab\there/*/?/[a]/~/x",
      "/data/\xc3\xbcnicode/x y",
      "/data/back\\slash/; rm -rf / #",
  };
  for (const char* p : paths) {
    std::string one = std::string("<") + p + ">\n";
    EXPECT_EQ(Argv("printargs ${{inputs.v}}", p, dir.path(), true), one) << p;
    EXPECT_EQ(Argv("printargs \"${{inputs.v}}\"", p, dir.path(), true), one) << p;
    EXPECT_EQ(Argv("printargs '${{inputs.v}}'", p, dir.path(), true), one) << p;
    // Joined to the text around it, still one word.
    EXPECT_EQ(Argv("printargs --out=${{inputs.v}}/file", p, dir.path(), true),
              std::string("<--out=") + p + "/file>\n")
        << p;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/pwned"));
  // The same text as a literal is split into words (Azure's rule for literals).
  EXPECT_EQ(Argv("printargs ${{inputs.v}}", "/data/my ws/x", dir.path(), false),
            "</data/my><ws/x>\n");
}

// `$(...)` and backquotes start a new command, inside double quotes too: a value there is quoted
// for that command, and backquotes add a level of backslashes.
TEST(SubstituteTest, CommandSubstitutionsAreNewCommandsInsideQuotes) {
  weft::testing::TempDir dir;
  for (bool path : {true, false}) {
    for (const char* v : {"/a b'c/d", "x\\y`z`$HOME\"q\"", "plain"}) {
      std::string last = std::string("<") + v + ">\n";
      if (!path && std::string(v).find(' ') != std::string::npos) continue;
      EXPECT_EQ(Argv("printargs \"$(printf '%s' ${{inputs.v}})\"", v, dir.path(), path), last) << v;
      EXPECT_EQ(Argv("printargs \"`printf '%s' ${{inputs.v}}`\"", v, dir.path(), path), last) << v;
      EXPECT_EQ(Argv("printargs \"`printf '%s' \"${{inputs.v}}\"`\"", v, dir.path(), path), last) << v;
      EXPECT_EQ(Argv("printargs \"$( (printf '%s' ${{inputs.v}}) )\"", v, dir.path(), path), last) << v;
      EXPECT_EQ(Argv("printargs \"$(( 1 + 2 ))${{inputs.v}}\"", v, dir.path(), path),
                std::string("<3") + v + ">\n")
          << v;
    }
  }
}

TEST(SubstituteTest, ValuesJoinAdjacentText) {
  weft::testing::TempDir dir;
  EXPECT_EQ(Argv("printargs --out=${{inputs.v}}/file.txt", "/data/out", dir.path()),
            "<--out=/data/out/file.txt>\n");
  EXPECT_EQ(Argv("printargs \"x ${{inputs.v}} y\"", "a b", dir.path()), "<x a b y>\n");
}

TEST(SubstituteTest, OptionalSegmentsAndShellSyntaxOutsideValues) {
  std::string with = Substitute("run $[[--x ${{inputs.v}}]] $$ ${HOME} $(date)",
                                [](spec::RefKind, const std::string&) {
                                  return std::optional<Value>(Value{"1"});
                                });
  EXPECT_EQ(with, "run --x '1' $$ ${HOME} $(date)");
  std::string without = Substitute("run $[[--x ${{inputs.v}}]] end",
                                   [](spec::RefKind, const std::string&) {
                                     return std::optional<Value>();
                                   });
  EXPECT_EQ(without, "run  end");
}

}  // namespace
}  // namespace weft::engine
