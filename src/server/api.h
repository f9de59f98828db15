// weft's REST API (`/api/v1`): the endpoints, each with what the OpenAPI document says of it, over
// the application layer. The OpenAPI document is generated from this same table, so the two
// cannot disagree.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/events.h"
#include "app/host.h"
#include "app/identity.h"
#include "app/schedules.h"
#include "app/tracking.h"
#include "base/json.h"
#include "base/os.h"
#include "meta/meta.h"
#include "store/store.h"
#include "server/http.h"

namespace weft::server {

// Connections to the workspace's database for the server's threads: each request borrows one
// (SQLite in WAL mode: readers never wait for the engine's writes).
class MetaPool {
 public:
  using Opener = std::function<Result<std::unique_ptr<meta::MetaStore>>()>;
  explicit MetaPool(Opener open) : open_(std::move(open)) {}

  class Lease {
   public:
    Lease(MetaPool& pool, std::unique_ptr<meta::MetaStore> m) : pool_(&pool), m_(std::move(m)) {}
    Lease(Lease&&) = default;
    ~Lease();
    meta::MetaStore& operator*() { return *m_; }
    meta::MetaStore* operator->() { return m_.get(); }

   private:
    MetaPool* pool_;
    std::unique_ptr<meta::MetaStore> m_;
  };
  Result<Lease> Acquire();

 private:
  Opener open_;
  std::mutex mu_;
  std::vector<std::unique_ptr<meta::MetaStore>> idle_;
};

struct ApiOptions {
  app::TokenPolicy tokens;
  std::string version;  // weft's, for the health check and the OpenAPI document
  int64_t heartbeat_ms = 15'000;  // an event stream's comment line when nothing else was sent
};

// What the API runs and reads: the engine's host, what its runs do, the workspace's folders and
// objects.
struct ApiParts {
  MetaPool& pool;
  app::Host& host;
  app::EventLog& events;
  const ws::Workspace& ws;
  const store::Store& store;
  const Os& os;
  // The tokens steps get for the MLflow endpoint (none: it takes only the API's tokens).
  const app::StepTokens* step_tokens = nullptr;
};

// What a handler is given: the request, who makes it (after the token was checked), and a
// database connection.
struct Call {
  const Request& request;
  const app::Caller& caller;
  meta::MetaStore& meta;
  int64_t now_ns;
  // The MLflow endpoint's: what the caller may read and log to (a project's token's, or a step's).
  app::TrackingScope tracking = {};
};

struct QueryParam {
  std::string name;
  std::string type;  // integer, string
  std::string description;
};

struct Endpoint {
  std::string method = "GET";
  std::string path = "";  // under /api/v1, with {placeholders}
  std::string summary = "";
  bool needs_token = true;
  std::vector<QueryParam> query = {};
  Json request_schema = nullptr;   // null: no body
  Json response_schema = nullptr;  // of the success response
  int success = 200;
  std::function<Result<Json>(Call&)> handle = nullptr;
  std::string body_type = "application/json";  // of the request's body
  // Instead of `handle`, for responses that are not JSON (event streams, downloads): the whole
  // response, of `response_type`.
  std::function<Result<Response>(Call&)> respond = nullptr;
  std::string response_type = "application/json";
  // Another success status with the same body (200: a request answered before, e.g. the same
  // content published again, or a replay of an Idempotency-Key); 0: none.
  int also_success = 0;
  // Under /api/2.0 (the MLflow endpoint, with MLflow's error bodies and the tokens steps get)
  // instead of /api/v1; `path` is then the whole path.
  bool mlflow = false;
};

// How a server's schedules start their runs: on its engine host.
app::Scheduler::Start ScheduleStarter(app::Host& host);

class Api {
 public:
  Api(ApiParts parts, ApiOptions options);

  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  // The OpenAPI 3.1 document of the endpoints.
  Json OpenApi() const;
  // The routes to serve: each endpoint behind authentication, its errors as JSON.
  std::vector<Route> Routes() const;

 private:
  Response Dispatch(const Endpoint& e, const Request& request) const;

  ApiParts parts_;
  ApiOptions options_;
  std::vector<Endpoint> endpoints_;
};

}  // namespace weft::server
