// The API's webhooks: URLs told of each finished run of a project, and their deliveries.
#include <charconv>

#include <fmt/format.h>

#include "app/webhooks.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Json WebhookSchema(bool with_secret) {
  std::vector<std::pair<std::string, Json>> members = {{"id", Int()},
                                                       {"project", Str()},
                                                       {"url", Str()},
                                                       {"created_ns", Int()},
                                                       {"created_by", Str()}};
  if (with_secret) members.emplace_back("secret", Str());
  return Obj(std::move(members));
}

Result<int64_t> WebhookId(Call& c, const std::string& project) {
  const std::string& text = c.request.params.at("id");
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::NotFound(fmt::format("no webhook {}", text));
  }
  Result<std::vector<meta::WebhookRecord>> all = c.meta.Webhooks(project);
  if (!all.ok()) return all.status();
  for (const meta::WebhookRecord& w : *all) {
    if (w.id == id) return id;
  }
  return Status::NotFound(fmt::format("no webhook {}", text));
}

}  // namespace

std::vector<Endpoint> WebhookEndpoints() {
  const QueryParam project = {"project", "string", "the project (admins; others: their own)"};
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "POST",
      .path = "/webhooks",
      .summary = "Add a webhook to the project (owners): each run of the project that ends is "
                 "POSTed to `url` as {\"event\": \"run.finished\", \"run\": ...}, signed in "
                 "X-Weft-Signature (sha256=HMAC of the body with `secret`, shown only here)",
      .query = {project},
      .request_schema = Body({{"url", Str()}}, {"url"}),
      .response_schema = WebhookSchema(true),
      .success = 201,
      .handle = [](Call& c) -> Result<Json> {
        Result<std::string> p = OneProject(c);
        if (!p.ok()) return p.status();
        Result<Json> body = ParseBody(c.request);
        if (!body.ok()) return body.status();
        Result<std::string> url = StringMember(*body, "url", true);
        if (!url.ok()) return url.status();
        Result<meta::WebhookRecord> w = app::AddWebhook(c.meta, c.caller, *p, *url, c.now_ns);
        if (!w.ok()) return w.status();
        return app::WebhookJson(*w, true);
      }});
  out.push_back(Endpoint{.method = "GET",
                         .path = "/webhooks",
                         .summary = "The project's webhooks (owners)",
                         .query = {project},
                         .response_schema = Obj({{"webhooks", ArrayOf(WebhookSchema(false))}}),
                         .handle = [](Call& c) -> Result<Json> {
                           Result<std::string> p = OneProject(c);
                           if (!p.ok()) return p.status();
                           if (!c.caller.Can(app::Role::kOwner, *p)) {
                             return Status::Denied("webhooks are their project owners'");
                           }
                           Result<std::vector<meta::WebhookRecord>> all = c.meta.Webhooks(*p);
                           if (!all.ok()) return all.status();
                           Json arr = Json::MakeArray();
                           for (const meta::WebhookRecord& w : *all) arr.Push(app::WebhookJson(w));
                           return Json::MakeObject().Set("webhooks", std::move(arr));
                         }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/webhooks/{id}/deliveries",
      .summary = "A webhook's last 50 deliveries, newest first: delivered, pending (with when it "
                 "is tried next) or failed, each with its attempts and last error (owners)",
      .query = {project},
      .response_schema = Obj({{"deliveries", ArrayOf(Obj({{"run", Str()},
                                                          {"status", Str()},
                                                          {"attempts", Int()},
                                                          {"next_ns", Int()},
                                                          {"last_error", Str()}}))}}),
      .handle = [](Call& c) -> Result<Json> {
        Result<std::string> p = OneProject(c);
        if (!p.ok()) return p.status();
        if (!c.caller.Can(app::Role::kOwner, *p)) {
          return Status::Denied("webhooks are their project owners'");
        }
        Result<int64_t> id = WebhookId(c, *p);
        if (!id.ok()) return id.status();
        Result<std::vector<meta::DeliveryRecord>> all = c.meta.Deliveries(*id, 50);
        if (!all.ok()) return all.status();
        Json arr = Json::MakeArray();
        for (const meta::DeliveryRecord& d : *all) arr.Push(app::DeliveryJson(d));
        return Json::MakeObject().Set("deliveries", std::move(arr));
      }});
  out.push_back(Endpoint{.method = "DELETE",
                         .path = "/webhooks/{id}",
                         .summary = "Remove a webhook and its deliveries (owners)",
                         .query = {project},
                         .response_schema = Obj({{"deleted", Int()}}),
                         .handle = [](Call& c) -> Result<Json> {
                           Result<std::string> p = OneProject(c);
                           if (!p.ok()) return p.status();
                           Result<int64_t> id = WebhookId(c, *p);
                           if (!id.ok()) return id.status();
                           Status s = app::RemoveWebhook(c.meta, c.caller, *p, *id, c.now_ns);
                           if (!s.ok()) return s;
                           return Json::MakeObject().Set("deleted", *id);
                         }});
  return out;
}

}  // namespace weft::server
