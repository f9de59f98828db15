#include "base/diag.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

TEST(DiagTest, FormatsLocationSeverityAndHint) {
  std::string file = "p.yml";
  Diagnostics d;
  d.Error({&file, 3, 7}, "bad thing", "do this");
  d.Warning({&file, 1, 1}, "odd thing");
  EXPECT_EQ(d.FormatAll(),
            "p.yml:1:1: warning: odd thing\n"
            "p.yml:3:7: error: bad thing\n  hint: do this\n");
}

TEST(DiagTest, CapsButCountsEverythingAndDropsExactRepeats) {
  std::string file = "p.yml";
  Diagnostics d(2);
  for (uint32_t i = 1; i <= 5; ++i) d.Error({&file, i, 1}, "e");
  d.Error({&file, 1, 1}, "e");
  EXPECT_EQ(d.error_count(), 5u);
  EXPECT_EQ(d.Sorted().size(), 2u);
  EXPECT_NE(d.FormatAll().find("and 3 more errors not shown"), std::string::npos);
}

TEST(DiagTest, NoLocationMeansNoPrefix) {
  Diagnostics d;
  d.Error({}, "--set inputs.x: no such input");
  EXPECT_EQ(d.FormatAll(), "error: --set inputs.x: no such input\n");
}

}  // namespace
}  // namespace weft
