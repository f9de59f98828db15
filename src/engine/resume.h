// `weft resume`: finishing a run whose weft process died (kill -9, a crash, a reboot).
//
// Every run records what it was submitted with (its submission): the pipeline file, `--set`
// values and options, and every local path it read (its YAML files, code folders, data inputs)
// with the store object that held it then. Resuming replays exactly that, even if the files were
// edited or removed since: the paths are mirrored under the old run's folder as links to their
// objects, the pipeline is loaded from the mirror, and the snapshots are taken from the record.
// The new run reuses every step that succeeded in the old one and runs the rest.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "engine/plan.h"
#include "workspace/workspace.h"
#include "engine/targets.h"
#include "exec/executor.h"
#include "base/os.h"
#include "meta/meta.h"
#include "store/store.h"

namespace weft::engine {

struct Submission {
  std::string file;  // the pipeline file, absolute
  RunOptions options;
  Snapshots snapshots;
};

// The JSON a run records as its submission.
std::string SubmissionJson(const std::string& file, const RunOptions& options,
                           const Snapshots& snapshots);
Result<Submission> ParseSubmission(const std::string& json);

// Mirrors the submitted paths under `.weft/runs/<run>/submitted` as links to their store objects
// (a path inside another recorded folder comes with that folder); sets the submission's
// `snapshots.replay_root` and returns the path of the pipeline file in the mirror.
Result<std::string> MirrorSubmission(const ws::Workspace& ws, const store::Store& store,
                                     const std::string& run_id, Submission& submission);

// The record of this weft process: "pid=P start=T boot=B".
std::string OwnerOf(const Os& os);
// Whether the process recorded as "pid=P start=T" is alive and the very same process (a reused
// pid has another start time).
bool OwnerAlive(const Os& os, const std::string& owner);
// The pid in such a record (0 when it has none).
int64_t OwnerPid(const std::string& owner);
// Whether "... boot=B" names this boot of this machine (a record without one is taken as this).
bool SameBoot(const Os& os, const std::string& owner);

// For a run whose weft is gone: stops what its jobs left running, through each target's executor
// (the tracking recorded with the run, and the job ids recorded with its running steps; SIGTERM,
// then SIGKILL after 5 s for local processes); records those steps and any retrying ones, and the
// run, with `status` (canceled or interrupted), `message` and `exit_code`. When it is only
// settled (interrupted), jobs of targets whose jobs outlive weft (a batch system) are left to
// run, for `weft resume` to re-attach. Says how many processes it found and whether every one of
// them has gone.
Result<exec::Stopped> StopLeftovers(meta::MetaStore& meta, Targets& targets, const Os& os,
                                    const meta::RunRecord& run, meta::RunStatus status,
                                    const std::string& message, int exit_code);

// Every run still recorded as running whose weft process is gone (killed, crashed, the machine
// restarted) is settled: what it left is stopped and it is recorded `interrupted`. Every command
// that opens a workspace does this first, so no dead run shows as running. Returns their ids.
Result<std::vector<std::string>> SettleDeadRuns(meta::MetaStore& meta, Targets& targets,
                                                const Os& os);

}  // namespace weft::engine
