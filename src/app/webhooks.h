// Webhooks (docs/server.md): each finished run of a project is announced to the project's webhook
// URLs, a POST of the run's summary signed with the webhook's secret, retried with backoff until
// it is accepted. Deliveries are kept in the database, so a server that stops goes on with them
// when it starts again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "app/identity.h"
#include "base/json.h"
#include "base/os.h"
#include "base/status.h"
#include "engine/engine.h"
#include "meta/meta.h"

namespace weft::app {

// Adds a webhook to a project (owners): an http:// or https:// URL. Its secret is made here and
// shown once, in the result. Audited.
Result<meta::WebhookRecord> AddWebhook(meta::MetaStore& meta, const Caller& caller,
                                       const std::string& project, const std::string& url,
                                       int64_t now_ns);
// Removes one (owners) with its deliveries. Audited.
Status RemoveWebhook(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                     int64_t id, int64_t now_ns);
// A webhook as the API shows it: never its secret (but right after it is made).
Json WebhookJson(const meta::WebhookRecord& webhook, bool with_secret = false);
Json DeliveryJson(const meta::DeliveryRecord& delivery);

// Queues a delivery to each of the project's webhooks when a run ends. An engine observer: it
// hears runs in the engine's thread and writes with that thread's connection.
class RunNotices : public engine::Observer {
 public:
  RunNotices(meta::MetaStore& meta, const Os& os) : meta_(meta), os_(os) {}
  void OnRunFinished(const engine::RunResult& r) override;

 private:
  meta::MetaStore& meta_;
  const Os& os_;
};

// Sends the deliveries that are due. `post` sends one (the server's HTTP client) and answers the
// HTTP status, or an error when no answer came. A 2xx answer delivers it; any other answer or
// none is retried after 1, 2, 4, ... seconds, `attempts` times in all, then it is failed.
class Deliverer {
 public:
  using Post =
      std::function<Result<int>(const std::string& url, const std::string& body,
                                const std::vector<std::pair<std::string, std::string>>& headers)>;
  Deliverer(meta::MetaStore& meta, Post post, int attempts = 10)
      : meta_(meta), post_(std::move(post)), attempts_(attempts) {}
  // Each delivery due at `now_ns`, once.
  Status Tick(int64_t now_ns);

 private:
  meta::MetaStore& meta_;
  Post post_;
  int attempts_;
};

}  // namespace weft::app
