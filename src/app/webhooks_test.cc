// Webhook deliveries on a real database, with the HTTP post replaced by the test (a seam that
// decides each answer); tests/server/test_webhooks.py delivers to a real listener.
#include "app/webhooks.h"

#include <gtest/gtest.h>

#include "base/sha256.h"
#include "meta/sqlite_meta.h"
#include "test_util.h"

namespace weft::app {
namespace {

constexpr int64_t kS = 1'000'000'000;

class DelivererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<meta::MetaStore>> m = meta::OpenSqliteMeta(dir_.path() + "/weft.db");
    ASSERT_TRUE(m.ok());
    meta_ = std::move(*m);
    Result<meta::WebhookRecord> w =
        AddWebhook(*meta_, LocalAdmin(), "vision", "http://127.0.0.1:1/hook", 0);
    ASSERT_TRUE(w.ok()) << w.status().message();
    hook_ = *w;
    ASSERT_TRUE(meta_->AddDelivery({0, hook_.id, "r1", "{\"run\":1}", 0, 0, "pending", ""}).ok());
    // A run is announced once per webhook.
    ASSERT_TRUE(meta_->AddDelivery({0, hook_.id, "r1", "{\"run\":1}", 0, 0, "pending", ""}).ok());
  }
  Deliverer With(std::vector<Result<int>> answers, int attempts = 10) {
    answers_ = std::move(answers);
    return Deliverer(
        *meta_,
        [this](const std::string& url, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers) -> Result<int> {
          sent_.push_back({url, body, headers});
          Result<int> a = answers_.front();
          answers_.erase(answers_.begin());
          return a;
        },
        attempts);
  }
  meta::DeliveryRecord Only() {
    std::vector<meta::DeliveryRecord> all = *meta_->Deliveries(hook_.id, 10);
    EXPECT_EQ(all.size(), 1u);
    return all.front();
  }

  struct Sent {
    std::string url, body;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  weft::testing::TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  meta::WebhookRecord hook_;
  std::vector<Result<int>> answers_;
  std::vector<Sent> sent_;
};

TEST_F(DelivererTest, RetriesWithDoublingWaitsUntilAccepted) {
  Deliverer d = With({Status::Io("connection refused"), 503, 204});
  ASSERT_TRUE(d.Tick(10 * kS).ok());
  EXPECT_EQ(Only().status, "pending");
  EXPECT_EQ(Only().next_ns, 11 * kS);
  EXPECT_EQ(Only().last_error, "connection refused");
  ASSERT_TRUE(d.Tick(10 * kS + kS / 2).ok());  // (not due yet)
  EXPECT_EQ(sent_.size(), 1u);
  ASSERT_TRUE(d.Tick(11 * kS).ok());
  EXPECT_EQ(Only().next_ns, 13 * kS);
  EXPECT_EQ(Only().last_error, "answered 503");
  ASSERT_TRUE(d.Tick(13 * kS).ok());
  EXPECT_EQ(Only().status, "delivered");
  EXPECT_EQ(Only().attempts, 3);
  ASSERT_TRUE(d.Tick(100 * kS).ok());
  EXPECT_EQ(sent_.size(), 3u);
  // Signed with the webhook's secret.
  bool signed_ok = false;
  for (const auto& [k, v] : sent_[0].headers) {
    if (k == "X-Weft-Signature")
      signed_ok = v == "sha256=" + ToHex(HmacSha256(hook_.secret, sent_[0].body));
  }
  EXPECT_TRUE(signed_ok);
  EXPECT_EQ(sent_[0].url, "http://127.0.0.1:1/hook");
}

TEST_F(DelivererTest, FailsAfterItsLastAttempt) {
  Deliverer d = With({500, 500, 500}, 3);
  for (int64_t t : {0, 1, 3}) ASSERT_TRUE(d.Tick(t * kS).ok());
  EXPECT_EQ(Only().status, "failed");
  EXPECT_EQ(Only().attempts, 3);
  ASSERT_TRUE(d.Tick(1000 * kS).ok());
  EXPECT_EQ(sent_.size(), 3u);
}

TEST(WebhookTest, OnlyOwnersAddThemAndOnlyHttpUrls) {
  weft::testing::TempDir dir;
  Result<std::unique_ptr<meta::MetaStore>> opened = meta::OpenSqliteMeta(dir.path() + "/w.db");
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<meta::MetaStore> meta = std::move(*opened);
  Caller contributor{"t1", "vision", Role::kContributor};
  EXPECT_EQ(AddWebhook(*meta, contributor, "vision", "http://x/h", 0).status().code(),
            Code::kDenied);
  for (const char* bad : {"file:///etc/passwd", "ftp://x/", "http://", "http://a b/"}) {
    EXPECT_EQ(AddWebhook(*meta, LocalAdmin(), "vision", bad, 0).status().code(), Code::kInvalid)
        << bad;
  }
  Result<meta::WebhookRecord> w = AddWebhook(*meta, LocalAdmin(), "vision", "https://x/h", 0);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->secret.size(), 64u);
  EXPECT_FALSE(WebhookJson(*w).Find("secret"));
  EXPECT_EQ(RemoveWebhook(*meta, LocalAdmin(), "nlp", w->id, 0).code(), Code::kNotFound);
  EXPECT_TRUE(RemoveWebhook(*meta, LocalAdmin(), "vision", w->id, 0).ok());
}

}  // namespace
}  // namespace weft::app
