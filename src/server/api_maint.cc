// The API's workspace maintenance (admins): `weft gc` and `weft fsck` through a server, carried
// out by the server's engine host while no run is live, with the workspace's lock exclusive.
#include <fmt/format.h>

#include "app/views.h"
#include "maint/fsck.h"
#include "maint/gc.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

Json GcSchema() {
  return Obj({{"dry_run", Type("boolean")},
              {"objects", Int()},
              {"removed", ArrayOf(Str())},
              {"folders", ArrayOf(Str())},
              {"batches", ArrayOf(Str())},
              {"store_bytes", Int()},
              {"run_bytes", Int()}});
}

Json FsckSchema() {
  return Obj({{"clean", Type("boolean")},
              {"blobs", Int()},
              {"objects", Int()},
              {"bytes", Int()},
              {"quarantined_blobs", ArrayOf(Str())},
              {"quarantined_objects", ArrayOf(Str())},
              {"missing_assets", ArrayOf(Str())},
              {"missing_run_objects", Int()}});
}

}  // namespace

std::vector<Endpoint> MaintenanceEndpoints(const ApiParts& parts) {
  return {
      {"POST",
       "/gc",
       "Free the space nothing needs, as `weft gc` does (admins): while no run runs on the server "
       "and no other weft command uses the workspace (else 409 Busy, nothing changed)",
       true,
       {},
       Body({{"keep_runs", Int()}, {"dry_run", Type("boolean")}}, {}),
       GcSchema(),
       200,
       [&parts](Call& c) -> Result<Json> {
         if (!c.caller.admin()) return Status::Denied("only the server's admins collect garbage");
         Result<Json> body = ParseBody(c.request);
         if (!body.ok()) return body.status();
         maint::GcOptions options;
         if (const Json* k = body->Find("keep_runs")) {
           if (!k->Int() || *k->Int() < 0) return Status::Invalid("`keep_runs` is 0 or more");
           options.keep_runs = *k->Int();
         }
         if (const Json* d = body->Find("dry_run")) {
           if (!d->Bool()) return Status::Invalid("`dry_run` is true or false");
           options.dry_run = *d->Bool();
         }
         Result<maint::GcReport> report = Status::Internal("not run");
         Status s = parts.host.Alone("gc", [&](app::Session& session) {
           report = maint::CollectGarbage(session.meta(), session.store(), session.workspace(),
                                          options);
           return report.status();
         });
         if (!s.ok()) return s;
         Status logged = app::Audit(
             c.meta, c.caller, "", "workspace.gc", "",
             fmt::format("keep_runs={} dry_run={} removed={} freed_bytes={}", options.keep_runs,
                         options.dry_run, report->removed.size(),
                         report->store_bytes + report->run_bytes),
             c.now_ns);
         if (!logged.ok()) return logged;
         return app::GcReportJson(*report, options.dry_run);
       }},
      {"POST",
       "/fsck",
       "Check the store as `weft fsck` does (admins): re-hash every object, quarantine what does "
       "not match its name, check what the database refers to; while no run runs on the server",
       true,
       {},
       nullptr,
       FsckSchema(),
       200,
       [&parts](Call& c) -> Result<Json> {
         if (!c.caller.admin()) return Status::Denied("only the server's admins check the store");
         Result<maint::FsckReport> report = Status::Internal("not run");
         Status s = parts.host.Alone("fsck", [&](app::Session& session) {
           report = maint::CheckStore(session.meta(), session.store());
           return report.status();
         });
         if (!s.ok()) return s;
         Status logged = app::Audit(c.meta, c.caller, "", "workspace.fsck", "",
                                    report->clean() ? "clean" : "damaged", c.now_ns);
         if (!logged.ok()) return logged;
         return app::FsckReportJson(*report);
       }},
  };
}

}  // namespace weft::server
