#include "app/schedules.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "app/calendar.h"
#include "app/pipelines.h"
#include "assets/datastore.h"
#include "assets/registry.h"
#include "base/fs.h"
#include "spec/yaml.h"
#include "store/store.h"

namespace weft::app {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr const char* kTriggerTime = "${{creation_context.trigger_time}}";

std::string IsoUtc(int64_t seconds) {
  using namespace std::chrono;
  sys_seconds s{std::chrono::seconds(seconds)};
  year_month_day ymd{floor<days>(s)};
  hh_mm_ss hms{s - floor<days>(s)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

// Parses the schedule file at `path`, naming it `shown` in messages.
Result<spec::Schedule> ParseFile(const std::string& path, const std::string& shown) {
  Result<std::string> text = ReadFileCapped(path, size_t{1} << 20);
  if (!text.ok()) return text.status();
  Diagnostics diags;
  std::unique_ptr<yaml::Document> doc = yaml::Parse(shown, *text, diags);
  std::optional<spec::Schedule> s;
  if (doc) {
    spec::Source src = spec::MakeSource(*doc, diags);
    s = spec::ParseSchedule(src, doc->root());
  }
  if (!s) return Status::Invalid(diags.FormatAll());
  return *s;
}

bool IsData(const spec::Schedule& s) {
  return s.trigger.kind == spec::ScheduleTrigger::Kind::kData;
}

// What a data trigger watches, now: the asset's newest version, or the folder's content digest.
Result<std::string> DataState(meta::MetaStore& meta, const ws::Workspace& ws,
                              const std::string& project, const spec::ScheduleTrigger& t) {
  if (!t.asset.empty()) {  // the project's own asset of that name, else the workspace's
    for (const std::string& p : {assets::AssetProject(project), std::string()}) {
      Result<std::optional<meta::AssetRecord>> a = meta.FindAsset("data", "", t.asset, "", p);
      if (!a.ok()) return a.status();
      if (*a) return p.empty() ? (*a)->version : p + ":" + (*a)->version;
    }
    return std::string();
  }
  spec::UriLocation where = assets::LocateData(ws, t.path);
  if (!where.error.empty()) return std::string();  // (nothing there yet)
  Result<store::ObjectRef> tree = store::HashPath(where.path, nullptr, &meta);
  if (!tree.ok()) return tree.status();
  return ToHex(tree->digest);
}

// A data trigger's watch: what it saw, since when, and what it last fired for.
struct Watch {
  std::string seen;
  int64_t since_ns = 0;
  std::string fired;

  static Watch Of(const std::string& json) {
    Watch w;
    std::optional<Json> j = Json::Parse(json);
    if (!j || !j->Members()) return w;
    if (const Json* v = j->Find("seen"); v && v->String()) w.seen = *v->String();
    if (const Json* v = j->Find("since_ns"); v && v->Int()) w.since_ns = *v->Int();
    if (const Json* v = j->Find("fired"); v && v->String()) w.fired = *v->String();
    return w;
  }
  std::string Dump() const {
    return Json::MakeObject()
        .Set("seen", seen)
        .Set("since_ns", since_ns)
        .Set("fired", fired)
        .Dump(-1);
  }
};

// Data triggers start from what is there now: only a change after it fires.
Result<std::string> Baseline(meta::MetaStore& meta, const ws::Workspace& ws,
                             const std::string& project, const spec::ScheduleTrigger& t,
                             int64_t now_ns) {
  Result<std::string> state = DataState(meta, ws, project, t);
  if (!state.ok()) return state.status();
  return Watch{*state, now_ns, *state}.Dump();
}

// When a calendar fires first, from `now_ns` (0 for data triggers); Invalid when never.
Result<int64_t> FirstFiring(const spec::Schedule& s, int64_t created_ns, int64_t now_ns,
                            bool at_once) {
  if (IsData(s)) return int64_t{0};
  Result<Calendar> cal = Calendar::For(s.trigger, created_ns / kSecond);
  if (!cal.ok()) return cal.status();
  std::optional<int64_t> first =
      at_once ? cal->First(now_ns / kSecond) : cal->Next(now_ns / kSecond);
  if (!first) {
    return Status::Invalid(
        fmt::format("schedule `{}` would never fire again (its end_time is past)", s.name));
  }
  return *first * kSecond;
}

}  // namespace

Result<spec::Schedule> ReadSchedule(const ws::Workspace& ws, const meta::ScheduleRecord& record) {
  return ParseFile(ws.dir + "/" + record.folder + "/" + record.file, record.file);
}

Result<meta::ScheduleRecord> FindSchedule(meta::MetaStore& meta, const std::string& project,
                                          const std::string& name) {
  Result<std::optional<meta::ScheduleRecord>> r = meta.FindSchedule(project, name);
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound(fmt::format("no schedule `{}`", name));
  return **r;
}

Result<ScheduledRun> RunOfSchedule(meta::MetaStore& meta, const ws::Workspace& ws,
                                   const meta::ScheduleRecord& record,
                                   const spec::Schedule& schedule, int64_t fire_ns) {
  const spec::ScheduleJob& job = schedule.create_job;
  std::string folder = ws.dir + "/" + record.folder;
  std::string trigger_time = IsoUtc(fire_ns / kSecond);
  std::vector<std::string> sets;
  for (const auto& [name, text] : job.inputs) {
    std::string value = text;
    for (size_t at = value.find(kTriggerTime); at != std::string::npos;
         at = value.find(kTriggerTime, at + trigger_time.size())) {
      value.replace(at, std::string_view(kTriggerTime).size(), trigger_time);
    }
    sets.push_back(fmt::format("inputs.{}={}", name, value));
  }
  for (const auto& [name, value] : job.settings) sets.push_back(fmt::format("settings.{}={}", name, value));
  for (const auto& [name, path] : job.outputs) sets.push_back(fmt::format("outputs.{}={}", name, path));
  ScheduledRun out;
  if (job.published) {
    Result<meta::PipelineVersionRecord> v =
        FindPipelineVersion(meta, record.project, job.published_name, job.published_version);
    if (!v.ok()) return v.status();
    out.source = VersionSource(ws, *v, std::move(sets));
    out.tags.push_back(fmt::format("weft.pipeline={}:{}", v->name, v->version));
    out.what = fmt::format("schedule {}: pipeline {}:{}", record.name, v->name, v->version);
  } else {
    std::string file = ResolvePath(DirName(folder + "/" + record.file), job.job);
    if (!IsWithin(file, folder) || StatPath(file) != PathKind::kFile) {
      return Status::Invalid(fmt::format(
          "{}: create_job `{}` is not a file uploaded with the schedule", record.file, job.job));
    }
    out.source = PipelineSource{file, std::move(sets), folder, {folder}};
    out.what = fmt::format("schedule {}: {}", record.name, file.substr(folder.size() + 1));
  }
  out.options.experiment = job.experiment;
  out.options.default_experiment = record.name;
  out.options.workdir = out.source.base_dir;
  out.options.sets = out.source.sets;
  out.options.project = record.project;
  out.options.user = "schedule:" + record.name;
  out.options.served = true;  // (a server runs it: steps never see its secrets)
  for (const auto& [k, v] : job.tags) out.tags.push_back(k + "=" + v);
  out.tags.push_back("weft.schedule=" + record.name);
  return out;
}

Result<meta::ScheduleRecord> CreateSchedule(meta::MetaStore& meta, const ws::Workspace& ws,
                                            const spec::Registry& registry, const Caller& caller,
                                            const ScheduleRequest& r, int64_t now_ns) {
  if (!caller.Can(Role::kOwner, r.project)) {
    return Status::Denied("managing schedules needs an owner's token");
  }
  std::string path = r.folder + "/" + r.file;
  if (!IsWithin(path, r.folder) || StatPath(path) != PathKind::kFile) {
    return Status::Invalid(fmt::format("the archive holds no file `{}`", r.file));
  }
  Result<spec::Schedule> s = ParseFile(path, r.file);
  if (!s.ok()) return s.status();
  if (!ValidName(s->name)) {
    return Status::Invalid(fmt::format(
        "{}: `{}` is not a schedule name: letters, digits, `_`, `.` and `-`, starting with a "
        "letter or digit",
        r.file, s->name));
  }
  Result<std::optional<meta::ScheduleRecord>> existing = meta.FindSchedule(r.project, s->name);
  if (!existing.ok()) return existing.status();
  meta::ScheduleRecord rec;
  rec.project = r.project;
  rec.name = s->name;
  rec.folder = r.folder.substr(ws.dir.size() + 1);
  rec.file = r.file;
  rec.enabled = true;
  rec.created_ns = *existing ? (*existing)->created_ns : now_ns;
  rec.created_by = *existing ? (*existing)->created_by : caller.token;
  rec.updated_ns = now_ns;

  // Its runs must be able to start: the job loads, with its inputs.
  Result<ScheduledRun> run = RunOfSchedule(meta, ws, rec, *s, now_ns);
  if (!run.ok()) return run.status();
  Result<std::unique_ptr<LoadedGraph>> graph = LoadGraph(run->source, registry);
  if (!graph.ok()) return graph.status();
  if (!(*graph)->ok()) {
    return Status::Invalid(
        fmt::format("{}: its create_job is not valid:\n{}", r.file, (*graph)->diags.FormatAll()));
  }
  Result<int64_t> first = FirstFiring(*s, now_ns, now_ns, true);
  if (!first.ok()) return first.status();
  rec.next_fire_ns = *first;
  if (IsData(*s)) {
    Result<std::string> watch = Baseline(meta, ws, rec.project, s->trigger, now_ns);
    if (!watch.ok()) return watch.status();
    rec.watch = *watch;
  }
  Status saved = meta::InTransaction(meta, [&]() -> Status {
    Status put = meta.PutSchedule(rec);
    if (!put.ok()) return put;
    return meta.AppendAudit(AuditEntry(caller, r.project,
                                       *existing ? "schedule.update" : "schedule.create", rec.name,
                                       r.file, now_ns));
  });
  if (!saved.ok()) return saved;
  return rec;
}

Status EnableSchedule(meta::MetaStore& meta, const ws::Workspace& ws, const Caller& caller,
                      const std::string& project, const std::string& name, bool enable,
                      int64_t now_ns) {
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied("managing schedules needs an owner's token");
  }
  Result<meta::ScheduleRecord> rec = FindSchedule(meta, project, name);
  if (!rec.ok()) return rec.status();
  if (rec->enabled == enable) return Status::Ok();
  rec->enabled = enable;
  rec->updated_ns = now_ns;
  if (enable) {
    Result<spec::Schedule> s = ReadSchedule(ws, *rec);
    if (!s.ok()) return s.status();
    Result<int64_t> next = FirstFiring(*s, rec->created_ns, now_ns, false);
    if (!next.ok()) return next.status();
    rec->next_fire_ns = *next;
    if (IsData(*s)) {
      Result<std::string> watch = Baseline(meta, ws, rec->project, s->trigger, now_ns);
      if (!watch.ok()) return watch.status();
      rec->watch = *watch;
    }
  }
  return meta::InTransaction(meta, [&]() -> Status {
    Status put = meta.PutSchedule(*rec);
    if (!put.ok()) return put;
    return meta.AppendAudit(AuditEntry(
        caller, project, enable ? "schedule.enable" : "schedule.disable", name, "", now_ns));
  });
}

Status DeleteSchedule(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                      const std::string& name, int64_t now_ns) {
  if (!caller.Can(Role::kOwner, project)) {
    return Status::Denied("managing schedules needs an owner's token");
  }
  Result<meta::ScheduleRecord> rec = FindSchedule(meta, project, name);
  if (!rec.ok()) return rec.status();
  return meta::InTransaction(meta, [&]() -> Status {
    Status del = meta.DeleteSchedule(project, name);
    if (!del.ok()) return del;
    return meta.AppendAudit(AuditEntry(caller, project, "schedule.delete", name, "", now_ns));
  });
}

Json ScheduleJson(const ws::Workspace& ws, const meta::ScheduleRecord& r,
                  const std::vector<meta::ScheduleFireRecord>& fires, int upcoming) {
  Json out = Json::MakeObject()
                 .Set("project", r.project)
                 .Set("name", r.name)
                 .Set("file", r.file)
                 .Set("enabled", r.enabled)
                 .Set("created_ns", r.created_ns)
                 .Set("created_by", r.created_by)
                 .Set("updated_ns", r.updated_ns);
  Json next = Json::MakeArray();
  Json trigger = Json::MakeObject();
  std::string job;
  Result<spec::Schedule> s = ReadSchedule(ws, r);
  if (s.ok()) {
    const spec::ScheduleTrigger& t = s->trigger;
    switch (t.kind) {
      case spec::ScheduleTrigger::Kind::kCron:
        trigger.Set("type", "cron").Set("expression", t.expression);
        break;
      case spec::ScheduleTrigger::Kind::kRecurrence:
        trigger.Set("type", "recurrence")
            .Set("frequency", spec::FrequencyName(t.frequency))
            .Set("interval", t.interval);
        break;
      case spec::ScheduleTrigger::Kind::kData:
        trigger.Set("type", "data");
        if (!t.asset.empty()) trigger.Set("asset", t.asset);
        if (!t.path.empty()) trigger.Set("path", t.path).Set("interval", t.settle_s);
        break;
    }
    if (!IsData(*s)) {
      trigger.Set("time_zone", t.time_zone);
      if (t.start) trigger.Set("start_time", t.start->text);
      if (t.end) trigger.Set("end_time", t.end->text);
    }
    job = s->create_job.job;
    // The next firings: the one due, then the calendar's.
    if (r.enabled && r.next_fire_ns != 0) {
      next.Push(r.next_fire_ns);
      Result<Calendar> cal = Calendar::For(t, r.created_ns / kSecond);
      std::optional<int64_t> at = r.next_fire_ns / kSecond;
      for (int i = 1; cal.ok() && at && i < upcoming; ++i) {
        at = cal->Next(*at);
        if (at) next.Push(*at * kSecond);
      }
    }
  } else {
    trigger.Set("error", s.status().message());
  }
  Json fired = Json::MakeArray();
  for (const meta::ScheduleFireRecord& f : fires) {
    fired.Push(Json::MakeObject()
                   .Set("fire_ns", f.fire_ns)
                   .Set("at_ns", f.at_ns)
                   .Set("run", f.run_id)
                   .Set("outcome", f.outcome));
  }
  return out.Set("trigger", std::move(trigger))
      .Set("job", job)
      .Set("next_fires_ns", std::move(next))
      .Set("fires", std::move(fired));
}

Scheduler::Scheduler(meta::MetaStore& meta, const ws::Workspace& ws, Start start)
    : meta_(meta), ws_(ws), start_(std::move(start)) {}

Result<std::optional<Scheduler::Fired>> Scheduler::Fire(const meta::ScheduleRecord& record,
                                                        const spec::Schedule& schedule,
                                                        int64_t fire_ns, int64_t now_ns,
                                                        bool skip_overlap, const std::string& note,
                                                        const std::function<Status()>& advance) {
  // The previous run, before this firing is recorded.
  Result<std::vector<meta::ScheduleFireRecord>> before =
      meta_.ScheduleFires(record.project, record.name, 20);
  if (!before.ok()) return before.status();
  bool added = false;
  Status s = meta::InTransaction(meta_, [&]() -> Status {
    Result<bool> a =
        meta_.AddScheduleFire({record.project, record.name, fire_ns, now_ns, "", "starting"});
    if (!a.ok()) return a.status();
    added = *a;
    return advance();
  });
  if (!s.ok()) return s;
  if (!added) return std::optional<Fired>();  // (this time fired before)

  Fired fired{record.project, record.name, fire_ns, "", ""};
  if (skip_overlap) {
    for (const meta::ScheduleFireRecord& f : *before) {
      if (f.run_id.empty()) continue;
      Result<std::optional<meta::RunRecord>> prev = meta_.FindRun(f.run_id);
      if (!prev.ok()) return prev.status();
      if (*prev && (*prev)->status == meta::RunStatus::kRunning) {
        fired.outcome = fmt::format("skipped: its previous run {} is still running", f.run_id);
      }
      break;
    }
  }
  if (fired.outcome.empty()) {
    Result<ScheduledRun> run = RunOfSchedule(meta_, ws_, record, schedule, fire_ns);
    Result<meta::RunRecord> started =
        run.ok() ? start_(std::move(*run)) : Result<meta::RunRecord>(run.status());
    if (started.ok()) {
      fired.run_id = started->id;
      fired.outcome = "started";
      Caller schedule{"schedule:" + record.name, record.project, Role::kContributor};
      Status logged =
          Audit(meta_, schedule, record.project, "run.submit", started->id, run->what, now_ns);
      if (!logged.ok()) return logged;
    } else {
      fired.outcome = "failed: " + started.status().message();
    }
  }
  if (!note.empty()) fired.outcome += " (" + note + ")";
  Status updated = meta_.UpdateScheduleFire(
      {record.project, record.name, fire_ns, now_ns, fired.run_id, fired.outcome});
  if (!updated.ok()) return updated;
  return std::optional<Fired>(fired);
}

Result<bool> Scheduler::DataChanged(meta::ScheduleRecord& record, const spec::Schedule& schedule,
                                    int64_t now_ns) {
  const spec::ScheduleTrigger& t = schedule.trigger;
  if (!t.path.empty()) {
    // A folder is hashed at most every few seconds (its files' digests are cached by stat).
    int64_t every = std::clamp<int64_t>(t.settle_s / 2, 1, 10) * kSecond;
    int64_t& last = last_look_ns_[record.project + "/" + record.name];
    if (now_ns - last < every) return false;
    last = now_ns;
  }
  Result<std::string> state = DataState(meta_, ws_, record.project, t);
  if (!state.ok()) return state.status();
  Watch w = Watch::Of(record.watch);
  if (*state != w.seen) {
    w.seen = *state;
    w.since_ns = now_ns;
  }
  bool settled = !t.asset.empty() || now_ns - w.since_ns >= t.settle_s * kSecond;
  bool changed = settled && !w.seen.empty() && w.seen != w.fired;
  if (changed) w.fired = w.seen;
  record.watch = w.Dump();
  return changed;
}

Result<const spec::Schedule*> Scheduler::Parsed(const meta::ScheduleRecord& record) {
  // A schedule's file never changes; replacing the schedule changes its `updated_ns`.
  auto& [updated, schedule] = parsed_[record.project + "/" + record.name];
  if (updated != record.updated_ns || !schedule) {
    Result<spec::Schedule> s = ReadSchedule(ws_, record);
    if (!s.ok()) return s.status();
    schedule = std::move(*s);
    updated = record.updated_ns;
  }
  return &*schedule;
}

Status Scheduler::Save(const meta::ScheduleRecord& record) {
  // Only if no one changed (or disabled, or deleted) it since it was read: changes through the
  // API mark it updated.
  Result<std::optional<meta::ScheduleRecord>> now = meta_.FindSchedule(record.project, record.name);
  if (!now.ok()) return now.status();
  if (!*now || (*now)->updated_ns != record.updated_ns || !(*now)->enabled) {
    return Status::Busy("the schedule changed meanwhile");
  }
  return meta_.PutSchedule(record);
}

Result<std::vector<Scheduler::Fired>> Scheduler::Tick(int64_t now_ns) {
  std::vector<Fired> out;
  Result<std::vector<meta::ScheduleRecord>> all = meta_.Schedules("");
  if (!all.ok()) return all.status();
  for (meta::ScheduleRecord& record : *all) {
    if (!recovered_) {
      // A firing left "starting" by a server that stopped: whether its run started is unknown
      // here (if it did, the run is in the runs list, resumed like any other).
      Result<std::vector<meta::ScheduleFireRecord>> last =
          meta_.ScheduleFires(record.project, record.name, 1);
      if (!last.ok()) return last.status();
      if (!last->empty() && last->front().outcome == "starting") {
        meta::ScheduleFireRecord f = last->front();
        f.outcome = "interrupted: the server stopped while starting its run";
        Status s = meta_.UpdateScheduleFire(f);
        if (!s.ok()) return s;
      }
    }
    if (!record.enabled || record.next_fire_ns > now_ns) continue;
    Result<const spec::Schedule*> s = Parsed(record);
    if (!s.ok()) {
      // (Its file was checked when created and its folder never changes: only a damaged
      // workspace gets here.) Disabled, so that it is not tried every second.
      record.enabled = false;
      Status put = meta_.PutSchedule(record);
      if (!put.ok()) return put;
      out.push_back({record.project, record.name, now_ns, "", "failed: " + s.status().message()});
      continue;
    }
    const spec::Schedule& schedule = **s;
    if (IsData(schedule)) {
      std::string watch_before = record.watch;
      Result<bool> changed = DataChanged(record, schedule, now_ns);
      if (!changed.ok()) return changed.status();
      if (record.watch == watch_before) continue;
      if (!*changed) {
        Status put = meta::InTransaction(meta_, [&] { return Save(record); });
        if (!put.ok() && put.code() != Code::kBusy) return put;
        continue;
      }
      Result<std::optional<Fired>> f =
          Fire(record, schedule, now_ns, now_ns, true, "", [&] { return Save(record); });
      if (!f.ok() && f.status().code() != Code::kBusy) return f.status();
      if (f.ok() && *f) out.push_back(**f);
      continue;
    }
    if (record.next_fire_ns == 0) continue;  // a calendar past its end time
    // Calendars: the latest time due fires (once, however many were missed); the next is the
    // first after now.
    Result<Calendar> cal = Calendar::For(schedule.trigger, record.created_ns / kSecond);
    if (!cal.ok()) return cal.status();
    int64_t now_s = now_ns / kSecond;
    int64_t due = record.next_fire_ns / kSecond;
    int missed = 0;
    for (std::optional<int64_t> n = cal->Next(due); n && *n <= now_s && missed < 100000;
         n = cal->Next(*n)) {
      due = *n;
      ++missed;
    }
    std::optional<int64_t> following = cal->Next(now_s);
    record.next_fire_ns = following ? *following * kSecond : 0;
    std::string note =
        missed > 0 ? fmt::format("one firing for {} missed while the server was down", missed + 1)
                   : std::string();
    Result<std::optional<Fired>> f =
        Fire(record, schedule, due * kSecond, now_ns, true, note, [&] { return Save(record); });
    if (!f.ok()) {
      if (f.status().code() == Code::kBusy) continue;
      return f.status();
    }
    if (*f) out.push_back(**f);
  }
  recovered_ = true;
  return out;
}

Result<Scheduler::Fired> Scheduler::FireNow(const std::string& project, const std::string& name,
                                            int64_t now_ns) {
  Result<meta::ScheduleRecord> record = FindSchedule(meta_, project, name);
  if (!record.ok()) return record.status();
  Result<spec::Schedule> s = ReadSchedule(ws_, *record);
  if (!s.ok()) return s.status();
  Result<std::optional<Fired>> f =
      Fire(*record, *s, now_ns, now_ns, false, "triggered by hand", [] { return Status::Ok(); });
  if (!f.ok()) return f.status();
  if (!*f) return Status::Busy("the schedule fired at this very time already; try again");
  return **f;
}

}  // namespace weft::app
