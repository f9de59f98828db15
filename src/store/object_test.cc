#include "store/object.h"

#include <gtest/gtest.h>

namespace weft::store {
namespace {

// Known answers computed by an independent implementation (Python's hashlib) of the format in
// object.h. If one of these changes, every digest in every workspace changes.
TEST(ObjectTest, KnownAnswers) {
  EXPECT_EQ(ToHex(FileDigest("", false)),
            "1a449e69596b48ee8257c94cba7a3e199668a41c76f42d56d30ad549611a487c");
  EXPECT_EQ(ToHex(FileDigest("hello\n", true)),
            "7d692b131b2c6d3c75312b24e9fa126c4764a7eba49d812e01f37f1912a74724");
  EXPECT_EQ(ToHex(FileDigest("hello\n", false)),
            "a37bcc3ecf0c5533cf98e51639cee8450152ebb5ea015ef22c79919878f63e26");
  EXPECT_EQ(ToHex(LinkDigest("../data/x.csv")),
            "419ae96a966d2fb34250e99ea36acbd74c7ab6bcc89567f12aa9d1d1bc30467e");
  EXPECT_EQ(ToHex(TreeDigest({})),
            "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
  Digest sub = TreeDigest({{"a.txt", EntryKind::kFile, FileDigest("a", false)}});
  // Given out of order: the digest sorts by raw name bytes ("B" < "l" < "run.sh" < "sub").
  Digest tree = TreeDigest({{"run.sh", EntryKind::kExecutable, FileDigest("#!/bin/sh\n", true)},
                            {"sub", EntryKind::kFolder, sub},
                            {"l", EntryKind::kLink, LinkDigest("sub/a.txt")},
                            {"B", EntryKind::kFile, FileDigest("b", false)}});
  EXPECT_EQ(ToHex(tree), "683521a26d845e316445a199654f648c1572ac2033d244fdf43d47236c1c45c8");
}

TEST(ObjectTest, ExecutableBitAndNamesMatter) {
  EXPECT_NE(FileDigest("x", true), FileDigest("x", false));
  EXPECT_NE(TreeDigest({{"a", EntryKind::kFile, FileDigest("x", false)}}),
            TreeDigest({{"b", EntryKind::kFile, FileDigest("x", false)}}));
}

TEST(ObjectTest, LinksMustStayInsideTheirTree) {
  EXPECT_TRUE(LinkStaysInside("a", "b"));
  EXPECT_TRUE(LinkStaysInside("sub/a", "../b"));
  EXPECT_TRUE(LinkStaysInside("sub/deeper/a", "../../b/./c"));
  EXPECT_FALSE(LinkStaysInside("a", "../b"));
  EXPECT_FALSE(LinkStaysInside("sub/a", "../../etc/passwd"));
  EXPECT_FALSE(LinkStaysInside("a", "/etc/passwd"));
  EXPECT_FALSE(LinkStaysInside("a", "x/../../y"));
}

TEST(ObjectTest, ParseHexRoundTrips) {
  Digest d = FileDigest("abc", false);
  EXPECT_EQ(ParseHex(ToHex(d)), d);
  EXPECT_FALSE(ParseHex("zz").has_value());
  EXPECT_FALSE(ParseHex(std::string(64, 'G')).has_value());
}

}  // namespace
}  // namespace weft::store
