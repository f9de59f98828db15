#include "app/pipelines.h"

#include <gtest/gtest.h>

#include "meta/sqlite_meta.h"
#include "test_util.h"

namespace weft::app {
namespace {

TEST(InputSetsTest, JsonValuesBecomeSetTextsAndOthersAreRefusedByName) {
  std::optional<Json> inputs = Json::Parse(
      R"({"lr": 0.1, "epochs": 3, "deep": true, "data": "azureml:images:2", "n": 1e20})");
  ASSERT_TRUE(inputs);
  Result<std::vector<std::string>> sets = InputSets(*inputs);
  ASSERT_TRUE(sets.ok()) << sets.status().message();
  EXPECT_EQ(*sets, (std::vector<std::string>{"inputs.lr=0.1", "inputs.epochs=3", "inputs.deep=true",
                                             "inputs.data=azureml:images:2", "inputs.n=1e+20"}));
  EXPECT_TRUE(InputSets(Json())->empty());
  for (const char* bad : {R"({"lr": null})", R"({"lr": [1]})", R"({"lr": {"a": 1}})"}) {
    Result<std::vector<std::string>> r = InputSets(*Json::Parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("inputs.lr: ", 0), 0u) << r.status().message();
  }
  EXPECT_FALSE(InputSets(*Json::Parse("[1]")).ok());
}

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<meta::MetaStore>> m = meta::OpenSqliteMeta(dir_.path() + "/weft.db");
    ASSERT_TRUE(m.ok());
    meta_ = std::move(*m);
  }
  weft::testing::TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
};

TEST_F(IdempotencyTest, AKeyStartsOneRunAndAnswersItAfterwards) {
  Result<std::optional<std::string>> first = ClaimIdempotencyKey(*meta_, "vision", "k", "req", 1);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());  // new: this request is to start the run
  // While it is being carried out, the same request waits its turn.
  EXPECT_EQ(ClaimIdempotencyKey(*meta_, "vision", "k", "req", 2).status().code(), Code::kBusy);
  ASSERT_TRUE(CompleteIdempotencyKey(*meta_, "vision", "k", "req", "r7", 3).ok());
  Result<std::optional<std::string>> again = ClaimIdempotencyKey(*meta_, "vision", "k", "req", 4);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(**again, "r7");
  // Another request with the key is refused; another project's key is its own.
  EXPECT_EQ(ClaimIdempotencyKey(*meta_, "vision", "k", "other", 5).status().code(), Code::kInvalid);
  EXPECT_FALSE(ClaimIdempotencyKey(*meta_, "nlp", "k", "other", 5)->has_value());
}

TEST_F(IdempotencyTest, AKeyWhoseRequestStartedNothingIsFreeAgain) {
  ASSERT_FALSE(ClaimIdempotencyKey(*meta_, "vision", "k", "req", 1)->has_value());
  ASSERT_TRUE(ReleaseIdempotencyKey(*meta_, "vision", "k").ok());
  EXPECT_FALSE(ClaimIdempotencyKey(*meta_, "vision", "k", "fixed", 2)->has_value());
  EXPECT_EQ(ClaimIdempotencyKey(*meta_, "vision", "", "req", 2).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace weft::app
