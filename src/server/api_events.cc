// The API's live events: server-sent events (text/event-stream) of runs starting and finishing,
// steps changing status, progress and log lines, for one run or a project, resumable from
// `Last-Event-ID` while the server keeps the events after it.
#include <charconv>
#include <chrono>

#include <fmt/format.h>

#include "server/api_internal.h"

namespace weft::server {
namespace {

std::string Frame(int64_t id, const std::string& kind, const Json& data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, kind, data.Dump(-1));
}

Result<Response> Events(Call& c, const ApiParts& parts, const ApiOptions& options) {
  const Request& r = c.request;
  std::string run_id;
  std::string project;  // empty: every project (admins)
  if (std::optional<std::string> ref = r.Query("run"); ref && !ref->empty()) {
    Result<meta::RunRecord> run = VisibleRun(c, *ref);
    if (!run.ok()) return run.status();
    run_id = run->id;
  } else {
    Result<std::string> p = ListedProject(c);
    if (!p.ok()) return p.status();
    project = *p;
  }
  std::string logs_text = r.Query("logs").value_or(run_id.empty() ? "false" : "true");
  if (logs_text != "true" && logs_text != "false") {
    return Status::Invalid("`logs` is true or false");
  }
  // Where to start: after the event the client saw last (a reconnecting EventSource sends it),
  // else from now.
  int64_t after = parts.events.last();
  std::optional<std::string> last_id = r.Header("Last-Event-ID");
  if (!last_id) last_id = r.Query("last_event_id");
  if (last_id && !last_id->empty()) {
    auto [end, ec] = std::from_chars(last_id->data(), last_id->data() + last_id->size(), after);
    if (ec != std::errc() || end != last_id->data() + last_id->size() || after < 0) {
      return Status::Invalid("`Last-Event-ID` is an event's id, a number");
    }
  }
  Result<std::unique_ptr<app::EventLog::Reader>> reader =
      parts.events.Open(c.caller.token, logs_text == "true");
  if (!reader.ok()) {
    if (reader.status().code() != Code::kBusy) return reader.status();
    Response busy = ErrorResponse(reader.status());
    busy.status = 429;
    busy.headers.emplace_back("Retry-After", "10");
    return busy;
  }

  Response out;
  out.content_type = "text/event-stream";
  out.headers.emplace_back("X-Accel-Buffering", "no");
  std::shared_ptr<app::EventLog::Reader> open = std::move(*reader);
  int64_t heartbeat_ms = options.heartbeat_ms;
  out.stream = [open, run_id, project, after, heartbeat_ms](const StreamWrite& write) {
    auto keep = [&](const app::Event& e) {
      return run_id.empty() ? project.empty() || e.project == project : e.run == run_id;
    };
    if (!write("retry: 3000\n\n")) return;
    using Clock = std::chrono::steady_clock;
    Clock::time_point wrote = Clock::now();
    int64_t at = after;
    while (true) {
      app::EventLog::Reader::Batch b = open->Read(at, keep, heartbeat_ms);
      if (b.closed) {
        write(fmt::format("event: end\ndata: {}\n\n",
                          Json::MakeObject().Set("reason", "the server is stopping").Dump(-1)));
        return;
      }
      std::string text;
      if (b.missed) {
        text += Frame(
            b.last, "reset",
            Json::MakeObject().Set("reason",
                                   "events were missed (more came than the server keeps): read "
                                   "the state again"));
      }
      for (const app::Event& e : b.events) text += Frame(e.seq, e.kind, e.data);
      at = b.last;
      if (text.empty()) {
        if (Clock::now() - wrote < std::chrono::milliseconds(heartbeat_ms)) continue;
        text = ": heartbeat\n\n";
      }
      if (!write(text)) return;
      wrote = Clock::now();
    }
  };
  return out;
}

}  // namespace

std::vector<Endpoint> EventEndpoints(const ApiParts& parts, const ApiOptions& options) {
  return {Endpoint{
      .method = "GET",
      .path = "/events",
      .summary =
          "Live events (server-sent events): run.started, step, warning, progress, log and "
          "run.finished, "
          "each with an id; a comment line every 15 s when nothing else came; `reset` when "
          "events were missed, `end` when the server stops. Resume with `Last-Event-ID`: the "
          "server keeps its latest 10,000 events. Read it with the Authorization header "
          "(fetch), never a token in the URL",
      .query = {{"run", "string", "one run's events (default: the project's)"},
                {"project", "string", "one project's (admins; others get their own)"},
                {"logs", "string", "true: log lines too (default: true for one run, else false)"},
                {"last_event_id", "string", "as the Last-Event-ID header"}},
      .response_schema = Str(),
      .respond = [&parts, &options](Call& c) { return Events(c, parts, options); },
      .response_type = "text/event-stream"}};
}

}  // namespace weft::server
