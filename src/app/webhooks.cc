#include "app/webhooks.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "app/views.h"
#include "base/sha256.h"

namespace weft::app {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

}  // namespace

Result<meta::WebhookRecord> AddWebhook(meta::MetaStore& meta, const Caller& caller,
                                       const std::string& project, const std::string& url,
                                       int64_t now_ns) {
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied("managing webhooks needs an owner's token");
  }
  bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  size_t host = url.find("://") + 3;
  if (!http || url.size() <= host || url.find_first_of(" \t\r\n") != std::string::npos ||
      url.size() > 2048) {
    return Status::Invalid(fmt::format(
        "`{}` is not a webhook URL: http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH", url));
  }
  meta::WebhookRecord w{0, project, url, RandomHex(32), now_ns, caller.token};
  Status s = meta::InTransaction(meta, [&]() -> Status {
    Result<int64_t> id = meta.PutWebhook(w);
    if (!id.ok()) return id.status();
    w.id = *id;
    return meta.AppendAudit(
        AuditEntry(caller, project, "webhook.create", std::to_string(w.id), url, now_ns));
  });
  if (!s.ok()) return s;
  return w;
}

Status RemoveWebhook(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                     int64_t id, int64_t now_ns) {
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied("managing webhooks needs an owner's token");
  }
  Result<std::vector<meta::WebhookRecord>> all = meta.Webhooks(project);
  if (!all.ok()) return all.status();
  if (std::none_of(all->begin(), all->end(), [&](const auto& w) { return w.id == id; })) {
    return Status::NotFound(fmt::format("no webhook {}", id));
  }
  return meta::InTransaction(meta, [&]() -> Status {
    Status del = meta.DeleteWebhook(project, id);
    if (!del.ok()) return del;
    return meta.AppendAudit(
        AuditEntry(caller, project, "webhook.delete", std::to_string(id), "", now_ns));
  });
}

Json WebhookJson(const meta::WebhookRecord& w, bool with_secret) {
  Json j = Json::MakeObject()
               .Set("id", w.id)
               .Set("project", w.project)
               .Set("url", w.url)
               .Set("created_ns", w.created_ns)
               .Set("created_by", w.created_by);
  if (with_secret) j.Set("secret", w.secret);
  return j;
}

Json DeliveryJson(const meta::DeliveryRecord& d) {
  return Json::MakeObject()
      .Set("run", d.run_id)
      .Set("status", d.status)
      .Set("attempts", d.attempts)
      .Set("next_ns", d.next_ns)
      .Set("last_error", d.last_error);
}

void RunNotices::OnRunFinished(const engine::RunResult& r) {
  if (r.run_id.empty()) return;
  Result<std::optional<meta::RunRecord>> run = meta_.FindRun(r.run_id);
  if (!run.ok() || !*run) return;
  Result<std::vector<meta::WebhookRecord>> hooks = meta_.Webhooks((*run)->project);
  if (!hooks.ok() || hooks->empty()) return;
  std::string body =
      Json::MakeObject().Set("event", "run.finished").Set("run", RunSummaryJson(**run)).Dump(-1);
  int64_t now = os_.NowNs();
  // (A failure to queue is not the run's: the run is recorded whatever happens here.)
  (void)meta::InTransaction(meta_, [&]() -> Status {
    for (const meta::WebhookRecord& w : *hooks) {
      Status s = meta_.AddDelivery({0, w.id, r.run_id, body, 0, now, "pending", ""});
      if (!s.ok()) return s;
    }
    return Status::Ok();
  });
}

Status Deliverer::Tick(int64_t now_ns) {
  Result<std::vector<meta::DeliveryRecord>> due = meta_.DueDeliveries(now_ns, 100);
  if (!due.ok()) return due.status();
  if (due->empty()) return Status::Ok();
  Result<std::vector<meta::WebhookRecord>> hooks = meta_.Webhooks("");
  if (!hooks.ok()) return hooks.status();
  std::map<int64_t, const meta::WebhookRecord*> by_id;
  for (const meta::WebhookRecord& w : *hooks) by_id[w.id] = &w;
  for (meta::DeliveryRecord& d : *due) {
    auto it = by_id.find(d.webhook);
    if (it == by_id.end()) continue;  // (removed meanwhile, with its deliveries)
    const meta::WebhookRecord& w = *it->second;
    ++d.attempts;
    Result<int> status =
        post_(w.url, d.body,
              {{"Content-Type", "application/json"},
               {"User-Agent", "weft"},
               {"X-Weft-Event", "run.finished"},
               {"X-Weft-Delivery", fmt::format("{}-{}", w.id, d.run_id)},
               {"X-Weft-Signature", "sha256=" + ToHex(HmacSha256(w.secret, d.body))}});
    if (status.ok() && *status >= 200 && *status < 300) {
      d.status = "delivered";
      d.last_error.clear();
    } else {
      d.last_error = status.ok() ? fmt::format("answered {}", *status) : status.status().message();
      if (d.attempts >= attempts_) {
        d.status = "failed";
      } else {
        d.next_ns = now_ns + (int64_t{1} << std::min<int64_t>(d.attempts - 1, 20)) * kSecond;
      }
    }
    Status s = meta_.UpdateDelivery(d);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace weft::app
