// The MLflow tracking REST API (`/api/2.0/mlflow/...`, MLflow 2.x) on weft's server, over
// app/tracking.h: experiments, runs, what they log, and the `mlflow-artifacts` API for runs made
// from outside steps. Requests and answers follow MLflow's REST reference
// (https://mlflow.org/docs/latest/rest-api.html): GET endpoints read query parameters, POST
// endpoints a JSON body; int64 values are JSON numbers; errors are {"error_code", "message"}.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "app/identity.h"
#include "app/tracking.h"
#include "base/fs.h"
#include "engine/metrics.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

constexpr int64_t kMaxResults = 50'000;
constexpr size_t kMaxBatchMetrics = 1000;
constexpr size_t kMaxBatchParams = 100;
constexpr size_t kMaxBatchTags = 100;
constexpr const char* kMlflow = "/api/2.0/mlflow";
constexpr const char* kArtifacts = "/api/2.0/mlflow-artifacts/artifacts";

// MLflow sends ids as strings; int64 fields as numbers or (proto3 JSON) strings.
Result<int64_t> Int64(const Json* v, const char* name, int64_t fallback) {
  if (v == nullptr || v->IsNull()) return fallback;
  if (const int64_t* i = v->Int()) return *i;
  if (std::optional<double> d = v->Number(); d && std::floor(*d) == *d) return static_cast<int64_t>(*d);
  if (const std::string* s = v->String()) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec == std::errc() && end == s->data() + s->size()) return n;
  }
  return Status::Invalid(fmt::format("`{}` must be an integer", name));
}

Result<int64_t> ExperimentId(const std::string& text) {
  Json j(text);
  Result<int64_t> id = Int64(&j, "experiment_id", -1);
  if (!id.ok() || *id < 0) {
    return Status::NotFound(fmt::format("No Experiment with id={} exists", text));
  }
  return *id;
}

// A request's fields, from its query (GET) or its JSON body (POST).
class Fields {
 public:
  static Result<Fields> Of(const Request& r) {
    Fields f;
    if (r.method == "GET") {
      f.body_ = Json::MakeObject();
      for (const auto& [k, v] : r.query) f.body_.Set(k, v);
      return f;
    }
    if (r.body.empty()) {
      f.body_ = Json::MakeObject();
      return f;
    }
    Result<Json> body = ParseBody(r);
    if (!body.ok()) return body.status();
    f.body_ = std::move(*body);
    return f;
  }
  const Json& json() const { return body_; }
  Result<std::string> Text(const char* name, bool required) const {
    return StringMember(body_, name, required);
  }
  // run_id, or the older run_uuid.
  Result<std::string> RunId() const {
    Result<std::string> id = Text("run_id", false);
    if (id.ok() && id->empty()) id = Text("run_uuid", false);
    if (id.ok() && id->empty()) return Status::Invalid("Missing value for required parameter 'run_id'");
    return id;
  }
  Result<int64_t> Int(const char* name, int64_t fallback) const {
    return Int64(body_.Find(name), name, fallback);
  }
  // A list of {"key", "value"} objects.
  Result<std::vector<std::pair<std::string, std::string>>> Pairs(const char* name) const {
    std::vector<std::pair<std::string, std::string>> out;
    const Json* list = body_.Find(name);
    if (list == nullptr || list->IsNull()) return out;
    if (list->Items() == nullptr) return Status::Invalid(fmt::format("`{}` must be a list", name));
    for (const Json& item : *list->Items()) {
      Result<std::pair<std::string, std::string>> kv = Pair(item, name);
      if (!kv.ok()) return kv.status();
      out.push_back(std::move(*kv));
    }
    return out;
  }
  static Result<std::pair<std::string, std::string>> Pair(const Json& item, const char* what) {
    Result<std::string> k = StringMember(item, "key", true);
    if (!k.ok()) return Status::Invalid(fmt::format("{}: {}", what, k.status().message()));
    const Json* v = item.Find("value");
    std::string value = v == nullptr || v->IsNull() ? "" : v->String() ? *v->String() : v->Dump(-1);
    return std::make_pair(*k, value);
  }

 private:
  Json body_;
};

Result<app::TrackedMetric> MetricOf(const Json& m, int64_t now_ms) {
  Result<std::string> key = StringMember(m, "key", true);
  if (!key.ok()) return key.status();
  const Json* v = m.Find("value");
  std::optional<double> value = v == nullptr ? std::nullopt : v->Number();
  if (v != nullptr && v->String() != nullptr) {  // proto3 JSON writes "NaN", "Infinity" as text
    return Status::Invalid(fmt::format("metric `{}`: weft stores finite values only", *key));
  }
  if (!value) return Status::Invalid(fmt::format("metric `{}` needs a numeric `value`", *key));
  Result<int64_t> ts = Int64(m.Find("timestamp"), "timestamp", now_ms);
  if (!ts.ok()) return ts.status();
  Result<int64_t> step = Int64(m.Find("step"), "step", 0);
  if (!step.ok()) return step.status();
  return app::TrackedMetric{*key, *value, *ts, *step};
}

Json KeyValues(const std::vector<std::pair<std::string, std::string>>& kvs) {
  Json out = Json::MakeArray();
  for (const auto& [k, v] : kvs) out.Push(Json::MakeObject().Set("key", k).Set("value", v));
  return out;
}

Json MetricJson(const app::TrackedMetric& m) {
  return Json::MakeObject()
      .Set("key", m.key)
      .Set("value", m.value)
      .Set("timestamp", m.timestamp_ms)
      .Set("step", m.step);
}

Json ExperimentJson(const meta::MlflowExperimentRecord& e) {
  Json tags = Json::MakeArray();
  if (std::optional<Json> t = Json::Parse(e.tags); t && t->Items()) tags = *t;
  return Json::MakeObject()
      .Set("experiment_id", std::to_string(e.id))
      .Set("name", e.name)
      .Set("artifact_location", fmt::format("mlflow-artifacts:/{}", e.id))
      .Set("lifecycle_stage", e.lifecycle)
      .Set("last_update_time", e.updated_ms)
      .Set("creation_time", e.created_ms)
      .Set("tags", std::move(tags));
}

Json RunInfoJson(const app::TrackedRun& r) {
  Json info = Json::MakeObject()
                  .Set("run_id", r.record.id)
                  .Set("run_uuid", r.record.id)
                  .Set("run_name", r.record.name)
                  .Set("experiment_id", std::to_string(r.record.experiment))
                  .Set("user_id", r.record.user)
                  .Set("status", r.record.status)
                  .Set("start_time", r.record.start_ms);
  if (r.record.end_ms > 0) info.Set("end_time", r.record.end_ms);
  return info.Set("artifact_uri", r.artifact_uri).Set("lifecycle_stage", r.record.lifecycle);
}

std::string InputsFile(const app::TrackedRun& r) {
  return r.metrics_file.substr(0, r.metrics_file.rfind('/')) + "/mlflow-inputs.jsonl";
}

Json RunJson(const app::TrackedRun& r, const app::TrackedData& d) {
  Json metrics = Json::MakeArray();
  for (const app::TrackedMetric& m : d.Latest()) metrics.Push(MetricJson(m));
  Json inputs = Json::MakeArray();
  if (Result<std::string> text = ReadFileCapped(InputsFile(r), 16 << 20); text.ok()) {
    for (size_t at = 0; at < text->size();) {
      size_t nl = text->find('\n', at);
      if (nl == std::string::npos) nl = text->size();
      if (std::optional<Json> j = Json::Parse(std::string_view(*text).substr(at, nl - at))) inputs.Push(*j);
      at = nl + 1;
    }
  }
  return Json::MakeObject()
      .Set("info", RunInfoJson(r))
      .Set("data", Json::MakeObject()
                       .Set("metrics", std::move(metrics))
                       .Set("params", KeyValues(d.params))
                       .Set("tags", KeyValues(d.tags)))
      .Set("inputs", Json::MakeObject().Set("dataset_inputs", std::move(inputs)));
}

// Schemas of what the endpoint answers, as far as MLflow's clients rely on them.
Json ExperimentSchema() {
  return Type("object").Set(
      "required", Json::MakeArray().Push("experiment_id").Push("name").Push("lifecycle_stage"));
}
Json RunSchema() {
  return Type("object").Set("required", Json::MakeArray().Push("info").Push("data"));
}
Json Anything() {
  return Type("object");
}

Result<app::TrackedRun> RunOf(Call& c, const ApiParts& parts, const Fields& f) {
  Result<std::string> id = f.RunId();
  if (!id.ok()) return id.status();
  return app::FindTrackedRun(c.meta, parts.ws, c.tracking, *id);
}

Json Empty() {
  return Json::MakeObject();
}

// Paging: the token is the offset of the next page.
Result<size_t> PageStart(const Fields& f) {
  Result<std::string> token = f.Text("page_token", false);
  if (!token.ok()) return token.status();
  if (token->empty()) return size_t{0};
  size_t n = 0;
  auto [end, ec] = std::from_chars(token->data(), token->data() + token->size(), n);
  if (ec != std::errc() || end != token->data() + token->size()) {
    return Status::Invalid(fmt::format("invalid page_token `{}`", *token));
  }
  return n;
}

Result<size_t> PageSize(const Fields& f, int64_t fallback) {
  Result<int64_t> n = f.Int("max_results", fallback);
  if (!n.ok()) return n.status();
  if (*n < 1 || *n > kMaxResults) {
    return Status::Invalid(fmt::format("max_results must be from 1 to {}", kMaxResults));
  }
  return static_cast<size_t>(*n);
}

// An artifact's path `<experiment>/<run>/artifacts/<file>` -> the run and the file below its
// artifacts folder (NotFound for a run the caller does not see; Invalid for a path that leaves it).
struct ArtifactPath {
  app::TrackedRun run;
  std::string file;  // absolute
};
Result<ArtifactPath> ResolveArtifact(Call& c, const ApiParts& parts, const std::string& path) {
  std::vector<std::string> parts_of;
  for (size_t at = 0; at <= path.size();) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    std::string seg = path.substr(at, slash - at);
    if (seg == ".." || seg == ".") return Status::Invalid(fmt::format("`{}`: `..` and `.` are not allowed", path));
    if (!seg.empty()) parts_of.push_back(seg);
    at = slash + 1;
  }
  if (parts_of.size() < 3 || parts_of[2] != "artifacts") {
    return Status::NotFound(fmt::format("`{}` is not an artifact of a run (EXPERIMENT/RUN/artifacts/...)", path));
  }
  Result<app::TrackedRun> run = app::FindTrackedRun(c.meta, parts.ws, c.tracking, parts_of[1]);
  if (!run.ok()) return run.status();
  if (run->step || std::to_string(run->record.experiment) != parts_of[0]) {
    return Status::NotFound(fmt::format("no artifacts at `{}`", path));
  }
  std::string root = run->metrics_file.substr(0, run->metrics_file.rfind('/')) + "/artifacts";
  std::string file = root;
  for (size_t k = 3; k < parts_of.size(); ++k) file += "/" + parts_of[k];
  if (!IsWithin(file, root) && file != root) return Status::Invalid(fmt::format("`{}` leaves its run", path));
  return ArtifactPath{std::move(*run), file};
}

// What a logging request carries, for app::LogToRun.
struct Logged {
  std::vector<app::TrackedMetric> metrics;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> tags;
};

// A POST that logs to a run: the run named, then what `read` takes of the body, logged at once.
Endpoint LogEndpoint(const ApiParts& parts, std::string path, std::string summary,
                     std::function<Result<Logged>(const Fields&, int64_t now_ms)> read) {
  return {"POST", std::move(path), std::move(summary), true, {}, Anything(), Anything(), 200,
          [&parts, read = std::move(read)](Call& c) -> Result<Json> {
            Result<Fields> f = Fields::Of(c.request);
            if (!f.ok()) return f.status();
            Result<app::TrackedRun> run = RunOf(c, parts, *f);
            if (!run.ok()) return run.status();
            Result<Logged> l = read(*f, c.now_ns / 1'000'000);
            if (!l.ok()) return l.status();
            Status s = app::LogToRun(c.tracking, *run, l->metrics, l->params, l->tags);
            if (!s.ok()) return s;
            return Empty();
          }};
}

}  // namespace

Json MlflowErrorSchema() {
  return Type("object")
      .Set("properties", Json::MakeObject().Set("error_code", Str()).Set("message", Str()))
      .Set("required", Json::MakeArray().Push("error_code").Push("message"));
}

Response MlflowError(const Status& status) {
  Response r = ErrorResponse(status);  // the status code, and an internal error's logging
  const char* code = "INTERNAL_ERROR";
  switch (status.code()) {
    case Code::kInvalid:
    case Code::kTooLarge:
      code = "INVALID_PARAMETER_VALUE";
      r.status = 400;
      break;
    case Code::kNotFound:
      code = "RESOURCE_DOES_NOT_EXIST";
      break;
    case Code::kBusy:
      code = "RESOURCE_ALREADY_EXISTS";
      r.status = 400;
      break;
    case Code::kUnauthenticated:
      code = "UNAUTHENTICATED";
      break;
    case Code::kDenied:
      code = "PERMISSION_DENIED";
      break;
    default:
      break;
  }
  std::string message = status.message();
  if (r.status >= 500) {
    message = "the server failed; its log says why";
  }
  r.body = Json::MakeObject().Set("error_code", code).Set("message", message).Dump(-1);
  return r;
}

std::vector<Endpoint> MlflowEndpoints(const ApiParts& parts) {
  auto path = [](const char* p) { return std::string(kMlflow) + p; };
  auto ms = [](Call& c) { return c.now_ns / 1'000'000; };
  std::vector<Endpoint> out = {
      {"POST", path("/experiments/create"), "MLflow: create an experiment", true, {},
       Anything(), Obj({{"experiment_id", Str()}}), 200,
       [ms](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<std::string> name = f->Text("name", true);
         if (!name.ok()) return name.status();
         const Json* tags = f->json().Find("tags");
         Result<int64_t> id = app::CreateExperiment(c.meta, c.tracking, *name,
                                                    tags == nullptr ? Json() : *tags, ms(c));
         if (!id.ok()) return id.status();
         Status logged = app::Audit(c.meta, c.caller, c.tracking.project, "mlflow.experiment.create",
                                    *name, std::to_string(*id), c.now_ns);
         if (!logged.ok()) return logged;
         return Json::MakeObject().Set("experiment_id", std::to_string(*id));
       }},
      {"GET", path("/experiments/get"), "MLflow: an experiment by id", true,
       {{"experiment_id", "string", "the experiment"}}, nullptr, Obj({{"experiment", ExperimentSchema()}}), 200,
       [ms](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<std::string> text = f->Text("experiment_id", true);
         if (!text.ok()) return text.status();
         Result<int64_t> id = ExperimentId(*text);
         if (!id.ok()) return id.status();
         Result<meta::MlflowExperimentRecord> e = app::GetExperiment(c.meta, c.tracking, *id, ms(c));
         if (!e.ok()) return e.status();
         return Json::MakeObject().Set("experiment", ExperimentJson(*e));
       }},
      {"GET", path("/experiments/get-by-name"), "MLflow: an experiment by name", true,
       {{"experiment_name", "string", "the experiment's name"}}, nullptr,
       Obj({{"experiment", ExperimentSchema()}}), 200,
       [ms](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<std::string> name = f->Text("experiment_name", true);
         if (!name.ok()) return name.status();
         Result<meta::MlflowExperimentRecord> e = app::GetExperimentByName(c.meta, c.tracking, *name, ms(c));
         if (!e.ok()) return e.status();
         return Json::MakeObject().Set("experiment", ExperimentJson(*e));
       }},
      {"POST", path("/experiments/search"), "MLflow: search experiments", true, {}, Anything(),
       Type("object"), 200,
       [ms](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<size_t> size = PageSize(*f, 1000);
         if (!size.ok()) return size.status();
         Result<size_t> start = PageStart(*f);
         if (!start.ok()) return start.status();
         Result<std::string> view = f->Text("view_type", false);
         if (!view.ok()) return view.status();
         Result<std::string> filter = f->Text("filter", false);
         if (!filter.ok()) return filter.status();
         if (!filter->empty()) {
           return Status::Invalid("experiments/search: weft does not filter experiments; list them all");
         }
         Result<std::vector<meta::MlflowExperimentRecord>> all = app::Experiments(c.meta, c.tracking, ms(c));
         if (!all.ok()) return all.status();
         std::vector<meta::MlflowExperimentRecord> kept;
         for (const auto& e : *all) {
           bool deleted = e.lifecycle == "deleted";
           if (*view == "ALL" || (*view == "DELETED_ONLY" ? deleted : !deleted)) kept.push_back(e);
         }
         Json list = Json::MakeArray();
         for (size_t k = *start; k < kept.size() && k < *start + *size; ++k) list.Push(ExperimentJson(kept[k]));
         Json out = Json::MakeObject().Set("experiments", std::move(list));
         if (*start + *size < kept.size()) out.Set("next_page_token", std::to_string(*start + *size));
         return out;
       }},
      {"POST", path("/runs/create"), "MLflow: create a run", true, {}, Anything(),
       Obj({{"run", RunSchema()}}), 200,
       [&parts, ms](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<std::string> exp = f->Text("experiment_id", false);
         if (!exp.ok()) return exp.status();
         Result<int64_t> id = ExperimentId(exp->empty() ? "0" : *exp);
         if (!id.ok()) return id.status();
         Result<std::string> name = f->Text("run_name", false);
         if (!name.ok()) return name.status();
         Result<int64_t> start = f->Int("start_time", 0);
         if (!start.ok()) return start.status();
         Result<std::vector<std::pair<std::string, std::string>>> tags = f->Pairs("tags");
         if (!tags.ok()) return tags.status();
         Result<std::string> user = f->Text("user_id", false);
         if (!user.ok()) return user.status();
         if (!user->empty()) tags->emplace_back("mlflow.user", *user);
         Result<app::TrackedRun> run = app::CreateTrackedRun(c.meta, parts.ws, c.tracking, *id, *name,
                                                             *start, *tags, ms(c));
         if (!run.ok()) return run.status();
         Status logged = app::Audit(c.meta, c.caller, c.tracking.project, "mlflow.run.create",
                                    run->record.id, run->record.name, c.now_ns);
         if (!logged.ok()) return logged;
         Result<app::TrackedData> data = app::DataOf(c.meta, *run);
         if (!data.ok()) return data.status();
         return Json::MakeObject().Set("run", RunJson(*run, *data));
       }},
      {"GET", path("/runs/get"), "MLflow: a run, with its latest metrics, params and tags", true,
       {{"run_id", "string", "the run"}}, nullptr, Obj({{"run", RunSchema()}}), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         Result<app::TrackedData> data = app::DataOf(c.meta, *run);
         if (!data.ok()) return data.status();
         return Json::MakeObject().Set("run", RunJson(*run, *data));
       }},
      {"POST", path("/runs/update"), "MLflow: set a run's status, end time or name", true, {},
       Anything(), Obj({{"run_info", Type("object")}}), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         Result<std::string> status = f->Text("status", false);
         if (!status.ok()) return status.status();
         Result<std::string> name = f->Text("run_name", false);
         if (!name.ok()) return name.status();
         std::optional<int64_t> end;
         if (const Json* e = f->json().Find("end_time"); e != nullptr && !e->IsNull()) {
           Result<int64_t> v = Int64(e, "end_time", 0);
           if (!v.ok()) return v.status();
           end = *v;
         }
         Status s = app::UpdateTrackedRun(c.meta, c.tracking, *run, *status, end, *name);
         if (!s.ok()) return s;
         return Json::MakeObject().Set("run_info", RunInfoJson(*run));
       }},
      {"POST", path("/runs/delete"), "MLflow: delete a run made through this endpoint", true, {},
       Anything(), Anything(), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         if (run->step) return Status::Invalid("a step's run is deleted with its weft run (`weft gc`)");
         if (!c.tracking.write || !c.tracking.only_run.empty()) {
           return Status::Denied("deleting a run needs a contributor's token");
         }
         run->record.lifecycle = "deleted";
         Status s = meta::InTransaction(c.meta, [&] { return c.meta.PutMlflowRun(run->record); });
         if (!s.ok()) return s;
         Status logged = app::Audit(c.meta, c.caller, c.tracking.project, "mlflow.run.delete",
                                    run->record.id, "", c.now_ns);
         if (!logged.ok()) return logged;
         return Empty();
       }},
      {"POST", path("/runs/search"), "MLflow: search runs", true, {}, Anything(), Type("object"), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         app::RunSearch search;
         const Json* ids = f->json().Find("experiment_ids");
         if (ids != nullptr && ids->Items() != nullptr) {
           for (const Json& id : *ids->Items()) {
             Result<int64_t> n = ExperimentId(id.String() ? *id.String() : id.Dump(-1));
             if (!n.ok()) return n.status();
             search.experiments.push_back(*n);
           }
         }
         Result<std::string> filter = f->Text("filter", false);
         if (!filter.ok()) return filter.status();
         search.filter = *filter;
         if (const Json* order = f->json().Find("order_by"); order != nullptr && order->Items()) {
           for (const Json& o : *order->Items()) {
             if (!o.String()) return Status::Invalid("order_by holds texts");
             search.order_by.push_back(*o.String());
           }
         }
         Result<std::string> view = f->Text("run_view_type", false);
         if (!view.ok()) return view.status();
         search.deleted = *view == "DELETED_ONLY" || *view == "ALL";
         search.active = *view != "DELETED_ONLY";
         Result<size_t> size = PageSize(*f, 1000);
         if (!size.ok()) return size.status();
         Result<size_t> start = PageStart(*f);
         if (!start.ok()) return start.status();
         Result<std::vector<app::FoundRun>> found = app::SearchTrackedRuns(c.meta, parts.ws, c.tracking, search);
         if (!found.ok()) return found.status();
         Json runs = Json::MakeArray();
         for (size_t k = *start; k < found->size() && k < *start + *size; ++k) {
           runs.Push(RunJson((*found)[k].run, (*found)[k].data));
         }
         Json out = Json::MakeObject().Set("runs", std::move(runs));
         if (*start + *size < found->size()) out.Set("next_page_token", std::to_string(*start + *size));
         return out;
       }},
      LogEndpoint(parts, path("/runs/log-metric"), "MLflow: log a metric",
                  [](const Fields& f, int64_t now_ms) -> Result<Logged> {
                    Result<app::TrackedMetric> m = MetricOf(f.json(), now_ms);
                    if (!m.ok()) return m.status();
                    return Logged{{*m}, {}, {}};
                  }),
      LogEndpoint(parts, path("/runs/log-parameter"), "MLflow: log a param",
                  [](const Fields& f, int64_t) -> Result<Logged> {
                    Result<std::pair<std::string, std::string>> kv = Fields::Pair(f.json(), "param");
                    if (!kv.ok()) return kv.status();
                    return Logged{{}, {*kv}, {}};
                  }),
      LogEndpoint(parts, path("/runs/set-tag"), "MLflow: set a tag",
                  [](const Fields& f, int64_t) -> Result<Logged> {
                    Result<std::pair<std::string, std::string>> kv = Fields::Pair(f.json(), "tag");
                    if (!kv.ok()) return kv.status();
                    return Logged{{}, {}, {*kv}};
                  }),
      LogEndpoint(
          parts, path("/runs/log-batch"), "MLflow: log metrics, params and tags at once",
          [](const Fields& f, int64_t now_ms) -> Result<Logged> {
            Logged out;
            if (const Json* list = f.json().Find("metrics"); list != nullptr && list->Items()) {
              for (const Json& m : *list->Items()) {
                Result<app::TrackedMetric> one = MetricOf(m, now_ms);
                if (!one.ok()) return one.status();
                out.metrics.push_back(*one);
              }
            }
            Result<std::vector<std::pair<std::string, std::string>>> params = f.Pairs("params");
            if (!params.ok()) return params.status();
            Result<std::vector<std::pair<std::string, std::string>>> tags = f.Pairs("tags");
            if (!tags.ok()) return tags.status();
            out.params = std::move(*params);
            out.tags = std::move(*tags);
            if (out.metrics.size() > kMaxBatchMetrics || out.params.size() > kMaxBatchParams ||
                out.tags.size() > kMaxBatchTags) {
              return Status::Invalid(fmt::format(
                  "A batch logging request can contain at most {} metrics, {} params and {} "
                  "tags; got {}, {} and {}",
                  kMaxBatchMetrics, kMaxBatchParams, kMaxBatchTags, out.metrics.size(),
                  out.params.size(), out.tags.size()));
            }
            return out;
          }),
      {"POST", path("/runs/log-inputs"), "MLflow: record the datasets a run used", true, {},
       Anything(), Anything(), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         Status s = app::CanLog(c.tracking, *run);
         if (!s.ok()) return s;
         std::string lines;
         if (const Json* list = f->json().Find("datasets"); list != nullptr && list->Items()) {
           for (const Json& d : *list->Items()) {
             if (d.Find("dataset") == nullptr) return Status::Invalid("each of `datasets` has a `dataset`");
             lines += d.Dump(-1) + "\n";
           }
         }
         if (lines.empty()) return Empty();
         s = engine::AppendLines(InputsFile(*run), lines);
         if (!s.ok()) return s;
         return Empty();
       }},
      {"POST", path("/runs/log-model"), "MLflow: record a model logged by a run", true, {},
       Anything(), Anything(), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         Result<std::string> model = f->Text("model_json", true);
         if (!model.ok()) return model.status();
         std::optional<Json> parsed = Json::Parse(*model);
         if (!parsed || !parsed->Members()) return Status::Invalid("`model_json` is a JSON object");
         // As MLflow keeps it: the tag mlflow.log-model.history, a list of the models logged.
         Result<app::TrackedData> data = app::DataOf(c.meta, *run);
         if (!data.ok()) return data.status();
         Json history = Json::MakeArray();
         for (const auto& [k, v] : data->tags) {
           if (k != "mlflow.log-model.history") continue;
           if (std::optional<Json> h = Json::Parse(v); h && h->Items()) history = *h;
         }
         history.Push(*parsed);
         Status s = app::LogToRun(c.tracking, *run, {}, {}, {{"mlflow.log-model.history", history.Dump(-1)}});
         if (!s.ok()) return s;
         return Empty();
       }},
      {"GET", path("/metrics/get-history"), "MLflow: every value of a run's metric", true,
       {{"run_id", "string", "the run"}, {"metric_key", "string", "the metric"}}, nullptr,
       Type("object"), 200,
       [&parts](Call& c) -> Result<Json> {
         Result<Fields> f = Fields::Of(c.request);
         if (!f.ok()) return f.status();
         Result<app::TrackedRun> run = RunOf(c, parts, *f);
         if (!run.ok()) return run.status();
         Result<std::string> key = f->Text("metric_key", true);
         if (!key.ok()) return key.status();
         Result<size_t> size = PageSize(*f, kMaxResults);
         if (!size.ok()) return size.status();
         Result<size_t> start = PageStart(*f);
         if (!start.ok()) return start.status();
         Result<app::TrackedData> data = app::DataOf(c.meta, *run);
         if (!data.ok()) return data.status();
         std::vector<app::TrackedMetric> values;
         for (const app::TrackedMetric& m : data->history) {
           if (m.key == *key) values.push_back(m);
         }
         Json list = Json::MakeArray();
         for (size_t k = *start; k < values.size() && k < *start + *size; ++k) list.Push(MetricJson(values[k]));
         Json out = Json::MakeObject().Set("metrics", std::move(list));
         if (*start + *size < values.size()) out.Set("next_page_token", std::to_string(*start + *size));
         return out;
       }},
  };
  // The `mlflow-artifacts` API, for runs made through the endpoint (a step's run writes its
  // artifacts itself: its artifact_uri is its attempt's outputs folder).
  Endpoint put{"PUT", std::string(kArtifacts) + "/{path...}", "MLflow: upload an artifact", true, {},
               Type("string"), Anything(), 200,
               [&parts](Call& c) -> Result<Json> {
                 Result<ArtifactPath> a = ResolveArtifact(c, parts, c.request.params.at("path"));
                 if (!a.ok()) return a.status();
                 Status s = app::CanLog(c.tracking, a->run);
                 if (s.ok()) s = MakeDirs(a->file.substr(0, a->file.rfind('/')));
                 if (s.ok()) s = WriteFileAtomic(a->file, c.request.body);
                 if (!s.ok()) return s;
                 return Empty();
               }};
  put.body_type = "application/octet-stream";
  put.mlflow = true;
  Endpoint get{"GET", std::string(kArtifacts) + "/{path...}", "MLflow: download an artifact", true};
  get.response_schema = Type("string");
  get.response_type = "application/octet-stream";
  get.respond = [&parts](Call& c) -> Result<Response> {
    Result<ArtifactPath> a = ResolveArtifact(c, parts, c.request.params.at("path"));
    if (!a.ok()) return a.status();
    if (StatPath(a->file) != PathKind::kFile) {
      return Status::NotFound(fmt::format("no artifact `{}`", c.request.params.at("path")));
    }
    Result<std::string> bytes = ReadFileCapped(a->file, size_t{1} << 30);
    if (!bytes.ok()) return bytes.status();
    Status logged = app::Audit(c.meta, c.caller, c.tracking.project, "mlflow.artifact.download",
                               a->run.record.id, c.request.params.at("path"), c.now_ns);
    if (!logged.ok()) return logged;
    Response r;
    r.content_type = "application/octet-stream";
    r.body = std::move(*bytes);
    r.headers.emplace_back("Content-Disposition", "attachment");
    return r;
  };
  get.mlflow = true;
  Endpoint list{"GET", kArtifacts, "MLflow: list the artifacts under a path", true,
                {{"path", "string", "EXPERIMENT/RUN/artifacts[/...]"}}, nullptr,
                Obj({{"files", ArrayOf(Type("object"))}}), 200,
                [&parts](Call& c) -> Result<Json> {
                  Result<ArtifactPath> a = ResolveArtifact(c, parts, c.request.Query("path").value_or(""));
                  if (!a.ok()) return a.status();
                  Json files = Json::MakeArray();
                  std::error_code ec;
                  std::vector<std::filesystem::directory_entry> entries;
                  for (const auto& e : std::filesystem::directory_iterator(a->file, ec)) entries.push_back(e);
                  std::sort(entries.begin(), entries.end());
                  for (const auto& e : entries) {
                    bool dir = e.is_directory(ec);
                    Json f = Json::MakeObject().Set("path", e.path().filename().string()).Set("is_dir", dir);
                    if (!dir) f.Set("file_size", static_cast<int64_t>(e.file_size(ec)));
                    files.Push(std::move(f));
                  }
                  return Json::MakeObject().Set("files", std::move(files));
                }};
  list.mlflow = true;
  for (Endpoint& e : out) e.mlflow = true;
  out.push_back(std::move(put));
  out.push_back(std::move(get));
  out.push_back(std::move(list));
  return out;
}

}  // namespace weft::server
