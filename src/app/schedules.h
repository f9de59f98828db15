// Schedules (docs/server.md): Azure ML schedule files kept by a server, each firing a run of a
// pipeline file uploaded with it or of a published pipeline, by its calendar (app/calendar.h) or
// when data changes.
//
// Firing is recorded before its run starts, in the same transaction that moves the schedule to its
// next firing time, so a server that stops (or is killed) and starts again never fires a time
// twice; a server that was down fires once for the times it missed, not once for each.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/identity.h"
#include "app/pipeline.h"
#include "base/json.h"
#include "base/status.h"
#include "engine/engine.h"
#include "meta/meta.h"
#include "spec/registry.h"
#include "spec/schedule.h"
#include "workspace/workspace.h"

namespace weft::app {

struct ScheduleRequest {
  std::string project;
  std::string folder;  // the uploaded files (app::Unpack), inside the workspace
  std::string file;    // the schedule file, relative to `folder`
};

// A stored schedule's file, parsed (its folder never changes). Invalid, located, if it no longer
// parses.
Result<spec::Schedule> ReadSchedule(const ws::Workspace& ws, const meta::ScheduleRecord& record);

// Creates a schedule, or replaces the project's schedule of that name (owners): the file must
// parse; its job must load with its inputs (a file inside the folder) or be a version published
// in the project; a calendar must fire at least once more. The first firing is computed from
// `now_ns` (at once when there is no start time). Audited: schedule.create or schedule.update.
Result<meta::ScheduleRecord> CreateSchedule(meta::MetaStore& meta, const ws::Workspace& ws,
                                            const spec::Registry& registry, const Caller& caller,
                                            const ScheduleRequest& request, int64_t now_ns);
// Enables (its next firing: the first computed time after now; a data trigger watches from now
// on) or disables a schedule (owners). Audited.
Status EnableSchedule(meta::MetaStore& meta, const ws::Workspace& ws, const Caller& caller,
                      const std::string& project, const std::string& name, bool enable,
                      int64_t now_ns);
// Deletes a schedule and its record of firings (owners). Audited.
Status DeleteSchedule(meta::MetaStore& meta, const Caller& caller, const std::string& project,
                      const std::string& name, int64_t now_ns);
// A project's schedule; NotFound names it.
Result<meta::ScheduleRecord> FindSchedule(meta::MetaStore& meta, const std::string& project,
                                          const std::string& name);

// What a firing at `fire_ns` starts: the pipeline, its inputs (`${{creation_context.trigger_time}}`
// filled in), experiment and tags (the job's, plus `weft.schedule=NAME`).
struct ScheduledRun {
  PipelineSource source;
  engine::RunOptions options;
  std::vector<std::string> tags;
  std::string what;  // "schedule NAME: pipeline.yml", for the audit log
};
Result<ScheduledRun> RunOfSchedule(meta::MetaStore& meta, const ws::Workspace& ws,
                                   const meta::ScheduleRecord& record,
                                   const spec::Schedule& schedule, int64_t fire_ns);

// The schedule as the API and `weft schedule show` give it: its file's trigger and job, state,
// the next `upcoming` firing times, and `fires` (newest first).
Json ScheduleJson(const ws::Workspace& ws, const meta::ScheduleRecord& record,
                  const std::vector<meta::ScheduleFireRecord>& fires, int upcoming);

// Fires schedules. A server calls Tick about once a second.
class Scheduler {
 public:
  // Starts a firing's run (the server: its engine host); returns the run.
  using Start = std::function<Result<meta::RunRecord>(ScheduledRun run)>;
  struct Fired {
    std::string project;
    std::string name;
    int64_t fire_ns = 0;
    std::string run_id;
    std::string outcome;  // started, "skipped: ...", "failed: ..."
  };

  Scheduler(meta::MetaStore& meta, const ws::Workspace& ws, Start start);

  // Fires every enabled schedule whose time has come, and every data trigger whose data changed
  // and settled, as of `now_ns`; returns what it did. A schedule whose previous run still runs is
  // skipped (recorded). One that cannot fire (its file no longer parses) is recorded failed.
  Result<std::vector<Fired>> Tick(int64_t now_ns);
  // Fires a schedule now, whatever its trigger says (`weft schedule trigger`); its next firing
  // is unchanged.
  Result<Fired> FireNow(const std::string& project, const std::string& name, int64_t now_ns);

 private:
  // Records the firing at `fire_ns` (false: it was recorded before), then starts its run unless
  // the previous one still runs.
  Result<std::optional<Fired>> Fire(const meta::ScheduleRecord& record,
                                    const spec::Schedule& schedule, int64_t fire_ns, int64_t now_ns,
                                    bool skip_overlap, const std::string& note,
                                    const std::function<Status()>& advance);
  // The schedule's file, parsed once per version of the schedule.
  Result<const spec::Schedule*> Parsed(const meta::ScheduleRecord& record);
  // Writes the schedule's new state (inside a transaction); Busy when it changed since it was
  // read.
  Status Save(const meta::ScheduleRecord& record);
  // Data triggers: whether the watched data changed and settled; updates record.watch.
  Result<bool> DataChanged(meta::ScheduleRecord& record, const spec::Schedule& schedule,
                           int64_t now_ns);

  meta::MetaStore& meta_;
  const ws::Workspace& ws_;
  Start start_;
  bool recovered_ = false;  // firings a stopped server left "starting" were marked
  std::map<std::string, int64_t> last_look_ns_;  // data folders: when each was last hashed
  // By "project/name": the `updated_ns` it was parsed at, and the schedule.
  std::map<std::string, std::pair<int64_t, std::optional<spec::Schedule>>> parsed_;
};

}  // namespace weft::app
