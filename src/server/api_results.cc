// The API's reads of what runs did and made: logs (ranges and search), metrics (a run's, and
// histories across runs), explanations, comparisons and downloads of outputs.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "app/identity.h"
#include "app/runs.h"
#include "app/session.h"
#include "app/views.h"
#include "assets/registry.h"
#include "base/archive.h"
#include "base/fs.h"
#include "engine/resume.h"
#include "graph/render.h"
#include "queries/compare.h"
#include "queries/explain.h"
#include "server/api_internal.h"

namespace weft::server {
namespace {

constexpr int64_t kLogChunk = 1 << 20;
constexpr int64_t kMaxLogChunk = 16 << 20;
constexpr int64_t kMaxRunsAtOnce = 100;
constexpr size_t kMaxLine = 1 << 20;  // of a line searched

// The query parameter `name`, required.
Result<std::string> Required(const Request& r, const char* name) {
  std::optional<std::string> v = r.Query(name);
  if (!v || v->empty()) return Status::Invalid(fmt::format("`{}` is required", name));
  return *v;
}

Result<bool> BoolQuery(const Request& r, const char* name) {
  std::string v = r.Query(name).value_or("false");
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return Status::Invalid(fmt::format("`{}` is true or false", name));
}

// Every value of a repeated query parameter (`?run=a&run=b`, or `?run=a,b`).
std::vector<std::string> Listed(const Request& r, const char* name) {
  std::vector<std::string> out;
  for (auto [it, end] = r.query.equal_range(name); it != end; ++it) {
    std::string_view v = it->second;
    while (!v.empty()) {
      size_t comma = v.find(',');
      if (comma != 0) out.emplace_back(v.substr(0, comma));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

// `text` without a UTF-8 sequence cut short at its end (it is read again from there next time).
size_t WholeCharacters(const std::string& text) {
  size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

// A name fit for a file name in a Content-Disposition header.
std::string FileNamePart(std::string_view s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return out;
}

struct FoundLog {
  app::StepLog log;
  size_t at = 0;  // the path of the job asked for
};
Result<FoundLog> FindJobLog(Call& c, const ApiParts& parts, const meta::RunRecord& run,
                            const std::string& step) {
  Result<app::StepLog> log = app::FindLog(c.meta, parts.ws, run, step);
  if (!log.ok()) return log.status();
  if (log->paths.empty()) return Status::NotFound(fmt::format("step {} has no log yet", step));
  Result<int64_t> job = IntQuery(c.request, "job", log->jobs.front(), 0, INT64_MAX);
  if (!job.ok()) return job.status();
  auto it = std::find(log->jobs.begin(), log->jobs.end(), *job);
  if (it == log->jobs.end()) {
    return Status::NotFound(fmt::format("step {} has no job {} that ran", step, *job));
  }
  size_t at = static_cast<size_t>(it - log->jobs.begin());
  return FoundLog{std::move(*log), at};
}

Json JobsJson(const app::StepLog& log) {
  Json jobs = Json::MakeArray();
  for (int64_t j : log.jobs) jobs.Push(j);
  return jobs;
}

Result<Json> LogRange(Call& c, const ApiParts& parts) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<std::string> step = Required(c.request, "step");
  if (!step.ok()) return step.status();
  Result<FoundLog> found = FindJobLog(c, parts, *run, *step);
  if (!found.ok()) return found.status();
  Result<int64_t> offset = IntQuery(c.request, "offset", 0, 0, INT64_MAX);
  if (!offset.ok()) return offset.status();
  Result<int64_t> limit = IntQuery(c.request, "limit", kLogChunk, 1, kMaxLogChunk);
  if (!limit.ok()) return limit.status();
  const std::string& path = found->log.paths[found->at];
  std::string text;
  Status s = ReadFileFrom(path, static_cast<uint64_t>(*offset), static_cast<size_t>(*limit), &text);
  if (!s.ok()) return s;
  if (static_cast<int64_t>(text.size()) == *limit) {
    size_t whole = WholeCharacters(text);
    if (whole > 0) text.resize(whole);  // (a range shorter than one character: as it is)
  }
  struct stat st {};
  int64_t size = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
  int64_t next = *offset + static_cast<int64_t>(text.size());
  return Json::MakeObject()
      .Set("step", *step)
      .Set("job", found->log.jobs[found->at])
      .Set("jobs", JobsJson(found->log))
      .Set("offset", *offset)
      .Set("next", next)
      .Set("size", size)
      .Set("running", found->log.step.status == meta::StepStatus::kRunning)
      .Set("reused_from", found->log.step.status == meta::StepStatus::kReused
                              ? found->log.step.reused_run
                              : std::string())
      .Set("text", std::move(text));
}

Result<Json> LogSearch(Call& c, const ApiParts& parts) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<std::string> step = Required(c.request, "step");
  if (!step.ok()) return step.status();
  Result<std::string> q = Required(c.request, "q");
  if (!q.ok()) return q.status();
  Result<int64_t> limit = IntQuery(c.request, "limit", 100, 1, 10'000);
  if (!limit.ok()) return limit.status();
  Result<app::StepLog> log = app::FindLog(c.meta, parts.ws, *run, *step);
  if (!log.ok()) return log.status();
  Json matches = Json::MakeArray();
  int64_t found = 0;
  bool more = false;
  for (size_t k = 0; k < log->paths.size() && !more; ++k) {
    std::string chunk, line;
    int64_t number = 0;
    auto consider = [&] {
      ++number;
      if (line.find(*q) == std::string::npos) return;
      if (found == *limit) {
        more = true;
        return;
      }
      ++found;
      matches.Push(
          Json::MakeObject().Set("job", log->jobs[k]).Set("line", number).Set("text", line));
    };
    for (uint64_t at = 0;; at += chunk.size()) {
      Status s = ReadFileFrom(log->paths[k], at, kLogChunk, &chunk);
      if (!s.ok()) return s;
      if (chunk.empty()) break;
      for (char ch : chunk) {
        if (ch != '\n') {
          if (line.size() < kMaxLine) line += ch;  // (the rest of a longer line is not searched)
          continue;
        }
        consider();
        line.clear();
        if (more) break;
      }
      if (more) break;
    }
    if (!line.empty() && !more) consider();
  }
  return Json::MakeObject().Set("step", *step).Set("matches", std::move(matches)).Set("more", more);
}

Result<Json> RunMetrics(Call& c) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<bool> history = BoolQuery(c.request, "history");
  if (!history.ok()) return history.status();
  Result<std::vector<app::StepMetrics>> steps =
      app::Metrics(c.meta, *run, c.request.Query("step").value_or(""));
  if (!steps.ok()) return steps.status();
  return Json::MakeObject().Set("run", run->id).Set("steps", app::MetricsJson(*steps, *history));
}

// Metric histories of several runs at once (for plotting them together).
Result<Json> MetricHistories(Call& c) {
  std::vector<std::string> refs = Listed(c.request, "run");
  if (refs.empty())
    return Status::Invalid("`run` names the runs (repeat it, or separate by commas)");
  if (static_cast<int64_t>(refs.size()) > kMaxRunsAtOnce) {
    return Status::Invalid(fmt::format("at most {} runs at once", kMaxRunsAtOnce));
  }
  std::vector<std::string> names = Listed(c.request, "name");
  std::string only_step = c.request.Query("step").value_or("");
  bool by_job = c.request.Query("jobs").value_or("") == "true";
  Json series = Json::MakeArray();
  for (const std::string& ref : refs) {
    Result<meta::RunRecord> run = VisibleRun(c, ref);
    if (!run.ok()) return run.status();
    Result<std::vector<app::StepMetrics>> steps = app::Metrics(c.meta, *run, "");
    if (!steps.ok()) return steps.status();
    for (const app::StepMetrics& sm : *steps) {
      if (!only_step.empty() && sm.step.name != only_step) continue;
      // The step's metrics as one set, or each job's (a sweep's trials, a parallel step's workers).
      std::vector<std::pair<int64_t, std::vector<meta::MetricRecord>>> sets;
      if (by_job && sm.step.jobs > 1) {
        auto [src_run, src_idx] = sm.step.ResultAttempt();
        for (int64_t job = 0; job < sm.step.jobs; ++job) {
          Result<std::vector<meta::MetricRecord>> ms = c.meta.Metrics(src_run, src_idx, job);
          if (!ms.ok()) return ms.status();
          if (!ms->empty()) sets.emplace_back(job, std::move(*ms));
        }
      } else {
        sets.emplace_back(-1, sm.metrics);
      }
      for (const auto& [job, metrics] : sets) {
        // One series per metric name, in the order first logged.
        std::vector<std::pair<std::string, Json>> by_name;
        for (const meta::MetricRecord& m : metrics) {
          if (!names.empty() && std::find(names.begin(), names.end(), m.name) == names.end())
            continue;
          auto it = std::find_if(by_name.begin(), by_name.end(),
                                 [&](const auto& p) { return p.first == m.name; });
          if (it == by_name.end()) {
            by_name.emplace_back(m.name, Json::MakeArray());
            it = by_name.end() - 1;
          }
          Json point = Json::MakeObject().Set("value", m.value).Set("timestamp", m.timestamp_ms);
          if (m.step >= 0) point.Set("step", m.step);
          it->second.Push(std::move(point));
        }
        for (auto& [name, points] : by_name) {
          Json one = Json::MakeObject().Set("run", run->id).Set("step", sm.step.name);
          if (job >= 0) one.Set("job", job);
          series.Push(one.Set("name", name).Set("points", std::move(points)));
        }
      }
    }
  }
  return Json::MakeObject().Set("series", std::move(series));
}

Result<Json> ExplainStep(Call& c, const ApiParts& parts) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<std::string> step = Required(c.request, "step");
  if (!step.ok()) return step.status();
  Result<std::vector<std::string>> lines = queries::Explain(c.meta, parts.store, *run, *step);
  if (!lines.ok()) return lines.status();
  return app::ExplainJson(run->id, *step, *lines);
}

Result<Json> Compare(Call& c) {
  std::vector<std::string> refs = Listed(c.request, "run");
  std::string jobs_of = c.request.Query("jobs").value_or("");
  if (jobs_of.empty() ? refs.size() < 2 : refs.size() != 1) {
    return Status::Invalid(
        "compare two or more runs (`run`, repeated), or one run's jobs (`jobs`)");
  }
  if (static_cast<int64_t>(refs.size()) > kMaxRunsAtOnce) {
    return Status::Invalid(fmt::format("at most {} runs at once", kMaxRunsAtOnce));
  }
  std::vector<meta::RunRecord> runs;
  for (const std::string& ref : refs) {
    Result<meta::RunRecord> run = VisibleRun(c, ref);
    if (!run.ok()) return run.status();
    runs.push_back(*run);
  }
  std::vector<std::string> columns;
  Result<std::vector<queries::CompareRow>> rows = std::vector<queries::CompareRow>{};
  if (jobs_of.empty()) {
    rows = queries::CompareRuns(c.meta, runs);
    for (const meta::RunRecord& r : runs) columns.push_back(r.id);
  } else {
    size_t jobs = 0;
    rows = queries::CompareJobs(c.meta, runs[0], jobs_of, &jobs);
    for (size_t k = 0; k < jobs; ++k) columns.push_back(fmt::format("job {}", k));
  }
  if (!rows.ok()) return rows.status();
  Result<bool> diff = BoolQuery(c.request, "diff");
  if (!diff.ok()) return diff.status();
  if (*diff) std::erase_if(*rows, [](const queries::CompareRow& r) { return !r.differs(); });
  return app::CompareJson(jobs_of.empty() ? "runs" : "jobs", columns, *rows);
}

// An output as a tar stream, for a caller who may see its run (never by digest alone).
// An output of a run, found in the store: where it is delivered from, and its digest.
struct FoundOutput {
  meta::RunRecord run;
  std::string step, output, digest, path;
};

Result<FoundOutput> FindOutput(Call& c, const ApiParts& parts) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<std::string> output = Required(c.request, "output");
  if (!output.ok()) return output.status();
  size_t dot = output->rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == output->size()) {
    return Status::Invalid(fmt::format("`{}`: name an output as STEP.OUTPUT", *output));
  }
  std::string step_name = output->substr(0, dot), out_name = output->substr(dot + 1);
  Result<meta::StepRecord> step = app::FindStep(c.meta, *run, step_name);
  if (!step.ok()) return step.status();
  auto [src_run, src_idx] = step->ResultAttempt();
  Result<std::vector<meta::OutputRecord>> outs = c.meta.Outputs(src_run, src_idx);
  if (!outs.ok()) return outs.status();
  auto it = std::find_if(outs->begin(), outs->end(),
                         [&](const meta::OutputRecord& o) { return o.name == out_name; });
  if (it == outs->end()) {
    return Status::NotFound(fmt::format("step {} of run {} has no output `{}` (status {})",
                                        step_name, run->id, out_name, step->status));
  }
  std::optional<store::ObjectRef> ref = it->Ref();
  if (!ref || !parts.store.Has(ref->digest)) {
    return Status::NotFound(fmt::format(
        "{} of run {} is no longer in the store (removed by `weft gc`)", *output, run->id));
  }
  return FoundOutput{*run, step_name, out_name, it->digest, parts.store.DeliveryPath(*ref)};
}

// `path` inside an output (`a/b.txt`; empty: the output itself), refused when it could lead
// elsewhere: absolute, `..`, empty or dot parts, or through a symbolic link.
Result<std::string> PathInOutput(const FoundOutput& o, const std::string& path) {
  std::string at = o.path;
  if (path.empty()) return at;
  if (path.size() > 4096 || path.front() == '/' || path.find('\0') != std::string::npos) {
    return Status::Invalid(fmt::format("`{}`: a path inside the output, relative", path));
  }
  for (size_t b = 0; b <= path.size();) {
    size_t e = std::min(path.find('/', b), path.size());
    std::string part = path.substr(b, e - b);
    if (part.empty() || part == "." || part == "..") {
      return Status::Invalid(
          fmt::format("`{}`: a path inside the output, without `.`, `..` or empty parts", path));
    }
    at += "/" + part;
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0) {
      return Status::NotFound(
          fmt::format("{}.{} of run {} has no `{}`", o.step, o.output, o.run.id, path));
    }
    if (S_ISLNK(st.st_mode)) {
      return Status::Invalid(
          fmt::format("`{}` is a symbolic link: weft does not follow them", path));
    }
    b = e + 1;
  }
  return at;
}

Result<Response> Download(Call& c, const ApiParts& parts) {
  Result<FoundOutput> o = FindOutput(c, parts);
  if (!o.ok()) return o.status();
  std::string output = o->step + "." + o->output;
  Status logged =
      app::Audit(c.meta, c.caller, o->run.project, "download", o->run.id, output, c.now_ns);
  if (!logged.ok()) return logged;
  std::string path = o->path;
  std::string name = FileNamePart(output);
  Response r;
  r.content_type = "application/x-tar";
  r.headers.emplace_back("Content-Disposition",
                         fmt::format("attachment; filename=\"{}-{}.tar\"", o->run.id, name));
  r.headers.emplace_back("X-Weft-Digest", "sha256:" + o->digest);
  r.stream = [path, name](const StreamWrite& write) {
    Status s = WriteTar(path, name, write);
    if (!s.ok() && s.code() != Code::kCanceled) {
      fmt::print(stderr, "weft serve: error: a download of {} stopped: {}\n", path, s.message());
    }
  };
  return r;
}

// What a folder of an output holds (a file output: that file), a page of names at a time.
Result<Json> ListOutput(Call& c, const ApiParts& parts) {
  Result<FoundOutput> o = FindOutput(c, parts);
  if (!o.ok()) return o.status();
  std::string sub = c.request.Query("path").value_or("");
  Result<std::string> at = PathInOutput(*o, sub);
  if (!at.ok()) return at.status();
  constexpr size_t kMaxEntries = 10000;
  Json entries = Json::MakeArray();
  bool more = false;
  auto entry = [](const std::string& name, const struct stat& st) {
    const char* type = S_ISDIR(st.st_mode)   ? "folder"
                       : S_ISREG(st.st_mode) ? "file"
                       : S_ISLNK(st.st_mode) ? "link"
                                             : "other";
    return Json::MakeObject()
        .Set("name", name)
        .Set("type", type)
        .Set("size", static_cast<int64_t>(S_ISREG(st.st_mode) ? st.st_size : 0));
  };
  struct stat top {};
  if (::lstat(at->c_str(), &top) != 0) return Status::NotFound("the output is gone from the store");
  if (!S_ISDIR(top.st_mode)) {
    if (!sub.empty()) return Status::Invalid(fmt::format("`{}` is a file, not a folder", sub));
    entries.Push(entry(std::filesystem::path(*at).filename().string(), top));
  } else {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(*at, ec))
      names.push_back(e.path().filename().string());
    if (ec)
      return Status::Io(fmt::format("cannot list {}.{}: {}", o->step, o->output, ec.message()));
    std::sort(names.begin(), names.end());
    more = names.size() > kMaxEntries;
    if (more) names.resize(kMaxEntries);
    for (const std::string& n : names) {
      struct stat st {};
      if (::lstat((*at + "/" + n).c_str(), &st) == 0) entries.Push(entry(n, st));
    }
  }
  return Json::MakeObject()
      .Set("output", o->step + "." + o->output)
      .Set("digest", "sha256:" + o->digest)
      .Set("path", sub)
      .Set("folder", S_ISDIR(top.st_mode))
      .Set("entries", std::move(entries))
      .Set("more", more);
}

// One file of an output, as it is (recorded in the audit log like a download); always an
// attachment, never shown by the browser as a page.
Result<Response> OutputFile(Call& c, const ApiParts& parts) {
  Result<FoundOutput> o = FindOutput(c, parts);
  if (!o.ok()) return o.status();
  std::string sub = c.request.Query("path").value_or("");
  Result<std::string> at = PathInOutput(*o, sub);
  if (!at.ok()) return at.status();
  struct stat st {};
  if (::lstat(at->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Invalid(fmt::format("`{}` is not a file of {}.{}", sub, o->step, o->output));
  }
  Status logged = app::Audit(c.meta, c.caller, o->run.project, "download", o->run.id,
                             fmt::format("{}.{}/{}", o->step, o->output, sub), c.now_ns);
  if (!logged.ok()) return logged;
  Result<std::string> bytes = ReadFileCapped(*at, size_t{1} << 30);
  if (!bytes.ok()) return bytes.status();
  Response r;
  r.content_type = "application/octet-stream";
  r.body = std::move(*bytes);
  r.headers.emplace_back("Content-Disposition",
                         fmt::format("attachment; filename=\"{}\"",
                                     FileNamePart(std::filesystem::path(*at).filename().string())));
  return r;
}

// A run's graph for drawing (`weft graph --format json` of what it was submitted with) and its
// steps' statuses.
Result<Json> RunGraph(Call& c, const ApiParts& parts) {
  Result<meta::RunRecord> run = VisibleRun(c, c.request.params.at("run"));
  if (!run.ok()) return run.status();
  Result<engine::Submission> sub = engine::ParseSubmission(run->submission);
  if (!sub.ok()) return sub.status();
  store::Store store(parts.ws.store_dir(), parts.os);
  assets::WorkspaceRegistry registry(parts.ws, c.meta, store, run->project);
  std::unique_ptr<app::LoadedGraph> g;
  {
    // (A run submitted here is read through links made again under its folder: one at a time.)
    static std::mutex mirroring;
    std::lock_guard<std::mutex> lock(mirroring);
    Result<std::unique_ptr<app::LoadedGraph>> loaded =
        app::LoadSubmitted(parts.ws, store, registry, *run, *sub, parts.ws.dir);
    if (!loaded.ok()) return loaded.status();
    g = std::move(*loaded);
  }
  if (!g->ok()) {
    return Status::Invalid(fmt::format("run {}'s pipeline cannot be loaded again:\n{}", run->id,
                                       g->diags.FormatAll()));
  }
  Json graph = graph::GraphJson(g->graph);
  Result<std::vector<meta::StepRecord>> steps = c.meta.Steps(run->id);
  if (!steps.ok()) return steps.status();
  Json statuses = Json::MakeObject();
  for (const meta::StepRecord& s : *steps) statuses.Set(s.name, std::string(meta::Name(s.status)));
  return Json::MakeObject()
      .Set("run", run->id)
      .Set("status", std::string(meta::Name(run->status)))
      .Set("graph", std::move(graph))
      .Set("steps", std::move(statuses));
}

Json LogSchema() {
  return Obj({{"step", Str()},
              {"job", Int()},
              {"jobs", ArrayOf(Int())},
              {"offset", Int()},
              {"next", Int()},
              {"size", Int()},
              {"running", Bool()},
              {"reused_from", Str()},
              {"text", Str()}});
}

}  // namespace

std::vector<Endpoint> ResultEndpoints(const ApiParts& parts) {
  const QueryParam step = {"step", "string", "the step, by name (required)"};
  std::vector<Endpoint> out;
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/runs/{run}/log",
      .summary = "A range of a step's log (a reused step: the log of the run it reuses); read "
                 "from `next` for more, or follow the run's events for new lines",
      .query = {step,
                {"job", "integer", "the job, for steps with several (default: the first)"},
                {"offset", "integer", "the first byte (default 0)"},
                {"limit", "integer", "at most this many bytes (default 1 MiB, at most 16 MiB)"}},
      .response_schema = LogSchema(),
      .handle = [&parts](Call& c) { return LogRange(c, parts); }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/runs/{run}/log/search",
      .summary = "The lines of a step's logs (every job's) that contain a text",
      .query = {step,
                {"q", "string", "the text (required)"},
                {"limit", "integer", "at most this many lines (default 100, at most 10000)"}},
      .response_schema =
          Obj({{"step", Str()},
               {"matches", ArrayOf(Obj({{"job", Int()}, {"line", Int()}, {"text", Str()}}))},
               {"more", Bool()}}),
      .handle = [&parts](Call& c) { return LogSearch(c, parts); }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/runs/{run}/metrics",
      .summary = "What a run's steps logged: params, tags and metrics (summarised, or every value)",
      .query = {{"step", "string", "only this step"},
                {"history", "string", "true: every value, not the latest, min and max"}},
      .response_schema = Obj({{"run", Str()},
                              {"steps", ArrayOf(Obj({{"step", Str()},
                                                     {"status", Str()},
                                                     {"reused_from", Str()},
                                                     {"params", StringMap()},
                                                     {"tags", StringMap()},
                                                     {"metrics", ArrayOf(Type("object"))}}))}}),
      .handle = RunMetrics});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/metrics",
      .summary = "Metric histories of several runs at once, one series per run, step and metric "
                 "(with `jobs=true`, per job of steps that have several: a sweep's trials)",
      .query = {{"run", "string", "a run (repeat it, or separate by commas; at most 100)"},
                {"name", "string", "only these metrics (repeatable)"},
                {"step", "string", "only this step"},
                {"jobs", "string",
                 "true: a series per job of steps with several (`job` says which)"}},
      .response_schema = Obj({{"series", ArrayOf(Body({{"run", Str()},
                                                       {"step", Str()},
                                                       {"job", Int()},
                                                       {"name", Str()},
                                                       {"points", ArrayOf(Type("object"))}},
                                                      {"run", "step", "name", "points"}))}}),
      .handle = MetricHistories});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/runs/{run}/graph",
      .summary = "A run's graph, for drawing (nodes, edges and nested pipelines as groups, as "
                 "`weft graph --format json`), and each step's status by name",
      .response_schema = Obj(
          {{"run", Str()}, {"status", Str()}, {"graph", Type("object")}, {"steps", StringMap()}}),
      .handle = [&parts](Call& c) { return RunGraph(c, parts); }});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/runs/{run}/explain",
               .summary = "Why a step ran or was reused, field by field against its previous run",
               .query = {step},
               .response_schema = Obj({{"run", Str()}, {"step", Str()}, {"lines", ArrayOf(Str())}}),
               .handle = [&parts](Call& c) { return ExplainStep(c, parts); }});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/compare",
      .summary = "Runs side by side (or one run's jobs): inputs, params, tags, metrics, outputs",
      .query = {{"run", "string", "a run (repeat it: two or more; one with `jobs`)"},
                {"jobs", "string", "compare this step's jobs (a sweep's trials)"},
                {"diff", "string", "true: only the rows that differ"}},
      .response_schema = Type("object"),
      .handle = Compare});
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/lineage",
      .summary = "Where an object came from (upstream) or who used it (downstream), as `weft "
                 "lineage` gives it; only steps of runs the token sees",
      .query =
          {{"ref", "string",
            "sha256:DIGEST, RUN/STEP.OUTPUT, or a data or model asset NAME:VERSION (required)"},
           {"direction", "string", "upstream (default) or downstream"}},
      .response_schema = Obj(
          {{"ref", Str()}, {"described", Str()}, {"direction", Str()}, {"tree", Type("object")}}),
      .handle = [](Call& c) -> Result<Json> {
        std::string ref = c.request.Query("ref").value_or("");
        std::string direction = c.request.Query("direction").value_or("upstream");
        if (ref.empty()) return Status::Invalid("`ref` names what to trace");
        if (direction != "upstream" && direction != "downstream") {
          return Status::Invalid("`direction` is upstream or downstream");
        }
        return app::LineageJson(c.meta, c.caller, ref, direction == "downstream");
      }});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/runs/{run}/download",
               .summary = "An output of a run as a tar archive (recorded in the audit log)",
               .query = {{"output", "string", "STEP.OUTPUT (required)"}},
               .response_schema = Type("string").Set("format", "binary"),
               .respond = [&parts](Call& c) { return Download(c, parts); },
               .response_type = "application/x-tar"});
  const QueryParam in_output = {"path", "string",
                                "a path inside the output (default: the output itself)"};
  out.push_back(Endpoint{
      .method = "GET",
      .path = "/runs/{run}/files",
      .summary = "What an output holds: the entries of one of its folders (or the output's own "
                 "file), names sorted, at most 10,000",
      .query = {{"output", "string", "STEP.OUTPUT (required)"}, in_output},
      .response_schema =
          Obj({{"output", Str()},
               {"digest", Str()},
               {"path", Str()},
               {"folder", Bool()},
               {"entries", ArrayOf(Obj({{"name", Str()}, {"type", Str()}, {"size", Int()}}))},
               {"more", Bool()}}),
      .handle = [&parts](Call& c) { return ListOutput(c, parts); }});
  out.push_back(
      Endpoint{.method = "GET",
               .path = "/runs/{run}/file",
               .summary = "One file of an output, as an attachment (recorded in the audit log)",
               .query = {{"output", "string", "STEP.OUTPUT (required)"}, in_output},
               .response_schema = Type("string").Set("format", "binary"),
               .respond = [&parts](Call& c) { return OutputFile(c, parts); },
               .response_type = "application/octet-stream"});
  return out;
}

}  // namespace weft::server
