#include "engine/datastore.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::engine {
namespace {

TEST(DatastoreTest, PathsFillPlaceholdersAndStayInside) {
  weft::testing::TempDir dir;
  Workspace ws;
  ws.dir = dir.path() + "/.weft";
  ws.config.datastores["lake"] = dir.path() + "/lake";
  OutputPlace place{"train", "model", "workspaceblobstore"};
  EXPECT_EQ(*DatastorePath(ws, "azureml://datastores/lake/paths/runs/${{name}}/${{output_name}}",
                           place),
            dir.path() + "/lake/runs/train/model");
  EXPECT_EQ(*DatastorePath(ws, "azureml://datastores/${{default_datastore}}/paths/x/", place),
            ws.dir + "/datastores/workspaceblobstore/x");
  EXPECT_FALSE(DatastorePath(ws, "azureml://datastores/lake/paths/../../etc", place).ok());
  EXPECT_FALSE(DatastorePath(ws, "azureml://datastores/lake/paths/a/../../b", place).ok());
  EXPECT_FALSE(DatastorePath(ws, "azureml://datastores/../paths/x", place).ok());
  EXPECT_FALSE(DatastorePath(ws, "https://example.invalid/x", place).ok());
}

TEST(DatastoreTest, PublishLinksOnceAndNeverOverwrites) {
  weft::testing::TempDir dir;
  Workspace ws;
  ws.dir = dir.path() + "/.weft";
  std::string object = dir.Mkdir("store/objects/abc");
  std::string other = dir.Mkdir("store/objects/def");
  OutputPlace place{"s", "o", "workspaceblobstore"};
  std::string uri = "azureml://datastores/workspaceblobstore/paths/out/${{name}}";
  ASSERT_TRUE(PublishToDatastore(ws, uri, place, object).ok());
  std::string dest = ws.dir + "/datastores/workspaceblobstore/out/s";
  EXPECT_EQ(std::filesystem::read_symlink(dest), object);
  EXPECT_TRUE(PublishToDatastore(ws, uri, place, object).ok());
  Status s = PublishToDatastore(ws, uri, place, other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("already holds something else"), std::string::npos);
  EXPECT_EQ(std::filesystem::read_symlink(dest), object);
}

}  // namespace
}  // namespace weft::engine
