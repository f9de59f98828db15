#include "app/identity.h"

#include <gtest/gtest.h>

#include "meta/sqlite_meta.h"
#include "test_util.h"

namespace weft::app {
namespace {

constexpr int64_t kDay = 86400LL * 1'000'000'000;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<meta::MetaStore>> m = meta::OpenSqliteMeta(dir_.path() + "/weft.db");
    ASSERT_TRUE(m.ok());
    meta_ = std::move(*m);
    ASSERT_TRUE(CreateProject(*meta_, LocalAdmin(), "vision", "", 0).ok());
    ASSERT_TRUE(CreateProject(*meta_, LocalAdmin(), "nlp", "", 0).ok());
  }
  IssuedToken Make(const Caller& by, TokenRequest req, int64_t now = 0) {
    Result<IssuedToken> t = CreateToken(*meta_, by, req, TokenPolicy{}, now);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return *t;
  }
  weft::testing::TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
};

TEST_F(IdentityTest, ATokenAuthenticatesAsItsProjectAndRoleUntilItExpires) {
  IssuedToken t = Make(LocalAdmin(), {"ci", "vision", Role::kContributor, std::nullopt});
  EXPECT_EQ(t.text.rfind("weft_" + t.record.id + "_", 0), 0u);
  EXPECT_EQ(t.record.expires_ns, 30 * kDay);  // the policy's default
  EXPECT_EQ(t.text.find(t.record.hash), std::string::npos);
  Result<Caller> c = Authenticate(*meta_, t.text, 29 * kDay);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->project, "vision");
  EXPECT_EQ(c->role, Role::kContributor);
  EXPECT_TRUE(c->Can(Role::kContributor, "vision"));
  EXPECT_FALSE(c->Can(Role::kOwner, "vision"));
  EXPECT_FALSE(c->Can(Role::kReader, "nlp"));
  Result<Caller> late = Authenticate(*meta_, t.text, 30 * kDay);
  EXPECT_EQ(late.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(late.status().message(), "the token has expired");
}

TEST_F(IdentityTest, AWrongSecretOrUnknownIdSaysOnlyThatTheTokenIsNotValid) {
  IssuedToken t = Make(LocalAdmin(), {"ci", "vision", Role::kReader, std::nullopt});
  std::string wrong = t.text;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& bad : {wrong, std::string("weft_000000000000_") + std::string(64, 'a'),
                                 std::string("nonsense"), t.text + "0", std::string()}) {
    Result<Caller> c = Authenticate(*meta_, bad, 1);
    EXPECT_EQ(c.status().code(), Code::kUnauthenticated) << bad;
    EXPECT_EQ(c.status().message(), "the token is not valid") << bad;
  }
  std::vector<meta::AuditRecord> log = *meta_->Audit(std::nullopt, 100, 0);
  int failed = 0;
  for (const auto& e : log) {
    if (e.action != "auth.failed") continue;
    ++failed;
    EXPECT_EQ(e.detail.find(t.text.substr(18)), std::string::npos);  // never the secret
  }
  EXPECT_EQ(failed, 5);
}

TEST_F(IdentityTest, OwnersManageTheirProjectsTokensOnly) {
  Caller owner{"o", "vision", Role::kOwner};
  EXPECT_TRUE(CreateToken(*meta_, owner, {"r", "vision", Role::kReader, std::nullopt}, {}, 0).ok());
  EXPECT_EQ(
      CreateToken(*meta_, owner, {"r", "nlp", Role::kReader, std::nullopt}, {}, 0).status().code(),
      Code::kNotFound);  // another project is not there for it
  EXPECT_EQ(
      CreateToken(*meta_, owner, {"r", "", Role::kAdmin, std::nullopt}, {}, 0).status().code(),
      Code::kDenied);
  Caller contributor{"c", "vision", Role::kContributor};
  EXPECT_EQ(CreateToken(*meta_, contributor, {"r", "vision", Role::kReader, std::nullopt}, {}, 0)
                .status()
                .code(),
            Code::kDenied);
  Quota eight;
  eight.cpus = 8;
  EXPECT_EQ(SetQuota(*meta_, owner, "vision", eight, 0).status().code(), Code::kDenied);
  EXPECT_EQ(CreateProject(*meta_, owner, "mine", "", 0).status().code(), Code::kDenied);
  EXPECT_EQ(CreateToken(*meta_, owner, {"r", "vision", Role::kReader, 400 * 86400}, {}, 0)
                .status()
                .code(),
            Code::kInvalid);  // longer than the policy's maximum
}

TEST_F(IdentityTest, ARevokedTokenStopsWorkingAndTheAdminIsMadeOnce) {
  Result<std::optional<IssuedToken>> admin = EnsureAdmin(*meta_, 5);
  ASSERT_TRUE(admin.ok() && admin->has_value());
  EXPECT_EQ((*admin)->record.expires_ns, 0);
  EXPECT_FALSE(EnsureAdmin(*meta_, 6)->has_value());
  Result<Caller> a = Authenticate(*meta_, (*admin)->text, 100 * 365 * kDay);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->admin());
  IssuedToken t = Make(*a, {"ci", "nlp", Role::kReader, std::nullopt});
  ASSERT_TRUE(RevokeToken(*meta_, *a, t.record.id, 7).ok());
  EXPECT_EQ(Authenticate(*meta_, t.text, 8).status().message(), "the token was revoked");
  // With every admin token revoked, the next start makes a new one.
  ASSERT_TRUE(RevokeToken(*meta_, *a, (*admin)->record.id, 9).ok());
  EXPECT_TRUE(EnsureAdmin(*meta_, 10)->has_value());
}

TEST_F(IdentityTest, LifetimesAndNamesAreChecked) {
  EXPECT_EQ(*ParseTtl("30d"), 30 * 86400);
  EXPECT_EQ(*ParseTtl("12h"), 12 * 3600);
  EXPECT_EQ(*ParseTtl("2w"), 14 * 86400);
  for (const char* bad : {"", "d", "30", "-1d", "0d", "1y", "1.5d", "99999999999999d"}) {
    EXPECT_FALSE(ParseTtl(bad).ok()) << bad;
  }
  for (const char* bad : {"", "Vision", "-x", "a/b", "..", "a b", "local"}) {
    EXPECT_FALSE(CreateProject(*meta_, LocalAdmin(), bad, "", 0).ok()) << bad;
  }
}

}  // namespace
}  // namespace weft::app
