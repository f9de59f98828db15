#include "assets/datastore.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::assets {
namespace {

TEST(DatastoreTest, PathsFillPlaceholdersAndStayInside) {
  weft::testing::TempDir dir;
  ws::Workspace ws;
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
  ws::Workspace ws;
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

TEST(DatastoreTest, UrlsReadTheLongestMatchingMirror) {
  weft::testing::TempDir dir;
  ws::Workspace ws;
  ws.dir = dir.path() + "/.weft";
  ws.config.mirrors["https://h.example/"] = dir.Mkdir("all");
  ws.config.mirrors["https://h.example/data"] = dir.Mkdir("data");
  dir.Write("data/x/f.csv", "1");
  dir.Write("all/database/f.csv", "1");
  EXPECT_EQ(LocateData(ws, "https://h.example/data/x/f.csv?sig=abc").path, dir.path() + "/data/x/f.csv");
  // `data` is a prefix of `database` as text, not as a path.
  EXPECT_EQ(LocateData(ws, "https://h.example/database/f.csv").path,
            dir.path() + "/all/database/f.csv");
  EXPECT_EQ(LocateData(ws, "https://h.example/data/../../etc").error,
            "`https://h.example/data/../../etc` leaves its mirror's folder");
  spec::UriLocation none = LocateData(ws, "wasbs://c@a.blob.core.windows.net/f");
  EXPECT_EQ(none.error, "`wasbs://c@a.blob.core.windows.net/f` has no local mirror");
  EXPECT_NE(none.hint.find("\"wasbs://c@a.blob.core.windows.net/\""), std::string::npos) << none.hint;
  EXPECT_NE(LocateData(ws, "https://h.example/data/gone").hint.find(dir.path() + "/data/gone"),
            std::string::npos);
  EXPECT_EQ(LocateData(ws, "azureml://jobs/j1/outputs/o/paths/x").error,
            "`azureml://jobs/j1/outputs/o/paths/x` is not a datastore path "
            "(azureml://datastores/NAME/paths/PATH)");
}

TEST(DatastoreTest, TheLongFormNamesTheSameDatastore) {
  weft::testing::TempDir dir;
  ws::Workspace ws;
  ws.dir = dir.path() + "/.weft";
  ws.config.datastores["lake"] = dir.Mkdir("lake");
  dir.Write("lake/a/b.txt", "1");
  EXPECT_EQ(LocateData(ws, "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/lake/"
                           "paths/a/b.txt").path,
            dir.path() + "/lake/a/b.txt");
}

}  // namespace
}  // namespace weft::assets
