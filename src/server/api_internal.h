// What the files of weft's API share: the JSON Schema pieces its OpenAPI document is made of,
// reading requests, the runs a caller may see, and each file's endpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "app/pipeline.h"
#include "base/json.h"
#include "base/status.h"
#include "server/api.h"

namespace weft::server {

constexpr int64_t kDefaultPage = 50;
constexpr int64_t kMaxPage = 1000;

// JSON Schema pieces (OpenAPI 3.1: its schemas are JSON Schema 2020-12).
Json Type(const char* type);
Json Str();
Json Int();
Json Num();
Json Bool();
Json Nullable(const char* type);
Json ArrayOf(Json items);
Json StringMap();
// An object with exactly these members, every one of them required.
Json Obj(std::vector<std::pair<std::string, Json>> members);
// A request body: these members, only `required` of them required, no others.
Json Body(std::vector<std::pair<std::string, Json>> members, std::vector<std::string> required);
Json ErrorSchema();

// An integer query parameter from `min` to `max` (Invalid, naming it, otherwise).
Result<int64_t> IntQuery(const Request& r, const std::string& name, int64_t fallback, int64_t min,
                         int64_t max);
// The body as a JSON object.
Result<Json> ParseBody(const Request& r);
// A member of a JSON body that must be a string, if present.
Result<std::string> StringMember(const Json& body, const char* name, bool required);
// The project a listing is for: the caller's own, or (admins) the one asked for, or every one.
Result<std::string> ListedProject(Call& c);
// The one project a request is about: the caller's own, or the one an admin names (Invalid when
// an admin names none).
Result<std::string> OneProject(Call& c);
// A run the caller may see (`last`: the newest); any other is as absent as one that never existed.
Result<meta::RunRecord> VisibleRun(Call& c, const std::string& ref);

// The project a caller writes to: an admin names it (`?project=`, which must exist), others write
// to their own, with at least a contributor's role (Denied saying `what` needs it).
Result<std::string> WritableProject(Call& c, const char* what);

// A run's summary, as the runs' endpoints answer it.
Json RunSummarySchema();
// The answer of a request that starts a run: the run, and `events_after`, the event after which
// the run's own events come (GET /events?run=...&last_event_id=...).
Json StartedRunSchema();
// The options of a run the caller starts in `project` from `source`.
engine::RunOptions RunOptionsFor(const Call& c, const std::string& project,
                                 const app::PipelineSource& source, engine::RunOptions options);
// Starts a run with `start` and answers `{"run": ...}` (201), audited as `run.submit` of
// `what`. With an `Idempotency-Key` header, a request sent again answers the run it started
// (200, `Idempotent-Replayed: true`) and starts none.
Result<Response> StartRun(Call& c, const ApiParts& parts, const std::string& project,
                          const std::string& what,
                          const std::function<Result<meta::RunRecord>()>& start);

// The endpoints of projects, tokens and the audit log (api_identity.cc).
std::vector<Endpoint> IdentityEndpoints(const ApiParts& parts, const ApiOptions& options);
// The endpoints of runs: listing, submitting, cancelling, showing (api_runs.cc).
std::vector<Endpoint> RunEndpoints(const ApiParts& parts);
// The endpoints of what runs did and made: logs, metrics, explanations, comparisons, downloads
// (api_results.cc).
std::vector<Endpoint> ResultEndpoints(const ApiParts& parts);
// Published pipelines and the runs started from them (api_pipelines.cc).
std::vector<Endpoint> PipelineEndpoints(const ApiParts& parts);
// Schedules (api_schedules.cc).
std::vector<Endpoint> ScheduleEndpoints(const ApiParts& parts);
// Webhooks (api_webhooks.cc).
std::vector<Endpoint> WebhookEndpoints();
// The MLflow tracking endpoint under /api/2.0 (api_mlflow.cc), and its errors as MLflow's
// clients read them: {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}.
std::vector<Endpoint> MlflowEndpoints(const ApiParts& parts);
Response MlflowError(const Status& status);
Json MlflowErrorSchema();
// Uploads deduplicated by content (api_uploads.cc), and the folder a submission's files are in:
// the upload it names (`?upload=`), or its body's archive unpacked.
std::vector<Endpoint> UploadEndpoints(const ApiParts& parts);
Result<std::string> UploadedFolder(Call& c, const ApiParts& parts, const std::string& project);
// Registered assets (api_assets.cc).
std::vector<Endpoint> AssetEndpoints(const ApiParts& parts);
// The live event stream (api_events.cc).
std::vector<Endpoint> EventEndpoints(const ApiParts& parts, const ApiOptions& options);
// POST /gc, /fsck (api_maint.cc).
std::vector<Endpoint> MaintenanceEndpoints(const ApiParts& parts);

}  // namespace weft::server
