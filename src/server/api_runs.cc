// The API's runs: listing, submitting, cancelling, showing.
#include <algorithm>

#include <fmt/format.h>

#include "app/identity.h"
#include "app/pipelines.h"
#include "app/upload.h"
#include "app/views.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

std::vector<std::pair<std::string, Json>> RunSummaryMembers() {
  return {{"id", Str()},         {"name", Str()},        {"experiment", Str()},
          {"project", Str()},    {"status", Str()},      {"exit_code", Int()},
          {"created_ns", Int()}, {"finished_ns", Int()}, {"pipeline_file", Str()},
          {"tags", StringMap()}};
}

Json RunDetailSchema() {
  Json job = Obj({{"job", Int()},
                  {"job_id", Str()},
                  {"status", Str()},
                  {"attempt", Int()},
                  {"started_ns", Int()},
                  {"finished_ns", Int()},
                  {"exit_code", Int()},
                  {"message", Str()}});
  std::vector<std::pair<std::string, Json>> members = {
      {"name", Str()},
      {"status", Str()},
      {"component", Str()},
      {"fingerprint", Str()},
      {"reused_from", Str()},
      {"started_ns", Int()},
      {"finished_ns", Int()},
      {"exit_code", Int()},
      {"message", Str()},
      {"waiting", Str()},
      {"target", Str()},
      {"job", Str()},
      {"inputs",
       ArrayOf(Obj({{"name", Str()}, {"kind", Str()}, {"value", Str()}, {"digest", Str()}}))},
      {"outputs", ArrayOf(Obj({{"name", Str()}, {"digest", Str()}}))},
      {"jobs", ArrayOf(std::move(job))}};
  std::vector<std::string> required;
  for (const auto& [name, schema] : members) required.push_back(name);
  // A Slurm job's own report, when the step ran as one.
  members.emplace_back("slurm", Obj({{"job_id", Str()},
                                     {"node", Str()},
                                     {"state", Str()},
                                     {"elapsed_s", Num()},
                                     {"max_rss_mb", Int()}}));
  Json step = Body(std::move(members), std::move(required));
  std::vector<std::pair<std::string, Json>> run = RunSummaryMembers();
  run.emplace_back("steps", ArrayOf(std::move(step)));
  run.emplace_back("warnings", ArrayOf(Str()));
  return Obj(std::move(run));
}

}  // namespace

Json RunSummarySchema() {
  return Obj(RunSummaryMembers());
}

Json StartedRunSchema() {
  return Body({{"run", RunSummarySchema()},
               {"events_after", Type("integer")}},  // (absent in a replayed answer)
              {"run"});
}

engine::RunOptions RunOptionsFor(const Call& c, const std::string& project,
                                 const app::PipelineSource& source, engine::RunOptions options) {
  options.workdir = source.base_dir;
  options.sets = source.sets;
  options.project = project;
  options.user = c.caller.token;
  options.served = true;  // (steps never see the server's own secrets)
  return options;
}

Result<Response> StartRun(Call& c, const ApiParts& parts, const std::string& project,
                          const std::string& what,
                          const std::function<Result<meta::RunRecord>()>& start) {
  auto answer = [](int status, const meta::RunRecord& run) {
    Response r;
    r.status = status;
    r.body = Json::MakeObject().Set("run", app::RunSummaryJson(run)).Dump(-1);
    return r;
  };
  // Events after this one are the new run's (warnings and its first steps come as it starts):
  // where a client that follows it reads from.
  int64_t events_after = parts.events.last();
  std::optional<std::string> key = c.request.Header("Idempotency-Key");
  std::string request;
  if (key) {
    // The request as sent: what it asks for, whatever the order of its headers.
    std::string query;
    for (const auto& [k, v] : c.request.query) query += k + "=" + v + "&";
    request = ToHex(Sha256Of(fmt::format("{} {}?{}\n{}", c.request.method, c.request.path, query,
                                         ToHex(Sha256Of(c.request.body)))));
    Result<std::optional<std::string>> earlier =
        app::ClaimIdempotencyKey(c.meta, project, *key, request, c.now_ns);
    if (!earlier.ok()) return earlier.status();
    if (*earlier) {
      Result<std::optional<meta::RunRecord>> run = c.meta.FindRun(**earlier);
      if (!run.ok()) return run.status();
      if (!*run) return Status::NotFound(fmt::format("no run `{}`", **earlier));
      Response r = answer(200, **run);
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
  }
  Result<meta::RunRecord> run = start();
  if (!run.ok()) {
    if (key) {
      Status released = app::ReleaseIdempotencyKey(c.meta, project, *key);
      if (!released.ok()) return released;
    }
    return run.status();
  }
  if (key) {
    Status s = app::CompleteIdempotencyKey(c.meta, project, *key, request, run->id, c.now_ns);
    if (!s.ok()) return s;
  }
  Status logged = app::Audit(c.meta, c.caller, project, "run.submit", run->id, what, c.now_ns);
  if (!logged.ok()) return logged;
  Response r;
  r.status = 201;
  r.body = Json::MakeObject()
               .Set("run", app::RunSummaryJson(*run))
               .Set("events_after", events_after)
               .Dump(-1);
  return r;
}

// What POST /runs (and /runs/plan) is asked to run: the pipeline `file` of the request's archive
// or upload, with the options and tags of its query.
struct Submission {
  app::PipelineSource source;
  engine::RunOptions options;
  std::vector<std::string> tags;
};
Result<Submission> SubmissionOf(Call& c, const ApiParts& parts, const std::string& project,
                                const std::string& file) {
  const Request& r = c.request;
  Result<std::string> dir = UploadedFolder(c, parts, project);
  if (!dir.ok()) return dir.status();
  Submission out;
  out.source = {*dir + "/" + file, {}, *dir, {*dir}};
  if (!IsWithin(out.source.file, *dir) || StatPath(out.source.file) != PathKind::kFile) {
    return Status::Invalid(fmt::format("the archive holds no file `{}`", file));
  }
  for (auto [it, end] = r.query.equal_range("set"); it != end; ++it) {
    out.source.sets.push_back(it->second);
  }
  for (auto [it, end] = r.query.equal_range("tag"); it != end; ++it) out.tags.push_back(it->second);
  engine::RunOptions options;
  options.experiment = r.Query("experiment").value_or("");
  options.default_experiment = r.Query("default_experiment").value_or("");
  options.force = r.Query("force").value_or("") == "true";
  for (auto [it, end] = r.query.equal_range("force_step"); it != end; ++it) {
    options.force_steps.insert(it->second);
  }
  options.only = r.Query("only").value_or("");
  options.until = r.Query("until").value_or("");
  out.options = RunOptionsFor(c, project, out.source, options);
  return out;
}

std::vector<Endpoint> RunEndpoints(const ApiParts& parts) {
  const std::vector<QueryParam> submit_query = {
      {"file", "string", "the pipeline file inside the archive (required)"},
      {"upload", "string", "instead of an archive: an upload made by POST /uploads"},
      {"experiment", "string", "the run's experiment (default: the pipeline's)"},
      {"tag", "string", "KEY=VALUE, repeatable"},
      {"set", "string", "inputs.NAME=VALUE, settings.NAME=VALUE or outputs.NAME=PATH; repeatable"},
      {"default_experiment", "string",
       "the experiment when neither `experiment` nor the pipeline names one (`weft run "
       "--server`: the folder it was run from)"},
      {"force", "boolean", "`true`: reuse nothing (`weft run --force`)"},
      {"force_step", "string", "run this step even if it could be reused; repeatable"},
      {"only", "string", "run only this step"},
      {"until", "string", "run this step and everything it needs"},
      {"project", "string", "the project to run in (admins; others run in their own)"}};
  const std::vector<QueryParam> run_filters = {
      {"project", "string", "only this project's runs (admins; others see their own project's)"},
      {"experiment", "string", "only runs of this experiment"},
      {"status", "string", "running, succeeded, failed, canceled or interrupted"},
      {"since", "string", "created on or after this date (YYYY-MM-DD, UTC)"},
      {"tag", "string", "KEY or KEY=VALUE"},
      {"q", "string", "runs whose id, name, experiment or tags contain this text"},
      {"pipeline", "string", "runs of this pipeline: by its name, or published under it"},
      {"limit", "integer", "at most this many (default 50, at most 1000)"},
      {"before", "integer", "the page after `next` of the previous page"},
  };
  return {
      {"GET", "/runs", "Runs, newest first, with the filters of `weft runs`, a page at a time",
       true, run_filters, nullptr,
       Obj({{"runs", ArrayOf(RunSummarySchema())}, {"next", Nullable("integer")}}), 200,
       [](Call& c) -> Result<Json> {
         const Request& r = c.request;
         Result<meta::RunFilter> f =
             app::ParseRunFilter(r.Query("experiment").value_or(""), r.Query("status").value_or(""),
                                 r.Query("since").value_or(""), r.Query("tag").value_or(""));
         if (!f.ok()) return f.status();
         Result<std::string> project = ListedProject(c);
         if (!project.ok()) return project.status();
         f->project = *project;
         f->search = r.Query("q").value_or("");
         f->pipeline = r.Query("pipeline").value_or("");
         Result<int64_t> limit = IntQuery(r, "limit", kDefaultPage, 1, kMaxPage);
         if (!limit.ok()) return limit.status();
         Result<int64_t> before = IntQuery(r, "before", 0, 0, INT64_MAX);
         if (!before.ok()) return before.status();
         f->before_seq = *before;
         Result<std::vector<meta::RunRecord>> runs = c.meta.Runs(*limit, *f);
         if (!runs.ok()) return runs.status();
         Json arr = Json::MakeArray();
         for (const auto& run : *runs) arr.Push(app::RunSummaryJson(run));
         Json next = static_cast<int64_t>(runs->size()) == *limit ? Json(runs->back().seq) : Json();
         return Json::MakeObject().Set("runs", std::move(arr)).Set("next", std::move(next));
       }},
      Endpoint{
          .method = "POST",
          .path = "/runs",
          .summary =
              "Submit a pipeline: the body is a tar archive (plain, gzip, xz or zstd) of the files "
              "it needs; `file` names the pipeline in it. It reads only those files, registered "
              "assets and its project's datastores (contributors). With an `Idempotency-Key` "
              "header, the same request sent again starts no second run",
          .query = submit_query,
          .request_schema = Type("string").Set("format", "binary"),
          .response_schema = StartedRunSchema(),
          .success = 201,
          .body_type = "application/x-tar",
          .respond = [&parts](Call& c) -> Result<Response> {
            const Request& r = c.request;
            Result<std::string> project = WritableProject(c, "submitting runs");
            if (!project.ok()) return project.status();
            std::optional<std::string> file = r.Query("file");
            if (!file || file->empty()) {
              return Status::Invalid("`file` names the pipeline in the archive");
            }
            return StartRun(c, parts, *project, *file, [&]() -> Result<meta::RunRecord> {
              Result<Submission> sub = SubmissionOf(c, parts, *project, *file);
              if (!sub.ok()) return sub.status();
              return parts.host.Submit(sub->source, sub->options, sub->tags);
            });
          },
          .also_success = 200},
      Endpoint{
          .method = "POST",
          .path = "/runs/plan",
          .summary = "What POST /runs would do with the same request, as `weft run --dry-run` "
                     "says it: each step reused or run, and why, and the pipeline's warnings; "
                     "nothing runs (contributors)",
          .query = submit_query,
          .request_schema = Type("string").Set("format", "binary"),
          .response_schema =
              Obj({{"steps", ArrayOf(Obj({{"step", Str()}, {"reuse", Type("boolean")}, {"why", Str()}}))},
                   {"warnings", ArrayOf(Str())}}),
          .handle = [&parts](Call& c) -> Result<Json> {
            Result<std::string> project = WritableProject(c, "planning runs");
            if (!project.ok()) return project.status();
            std::optional<std::string> file = c.request.Query("file");
            if (!file || file->empty()) {
              return Status::Invalid("`file` names the pipeline in the archive");
            }
            Result<Submission> sub = SubmissionOf(c, parts, *project, *file);
            if (!sub.ok()) return sub.status();
            Result<app::Host::Plan> plan = parts.host.DryRun(sub->source, sub->options, sub->tags);
            if (!plan.ok()) return plan.status();
            Json steps = Json::MakeArray();
            for (const engine::PlannedStep& p : plan->steps) {
              steps.Push(Json::MakeObject().Set("step", p.step).Set("reuse", p.reuse).Set("why", p.why));
            }
            Json warnings = Json::MakeArray();
            for (const std::string& w : plan->warnings) warnings.Push(w);
            return Json::MakeObject().Set("steps", std::move(steps)).Set("warnings", std::move(warnings));
          },
          .body_type = "application/x-tar"},
      Endpoint{.method = "POST",
               .path = "/runs/{run}/resume",
               .summary =
                   "Resume a run that failed, was canceled or was interrupted, as `weft resume` "
                   "does: a new run of exactly what it was submitted with, reusing what "
                   "succeeded (contributors; runs this server ran)",
               .response_schema = StartedRunSchema(),
               .success = 201,
               .handle = [&parts](Call& c) -> Result<Json> {
                 Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
                 if (!run.ok()) return run.status();
                 if (!c.caller.Can(app::Role::kContributor, run->project)) {
                   return Status::Denied("resuming runs needs a contributor's token");
                 }
                 if (run->project == "local") {
                   return Status::Invalid(fmt::format(
                       "run {} was run by `weft run` on this workspace: `weft resume {}` there",
                       run->id, run->id));
                 }
                 int64_t events_after = parts.events.last();
                 Result<meta::RunRecord> resumed = parts.host.Resume(run->id);
                 if (!resumed.ok()) return resumed.status();
                 Status logged = app::Audit(c.meta, c.caller, run->project, "run.resume",
                                            resumed->id, run->id, c.now_ns);
                 if (!logged.ok()) return logged;
                 return Json::MakeObject()
                     .Set("run", app::RunSummaryJson(*resumed))
                     .Set("events_after", events_after);
               }},
      {"POST",
       "/runs/{run}/cancel",
       "Cancel a running run: its steps get their grace period, unless `now` (contributors)",
       true,
       {{"now", "boolean", "`true`: stop its steps at once, with no grace period (a second "
                           "Ctrl-C)"}},
       nullptr,
       Obj({{"canceled", Str()}}),
       200,
       [&parts](Call& c) -> Result<Json> {
         Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
         if (!run.ok()) return run.status();
         if (!c.caller.Can(app::Role::kContributor, run->project)) {
           return Status::Denied("canceling runs needs a contributor's token");
         }
         std::string now = c.request.Query("now").value_or("false");
         if (now != "true" && now != "false") return Status::Invalid("`now` is true or false");
         Status s = parts.host.Cancel(run->id, now == "true");
         if (s.code() == Code::kNotFound) {
           return Status::Invalid(
               fmt::format("run {} is not running (it {})", run->id, meta::Name(run->status)));
         }
         if (!s.ok()) return s;
         Status logged =
             app::Audit(c.meta, c.caller, run->project, "run.cancel", run->id, "", c.now_ns);
         if (!logged.ok()) return logged;
         return Json::MakeObject().Set("canceled", run->id);
       }},
      {"GET",
       "/runs/{run}",
       "A run and its steps (`last`: the newest the token sees)",
       true,
       {},
       nullptr,
       RunDetailSchema(),
       200,
       [&parts](Call& c) -> Result<Json> {
         Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
         if (!run.ok()) return run.status();
         Result<Json> detail = app::RunDetailJson(c.meta, *run, &parts.ws);
         if (!detail.ok() || run->status != meta::RunStatus::kRunning) return detail;
         // A step waiting for compute says why (`weft show`'s note); only pending steps can, and
         // only then is the engine's thread asked.
         const Json::Array& listed = *detail->Find("steps")->Items();
         if (std::none_of(listed.begin(), listed.end(), [](const Json& s) {
               const std::string* status = s.Find("status")->String();
               return status && *status == "pending";
             })) {
           return detail;
         }
         std::map<std::string, std::string> waiting = parts.host.Waiting(run->id);
         if (waiting.empty()) return detail;
         Json steps = Json::MakeArray();
         for (const Json& s : *detail->Find("steps")->Items()) {
           Json step = s;
           const std::string* name = step.Find("name")->String();
           auto it = name ? waiting.find(*name) : waiting.end();
           if (it != waiting.end()) step.Set("waiting", it->second);
           steps.Push(std::move(step));
         }
         detail->Set("steps", std::move(steps));
         return detail;
       }}};
}

}  // namespace weft::server
