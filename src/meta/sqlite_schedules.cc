// The SQLite metadata store's schedules and their firings, and webhooks and their deliveries:
// what a server does unattended.
#include <fmt/format.h>

#include "meta/sqlite_meta_store.h"

namespace weft::meta {
namespace {

constexpr const char* kScheduleColumns =
    "project, name, folder, file, enabled, created_ns, created_by, updated_ns, next_fire_ns, "
    "watch";

ScheduleRecord ReadSchedule(const Statement& q) {
  return ScheduleRecord{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4) != 0,
                        q.Int(5),  q.Text(6), q.Int(7),  q.Int(8),  q.Text(9)};
}

constexpr const char* kFireColumns = "project, name, fire_ns, at_ns, run_id, outcome";

ScheduleFireRecord ReadFire(const Statement& q) {
  return ScheduleFireRecord{q.Text(0), q.Text(1), q.Int(2), q.Int(3), q.Text(4), q.Text(5)};
}

}  // namespace

Status SqliteMetaStore::PutSchedule(const ScheduleRecord& r) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "INSERT OR REPLACE INTO schedules({}) VALUES(?,?,?,?,?,?,?,?,?,?)", kScheduleColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, r.project).Bind(2, r.name).Bind(3, r.folder).Bind(4, r.file);
  q->Bind(5, int64_t{r.enabled}).Bind(6, r.created_ns).Bind(7, r.created_by);
  q->Bind(8, r.updated_ns).Bind(9, r.next_fire_ns).Bind(10, r.watch);
  return q->Run();
}

Result<std::optional<ScheduleRecord>> SqliteMetaStore::FindSchedule(const std::string& project,
                                                                    const std::string& name) {
  Result<Statement> q = db_->Prepare(
      fmt::format("SELECT {} FROM schedules WHERE project = ? AND name = ?", kScheduleColumns));
  if (q.ok()) q->Bind(1, project).Bind(2, name);
  Result<std::vector<ScheduleRecord>> rows = All<ScheduleRecord>(q, ReadSchedule);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ScheduleRecord>();
  return std::optional<ScheduleRecord>(rows->front());
}

Result<std::vector<ScheduleRecord>> SqliteMetaStore::Schedules(const std::string& project) {
  Result<Statement> q = db_->Prepare(
      fmt::format("SELECT {} FROM schedules WHERE (? = '' OR project = ?) ORDER BY project, name",
                  kScheduleColumns));
  if (q.ok()) q->Bind(1, project).Bind(2, project);
  return All<ScheduleRecord>(q, ReadSchedule);
}

Status SqliteMetaStore::DeleteSchedule(const std::string& project, const std::string& name) {
  for (const char* sql : {"DELETE FROM schedule_fires WHERE project = ? AND name = ?",
                          "DELETE FROM schedules WHERE project = ? AND name = ?"}) {
    Result<Statement> q = db_->Prepare(sql);
    if (!q.ok()) return q.status();
    Status s = q->Bind(1, project).Bind(2, name).Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<bool> SqliteMetaStore::AddScheduleFire(const ScheduleFireRecord& f) {
  Result<Statement> q = db_->Prepare(
      fmt::format("INSERT INTO schedule_fires({}) VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING "
                  "RETURNING fire_ns",
                  kFireColumns));
  if (!q.ok()) return q.status();
  q->Bind(1, f.project).Bind(2, f.name).Bind(3, f.fire_ns).Bind(4, f.at_ns).Bind(5, f.run_id);
  q->Bind(6, f.outcome);
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  bool added = *row;
  if (added) {
    Result<bool> done = q->Step();  // (RETURNING rows are written as they are stepped through)
    if (!done.ok()) return done.status();
  }
  return added;
}

Status SqliteMetaStore::UpdateScheduleFire(const ScheduleFireRecord& f) {
  Result<Statement> q = db_->Prepare(
      "UPDATE schedule_fires SET at_ns = ?, run_id = ?, outcome = ? WHERE project = ? AND name = ? "
      "AND fire_ns = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, f.at_ns).Bind(2, f.run_id).Bind(3, f.outcome).Bind(4, f.project).Bind(5, f.name);
  return q->Bind(6, f.fire_ns).Run();
}

Result<std::vector<ScheduleFireRecord>> SqliteMetaStore::ScheduleFires(const std::string& project,
                                                                       const std::string& name,
                                                                       int64_t limit) {
  Result<Statement> q = db_->Prepare(
      fmt::format("SELECT {} FROM schedule_fires WHERE project = ? AND name = ? ORDER BY fire_ns "
                  "DESC LIMIT ?",
                  kFireColumns));
  if (q.ok()) q->Bind(1, project).Bind(2, name).Bind(3, limit);
  return All<ScheduleFireRecord>(q, ReadFire);
}

namespace {

constexpr const char* kWebhookColumns = "id, project, url, secret, created_ns, created_by";

WebhookRecord ReadWebhook(const Statement& q) {
  return WebhookRecord{q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Text(5)};
}

constexpr const char* kDeliveryColumns =
    "id, webhook, run_id, body, attempts, next_ns, status, last_error";

DeliveryRecord ReadDelivery(const Statement& q) {
  return DeliveryRecord{q.Int(0), q.Int(1), q.Text(2), q.Text(3),
                        q.Int(4), q.Int(5), q.Text(6), q.Text(7)};
}

}  // namespace

Result<int64_t> SqliteMetaStore::PutWebhook(const WebhookRecord& w) {
  Result<Statement> q = db_->Prepare(
      "INSERT INTO webhooks(project, url, secret, created_ns, created_by) VALUES(?,?,?,?,?) "
      "RETURNING id");
  if (!q.ok()) return q.status();
  q->Bind(1, w.project).Bind(2, w.url).Bind(3, w.secret).Bind(4, w.created_ns);
  q->Bind(5, w.created_by);
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("no id for the new webhook");
  int64_t id = q->Int(0);
  Result<bool> done = q->Step();
  if (!done.ok()) return done.status();
  return id;
}

Result<std::vector<WebhookRecord>> SqliteMetaStore::Webhooks(const std::string& project) {
  Result<Statement> q = db_->Prepare(fmt::format(
      "SELECT {} FROM webhooks WHERE (? = '' OR project = ?) ORDER BY id", kWebhookColumns));
  if (q.ok()) q->Bind(1, project).Bind(2, project);
  return All<WebhookRecord>(q, ReadWebhook);
}

Status SqliteMetaStore::DeleteWebhook(const std::string& project, int64_t id) {
  for (const char* sql :
       {"DELETE FROM webhook_deliveries WHERE webhook = (SELECT id FROM webhooks WHERE project = ? "
        "AND id = ?)",
        "DELETE FROM webhooks WHERE project = ? AND id = ?"}) {
    Result<Statement> q = db_->Prepare(sql);
    if (!q.ok()) return q.status();
    Status s = q->Bind(1, project).Bind(2, id).Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SqliteMetaStore::AddDelivery(const DeliveryRecord& d) {
  Result<Statement> q = db_->Prepare(
      "INSERT OR IGNORE INTO webhook_deliveries(webhook, run_id, body, attempts, next_ns, status, "
      "last_error) VALUES(?,?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  q->Bind(1, d.webhook).Bind(2, d.run_id).Bind(3, d.body).Bind(4, d.attempts);
  return q->Bind(5, d.next_ns).Bind(6, d.status).Bind(7, d.last_error).Run();
}

Result<std::vector<DeliveryRecord>> SqliteMetaStore::DueDeliveries(int64_t now_ns, int64_t limit) {
  Result<Statement> q = db_->Prepare(
      fmt::format("SELECT {} FROM webhook_deliveries WHERE status = 'pending' AND next_ns <= ? "
                  "ORDER BY next_ns LIMIT ?",
                  kDeliveryColumns));
  if (q.ok()) q->Bind(1, now_ns).Bind(2, limit);
  return All<DeliveryRecord>(q, ReadDelivery);
}

Status SqliteMetaStore::UpdateDelivery(const DeliveryRecord& d) {
  Result<Statement> q = db_->Prepare(
      "UPDATE webhook_deliveries SET attempts = ?, next_ns = ?, status = ?, last_error = ? WHERE "
      "id = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, d.attempts).Bind(2, d.next_ns).Bind(3, d.status).Bind(4, d.last_error);
  return q->Bind(5, d.id).Run();
}

Result<std::vector<DeliveryRecord>> SqliteMetaStore::Deliveries(int64_t webhook, int64_t limit) {
  Result<Statement> q = db_->Prepare(
      fmt::format("SELECT {} FROM webhook_deliveries WHERE webhook = ? ORDER BY id DESC LIMIT ?",
                  kDeliveryColumns));
  if (q.ok()) q->Bind(1, webhook).Bind(2, limit);
  return All<DeliveryRecord>(q, ReadDelivery);
}

}  // namespace weft::meta
